import { implicitConstructed, setOf } from './der.js';

/*
 * RevocationInfoChoices ::= SET OF RevocationInfoChoice     -- RFC 5652 §10.2.1
 *
 * RevocationInfoChoice ::= CHOICE {
 *   crl CertificateList,
 *   other [1] IMPLICIT OtherRevocationInfoFormat }
 *
 * Stored in SignedData as crls [1] IMPLICIT. Only X.509 CRLs (CertificateList, RFC 5280 §5.1) are written
 * here; OCSP responses would go in `other` with id-ri-ocsp-response (RFC 5940).
 */
export function revocationInfoChoices(revocationInfos: Buffer[]): Buffer {
  return implicitConstructed(1, setOf(revocationInfos));
}
