import { X509Certificate } from 'node:crypto';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPemSigner } from '../keys/pem-signer.js';
import { KeyMaterialError, type Signer } from '../keys/signer.js';
import { unsignedInteger } from '../cms/der-integer.js';
import { messageImprint } from './message-imprint.js';
import { ID_KP_TIME_STAMPING, SIGNET_TSA_POLICY, type TimestampHash } from './oids.js';
import type { PkiFailure } from './pki-status-info.js';
import { SerialNumberGenerator } from './serial-numbers.js';
import { decodeTimeStampReq } from './time-stamp-req.js';
import { grantedTimeStampResp, rejectedTimeStampResp } from './time-stamp-resp.js';
import { timeStampTokenEncoder, type TimeStampTokenEncoder } from './time-stamp-token.js';
import { tstInfoEncoder, type TstInfoFields } from './tst-info.js';

export type TimestampAuthorityKey =
  | {
      /** Unencrypted PKCS#8 / PKCS#1 / SEC1 private key PEM of the TSA. */
      keyPem: string;
      certificatePem: string;
      /** Issuers of the TSA certificate, nearest first, PEM. */
      chainPem?: string;
    }
  | {
      /** A Signer for the TSA key (HSM, PKCS#12 …); its certificate must be a TSA certificate. */
      signer: Signer;
    };

export type TimestampAuthorityOptions = TimestampAuthorityKey & {
  /** TSAPolicyId written into every token; default SIGNET_TSA_POLICY. */
  policy?: string;
  /** The accuracy the TSA promises for genTime, in milliseconds; default 1,000 (±1 s). */
  accuracyMs?: number;
  /**
   * Grant requests with a SHA-1 imprint (default true). RFC 3161 leaves the algorithm to the requester, and
   * legacy clients (SignServer's sample.tsq in shared/testdata, older Java/.NET stacks) still send SHA-1;
   * the token names the algorithm, so relying parties judge its weight. Signet's own clients use SHA-256.
   * False answers them badAlg. MD5 and anything else unknown is always badAlg.
   */
  acceptSha1Imprints?: boolean;
  /** Milliseconds since the epoch; tests may pin it. */
  now?: () => number;
  /** Told about failures answered with `systemFailure` (the signing key failed), e.g. to log them. */
  onSystemFailure?: (error: unknown) => void;
};

/**
 * The built-in RFC 3161 time-stamping authority.
 *
 * `respond` answers a DER TimeStampReq with a DER TimeStampResp and never throws: a request it cannot
 * honour gets a `rejection` with the PKIFailureInfo RFC 3161 §2.4.2 names (badDataFormat, badAlg,
 * badRequest, unacceptedPolicy, unacceptedExtension; systemFailure when the key fails). `issueToken` is the
 * in-process path (registrations, B-T) and always includes the TSA certificate.
 *
 * Per token only the imprint, serial, genTime and nonce change, so TSTInfo and the token are concatenated
 * from parts encoded at construction, as cades-detached.ts does for signatures. bench/tsa.ts, this
 * machine (2 shared cores, Node 20, RSA-2048): see the figures in the comment on `issueToken`.
 */
export class TimestampAuthority {
  readonly policy: string;
  readonly accuracyMs: number;
  /** The TSA certificate's subject, e.g. "CN=Signet Development TSA". */
  readonly name: string;
  readonly certificateDer: Buffer;
  /** Issuers of the TSA certificate, nearest first (for validation data). */
  readonly chainDer: Buffer[];

  readonly #encodeTstInfo: (fields: TstInfoFields) => Buffer;
  readonly #encodeToken: TimeStampTokenEncoder;
  readonly #serials = new SerialNumberGenerator();
  readonly #now: () => number;
  readonly #onSystemFailure?: (error: unknown) => void;
  readonly #rejections: Readonly<Record<'malformed' | 'version' | 'extension' | 'failure', Buffer>>;
  readonly #policyRejection: Buffer;
  readonly #acceptSha1: boolean;

