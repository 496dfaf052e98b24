import { Transform, type Readable } from 'node:stream';
import { request, type Agent } from 'undici';
import { isSignetError, SignetError } from '../errors/signet-error.js';
import type { OutboundAddressPolicy } from '../outbound/address-policy.js';
import { policyAgent } from '../outbound/policy-agent.js';

export interface CaptureLimits {
  /** Largest body accepted; a larger one fails the capture (`capture_too_large`). */
  maxBytes: number;
  /** Whole capture, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
}

/** What the server answered, before the body is read: the body streams into `store`. */
export interface CapturedResponse<T> {
  /** The URL finally answered (after redirects). */
  finalUrl: string;
  redirects: string[];
  statusCode: number;
  contentType: string;
  /** The status line and headers as received (names lowercased by the HTTP client), one per line. */
  headersText: string;
  stored: T;
}

/**
 * Fetches a page for registration through the outbound address policy (DESIGN invariant 7): the
 * policy's DNS lookup answers for every connection, literal addresses are checked before connecting,
 * each redirect is checked again as a new request, and size and time are capped while the body
 * streams to `store` — nothing is held whole in memory.
 */
export class PageFetcher {
  private readonly agent: Agent;

  constructor(
    private readonly policy: OutboundAddressPolicy,
    private readonly limits: CaptureLimits,
  ) {
    this.agent = policyAgent(policy, { timeoutMs: limits.timeoutMs, connectTimeoutMs: Math.min(limits.timeoutMs, 10_000), connections: 64 });
  }

  async capture<T>(url: string, store: (body: Readable) => Promise<T>): Promise<CapturedResponse<T>> {
    const signal = AbortSignal.timeout(this.limits.timeoutMs);
    const redirects: string[] = [];
    let current = url;
    let body: Readable | undefined;
    try {
      for (;;) {
        this.policy.checkUrl(current);
        const response = await request(current, {
          method: 'GET',
          headers: { 'user-agent': 'Signet-Capture/1', accept: '*/*', 'accept-encoding': 'identity' },
          dispatcher: this.agent,
          signal,
        });
        const location = response.headers.location;
        if (response.statusCode >= 300 && response.statusCode < 400 && location) {
          await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
          if (redirects.length >= this.limits.maxRedirects) {
            throw new SignetError('capture_failed', `More than ${this.limits.maxRedirects} redirects from ${url}`);
          }
          current = new URL(Array.isArray(location) ? location[0] : location, current).toString();
          redirects.push(current);
          continue;
        }
        if (response.statusCode >= 400) {
          await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
          throw new SignetError('capture_failed', `${current} answered HTTP ${response.statusCode}`, { transient: response.statusCode >= 500 });
        }
        const declared = Number(response.headers['content-length'] ?? NaN);
        if (declared > this.limits.maxBytes) {
          response.body.destroy();
          throw tooLarge(this.limits.maxBytes);
        }
        body = response.body;
        const stored = await store(response.body.pipe(byteLimit(this.limits.maxBytes)));
        const contentType = String(response.headers['content-type'] ?? 'application/octet-stream');
        return { finalUrl: current, redirects, statusCode: response.statusCode, contentType, headersText: headersText(response.statusCode, response.headers), stored };
      }
    } catch (error) {
      body?.destroy();
      throw asCaptureError(error, current);
    }
  }

  /** One subresource for the browser snapshot, held in memory (capped by the same limit). */
  async fetchResource(url: string): Promise<{ statusCode: number; contentType: string; body: Buffer }> {
    const captured = await this.capture(url, async (body) => {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
    return { statusCode: captured.statusCode, contentType: captured.contentType, body: captured.stored };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(tooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
}

function tooLarge(maxBytes: number): SignetError {
  return new SignetError('capture_too_large', `The page is larger than the ${maxBytes}-byte capture limit (--max-body-size)`);
}

function headersText(statusCode: number, headers: Record<string, string | string[] | undefined>): string {
  const lines = [`HTTP ${statusCode}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) lines.push(`${name}: ${one}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Policy refusals stay url_not_allowed; timeouts and network failures are worth a retry. */
function asCaptureError(error: unknown, url: string): SignetError {
  if (isSignetError(error)) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  if (isSignetError(e.cause)) return e.cause;
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code;
  const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(code ?? '');
  return new SignetError('capture_failed', `Fetching ${url} failed: ${timedOut ? 'timeout' : (code ?? e.message ?? 'error')}`, {
    transient: true,
    cause: error,
  });
}
