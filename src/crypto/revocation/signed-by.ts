import { verify, type KeyObject } from 'node:crypto';

/**
 * RSA PKCS #1 v1.5 and ECDSA signature algorithms (RFC 4055, RFC 5758), by OID: the digest each signs
 * with. What CAs and OCSP responders sign CRLs and responses with; RSASSA-PSS is not among them yet.
 */
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export function isSupportedSignatureAlgorithm(algorithmOid: string): boolean {
  return algorithmOid in SIGNATURE_HASHES;
}

/** True when `key` made `signature` over `signedBytes` with the algorithm `algorithmOid`. */
export function signedBy(algorithmOid: string, signedBytes: Buffer, signature: Buffer, key: KeyObject): boolean {
  const hash = SIGNATURE_HASHES[algorithmOid];
  if (!hash) return false;
  return verify(hash, signedBytes, key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key, signature);
}

/** CRLReason (RFC 5280 §5.3.1), used by CRL entries and OCSP RevokedInfo alike; 7 is not used. */
export const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', '(unused)', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

/** Why revocation data was refused; each check names its own failures (OCSP, CRL). */
export class RevocationDataError<Failure extends string> extends Error {
  constructor(
    readonly failure: Failure,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
