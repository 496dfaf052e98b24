import { randomBytes } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { timestampHashes, type TimestampHash } from './oids.js';
import { TimeStampTokenError, parseTimeStampToken, verifyTimeStampTokenSignature } from './parse-time-stamp-token.js';
import { pkiStatus } from './pki-status-info.js';
import { timeStampReq } from './time-stamp-req.js';
import { decodeTimeStampResp } from './time-stamp-resp.js';
import type { TimestampClient } from './timestamp-client.js';

export interface HttpTimestampClientOptions {
  /** Whole exchange (connect, send, answer, body); default 10,000 ms. */
  timeoutMs?: number;
  /** Largest response accepted; a token with a certificate chain is a few KB. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Ask for tokens under this TSAPolicyId (reqPolicy); default: the TSA's own. */
  policy?: string;
  /** HTTP Basic credentials (RFC 7617), when the TSA wants them; they win over any in the URL. */
  credentials?: { username: string; password: string };
}

/**
 * RFC 3161 over HTTP (§3.4): POSTs an `application/timestamp-query` with a fresh 64-bit nonce and
 * certReq = true, and accepts the answer only when it is granted and its token is over our imprint, with
 * our nonce, and signed by the certificate it carries.
 *
 * Failures that waiting can cure — connection refused, DNS, timeout, HTTP 5xx/408/429, a `waiting` status,
 * failInfo timeNotAvailable/systemFailure — are `tsa_unavailable` with `transient: true`, so the task is
 * retried later instead of being signed below its level. A rejection or a token that does not match is
 * `tsa_failed`, not transient: asking again would give the same answer.
 */
export class HttpTimestampClient implements TimestampClient {
  /** The TSA address without credentials (for logs and `proof.tsa`). */
  readonly name: string;
  readonly #url: string;
  readonly #authorization?: string;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #policy?: string;

  constructor(url: string, options: HttpTimestampClientOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`TSA URL must be http(s): ${parsed.protocol}`);
    // fetch refuses URLs with credentials; TSAs that want Basic auth get it as a header.
    if (parsed.username || parsed.password) {
      const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.#authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    if (options.credentials) this.#authorization = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
    this.#url = parsed.href;
    this.name = parsed.href;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.#policy = options.policy;
  }

  async timestamp(digest: Buffer, hash: TimestampHash): Promise<Buffer> {
    const nonce = randomNonce();
    const request = timeStampReq({ hash, hashedMessage: digest, reqPolicy: this.#policy, nonce, certReq: true });
    const responseDer = await this.#exchange(request);

    let response;
    try {
      response = decodeTimeStampResp(responseDer);
    } catch (error) {
      throw this.#failed(`answered with something that is not a TimeStampResp (${(error as Error).message})`, error);
    }
    const { status, failures, statusString } = response.status;
    const why = [statusString, failures.length ? `failInfo ${failures.join(', ')}` : ''].filter(Boolean).join('; ');
    if (status === pkiStatus.waiting || failures.includes('timeNotAvailable') || failures.includes('systemFailure')) {
      throw this.#unavailable(`is temporarily unable to time-stamp (status ${status}${why ? `: ${why}` : ''})`);
    }
    if (status !== pkiStatus.granted && status !== pkiStatus.grantedWithMods) {
      throw this.#failed(`refused the request (status ${status}${why ? `: ${why}` : ''})`);
    }
    if (!response.timeStampToken) throw this.#failed('granted the request but sent no token');

    const token = response.timeStampToken;
    try {
      const info = parseTimeStampToken(token);
      if (info.messageImprint.hashAlgorithm !== timestampHashes[hash].oid || !info.messageImprint.digest.equals(digest)) {
        throw new TimeStampTokenError('the token is over another message imprint');
      }
      if (info.nonce !== nonce) throw new TimeStampTokenError('the token does not echo our nonce (a replayed or foreign answer)');
      if (this.#policy && info.policy !== this.#policy) throw new TimeStampTokenError(`the token is under policy ${info.policy}`);
      if (!info.tsaCertificateDer) throw new TimeStampTokenError('the token does not carry the TSA certificate we asked for');
      verifyTimeStampTokenSignature(token);
    } catch (error) {
      // Anything the token makes the readers trip over (a certificate Node cannot parse …) is the TSA's fault.
      throw this.#failed(`answered with an unusable token: ${(error as Error).message}`, error);
    }
    return token;
  }

  async #exchange(request: Buffer): Promise<Buffer> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/timestamp-query',
          accept: 'application/timestamp-reply',
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        body: new Uint8Array(request),
        signal,
        redirect: 'error',
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
        const message = `answered HTTP ${response.status}`;
        throw retryable ? this.#unavailable(message) : this.#failed(message);
      }
      return await this.#readBody(response);
    } catch (error) {
      if (error instanceof SignetError) throw error;
      if (signal.aborted) throw this.#unavailable(`did not answer within ${this.#timeoutMs} ms`, error);
      throw this.#unavailable(`cannot be reached (${describeNetworkError(error)})`, error);
    }
  }

  async #readBody(response: Response): Promise<Buffer> {
    const announced = Number(response.headers.get('content-length') ?? 0);
    if (announced > this.#maxResponseBytes) throw this.#failed(`sent a ${announced}-byte answer (limit ${this.#maxResponseBytes})`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body ?? []) {
      total += chunk.length;
      if (total > this.#maxResponseBytes) throw this.#failed(`sent more than ${this.#maxResponseBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  }

  #unavailable(what: string, cause?: unknown): SignetError {
    return new SignetError('tsa_unavailable', `The time-stamping authority ${this.name} ${what}`, { cause, transient: true });
  }

  #failed(what: string, cause?: unknown): SignetError {
    return new SignetError('tsa_failed', `The time-stamping authority ${this.name} ${what}`, { cause });
  }
}

/** 64 random bits, positive (RFC 3161 §2.4.1: a large random number with a high probability of being unique). */
function randomNonce(): bigint {
  const bytes = randomBytes(8);
  bytes[0] |= 0x01; // never below 2^56: keeps the INTEGER at 8 or 9 octets and never zero
  return BigInt(`0x${bytes.toString('hex')}`);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