  constructor(options: TimestampAuthorityOptions) {
    const signer =
      'signer' in options
        ? options.signer
        : createPemSigner({ name: 'tsa', keyPem: options.keyPem, certificatePem: options.certificatePem, chainPem: options.chainPem });
    checkTsaCertificate(signer.certificateDer);
    this.policy = options.policy ?? SIGNET_TSA_POLICY;
    this.accuracyMs = options.accuracyMs ?? 1000;
    this.name = subjectOf(signer.certificateDer);
    this.certificateDer = signer.certificateDer;
    this.chainDer = signer.chainDer;
    this.#encodeTstInfo = tstInfoEncoder(this.policy, this.accuracyMs);
    this.#encodeToken = timeStampTokenEncoder(signer);
    this.#now = options.now ?? Date.now;
    this.#onSystemFailure = options.onSystemFailure;
    this.#acceptSha1 = options.acceptSha1Imprints ?? true;
    // The answers to bad requests never change: encoded once, they cost nothing to send.
    this.#rejections = {
      malformed: rejectedTimeStampResp('badDataFormat', 'The request is not a DER TimeStampReq (RFC 3161 section 2.4.1)'),
      version: rejectedTimeStampResp('badRequest', 'Only TimeStampReq version 1 is supported'),
      extension: rejectedTimeStampResp('unacceptedExtension', 'This TSA supports no request extensions'),
      failure: rejectedTimeStampResp('systemFailure', 'The TSA could not sign the token; try again later'),
    };
    this.#policyRejection = rejectedTimeStampResp('unacceptedPolicy', `This TSA issues tokens under policy ${this.policy} only`);
  }

  /** DER TimeStampReq in, DER TimeStampResp out (RFC 3161 §2.4); never throws. */
  async respond(requestDer: Buffer): Promise<Buffer> {
    let request;
    try {
      request = decodeTimeStampReq(requestDer);
    } catch {
      // Whatever the reader trips over (DerShapeError, a RangeError deep in a length), the input is at fault.
      return this.#rejections.malformed;
    }
    if (request.version !== 1n) return this.#rejections.version;
    const imprint = request.messageImprint;
    if (!imprint.hash || (imprint.hash === 'sha1' && !this.#acceptSha1)) {
      return this.#reject('badAlg', `Hash algorithm ${imprint.hashAlgorithm} is not accepted; use SHA-256, SHA-384 or SHA-512`);
    }
    if (request.reqPolicy !== undefined && request.reqPolicy !== this.policy) return this.#policyRejection;
    if (request.hasExtensions) return this.#rejections.extension;
    try {
      return grantedTimeStampResp(await this.#issue(imprint.encoded, request.nonceEncoded, request.certReq));
    } catch (error) {
      this.#onSystemFailure?.(error);
      return this.#rejections.failure;
    }
  }

  /**
   * A TimeStampToken (DER ContentInfo) over `digest`, for in-process callers; `nonce` is non-negative.
   * Throws a TypeError for a digest of the wrong length, and whatever the signing key throws.
   * `certReq` defaults to true: in-process tokens end up in signatures and registrations, which must be
   * verifiable without asking us for the TSA certificate.
   */
  async issueToken(digest: Buffer, hash: TimestampHash, nonce?: bigint, certReq = true): Promise<Buffer> {
    return this.#issue(messageImprint(hash, digest), nonce === undefined ? undefined : unsignedInteger(nonce), certReq);
  }

  async #issue(imprint: Buffer, nonce: Buffer | undefined, certReq: boolean): Promise<Buffer> {
    const now = this.#now();
    const tstInfo = this.#encodeTstInfo({
      messageImprint: imprint,
      serialNumber: this.#serials.next(now),
      genTime: new Date(now),
      nonce,
    });
    return this.#encodeToken(tstInfo, certReq);
  }

  #reject(failure: PkiFailure, statusString: string): Buffer {
    return rejectedTimeStampResp(failure, statusString);
  }
}

/**
 * RFC 3161 §2.3: the TSA certificate carries exactly one extended key usage, id-kp-timeStamping, marked
 * critical. OpenSSL's `ts -verify` refuses tokens from any other certificate, so refuse it at start-up.
 */
function checkTsaCertificate(certificateDer: Buffer): void {
  const certificate = new x509.X509Certificate(new Uint8Array(certificateDer));
  const eku = certificate.getExtension(x509.ExtendedKeyUsageExtension);
  const usages = eku?.usages.map(String) ?? [];
  if (!eku || !eku.critical || usages.length !== 1 || usages[0] !== ID_KP_TIME_STAMPING) {
    throw new KeyMaterialError(
      `TSA certificate "${subjectOf(certificateDer)}" must have a critical extended key usage with only ` +
        `id-kp-timeStamping (RFC 3161 §2.3); found ${eku ? `${eku.critical ? 'critical' : 'non-critical'} [${usages.join(', ')}]` : 'none'}`,
    );
  }
}

function subjectOf(certificateDer: Buffer): string {
  return new X509Certificate(certificateDer).subject.split('\n').join(', ');
}
