/**
 * A Signer is one method: digest in, signature out. Everything above it (CMS, PAdES, XAdES, timestamps)
 * computes the digest itself, so a PEM key, a PKCS#12 file, an HSM or a remote signing service all fit
 * behind the same shape (pyHanko's `Signer.async_sign_raw`).
 */
export interface Signer {
  /** The configured key name, e.g. "default". */
  readonly name: string;
  /** The signing certificate, DER. */
  readonly certificateDer: Buffer;
  /** Issuers of the signing certificate up to and including the root, DER, nearest issuer first; may be empty. */
  readonly chainDer: Buffer[];
  readonly keyAlgorithm: 'RSA' | 'EC';
  /**
   * True when every signature this Signer answers is known to verify with its certificate, so callers
   * need not check it again: a software key matched to its certificate at load, signing with OpenSSL,
   * which checks its own RSA-CRT results against faults. HSMs and remote signers leave it unset and
   * their signatures are verified before use.
   */
  readonly verifiesItself?: boolean;
  /**
   * How many digests one round trip to the key takes (a remote service's `multisign`): a caller with
   * many documents keeps that many in flight, so that they travel together. Absent: local keys.
   */
  readonly batchSize?: number;
  /**
   * Digest in, signature out: signs an already computed digest (sha256/384/512).
   * RSA answers a PKCS#1 v1.5 signature; EC answers a DER `Ecdsa-Sig-Value` (RFC 5480 / RFC 5753),
   * which is the form CMS, X.509 and `crypto.verify` expect.
   */
  signDigest(digest: Buffer, hash: SignerHash): Promise<Buffer>;
}

export type SignerHash = 'sha256' | 'sha384' | 'sha512';

/** Byte length of each digest a Signer accepts; a digest of another length is a programming error. */
export const signerHashLengths: Readonly<Record<SignerHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

export function assertDigestLength(digest: Buffer, hash: SignerHash): void {
  const expected = signerHashLengths[hash];
  if (expected === undefined) throw new TypeError(`Unsupported digest algorithm "${String(hash)}"`);
  if (digest.length !== expected) {
    throw new TypeError(`A ${hash} digest is ${expected} bytes, got ${digest.length}`);
  }
}

/**
 * Key material that cannot become a Signer: unreadable PEM, a key that does not match its certificate,
 * an unsupported key type. It is a configuration problem found at start-up, not a caller-facing error,
 * so it is not a SignetError; the message says what to fix and `cause` keeps the underlying error.
 */
export class KeyMaterialError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'KeyMaterialError';
  }
}
