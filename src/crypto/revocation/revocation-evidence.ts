import type { CrlVerdict } from './crl-check.js';
import type { OcspVerdict } from './ocsp-response.js';

/**
 * What a certificate's CA says of it, with the bytes that say so (embedded at B-LT): a verified OCSP
 * response (OCSPResponse, DER) or a verified CRL (CertificateList, DER), and the verdict read from it.
 */
export type RevocationEvidence =
  | { source: 'ocsp'; der: Buffer; verdict: OcspVerdict }
  | { source: 'crl'; der: Buffer; verdict: CrlVerdict };
