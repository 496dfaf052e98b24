import { sequence } from './der.js';
import type { CertificateIssuerAndSerial } from './tbs-certificate.js';

/*
 * IssuerAndSerialNumber ::= SEQUENCE {               -- RFC 5652 §10.2.4
 *   issuer Name,
 *   serialNumber CertificateSerialNumber }
 */
export function issuerAndSerialNumber(fields: CertificateIssuerAndSerial): Buffer {
  return sequence(fields.issuer, fields.serialNumber);
}
