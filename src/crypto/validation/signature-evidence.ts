/*
 * What the format readers (PDF, CMS, XML) establish about one signature, in a shape the validation
 * process (validate-signature.ts) judges without knowing the format: the problems they found, the
 * signing certificate and every other certificate the signature and document carry, the claimed
 * signing time, the time-stamps that bear on it, and the revocation data it embeds. Plain data
 * (buffers, dates, strings): it crosses from a verification thread to the main thread when revocation
 * must be fetched, and is judged again there.
 */

export type TimestampType = 'signature' | 'archive' | 'document' | 'content';

export interface TimestampEvidence {
  /** signature: over the signature value; archive / document: over the signature and what came later; content: over the data before signing. */
  type: TimestampType;
  genTime: Date;
  /** The TSA certificate's subject, one line. */
  tsa: string;
  /** The token's own signature holds and its imprint matches what it time-stamps. */
  intact: boolean;
  tsaCertificateDer?: Buffer;
  /** Certificates the token carries. */
  certificatesDer: Buffer[];
}

/** Revocation data as found: OCSPResponse and CertificateList encodings (DER). */
export interface RevocationValues {
  ocsps: Buffer[];
  crls: Buffer[];
}

export interface SignatureEvidence {
  /** `code: sentence` strings from reading and checking the signature's bytes. */
  problems: string[];
  signingCertificateDer?: Buffer;
  /** Every certificate the signature, its time-stamps and the document carry: where issuers are looked for. */
  certificatesDer: Buffer[];
  /** What the signer claims (signingTime, /M, xades:SigningTime); proves nothing. */
  claimedSigningTime?: Date;
  timestamps: TimestampEvidence[];
  /** Revocation data embedded in the signature or the document (DSS, crls, RevocationValues, …). */
  revocation: RevocationValues;
}

export const noRevocationValues = (): RevocationValues => ({ ocsps: [], crls: [] });
