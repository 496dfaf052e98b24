import { readTlv, tags } from './der.js';

/*
 * Certificate  ::=  SEQUENCE  {                       -- RFC 5280 §4.1
 *   tbsCertificate       TBSCertificate,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING  }
 *
 * TBSCertificate  ::=  SEQUENCE  {
 *   version         [0]  EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   ... }
 */

export interface CertificateIssuerAndSerial {
  /** The issuer Name exactly as encoded in the certificate (a SEQUENCE TLV). */
  issuer: Buffer;
  /** The serialNumber INTEGER exactly as encoded in the certificate (TLV). */
  serialNumber: Buffer;
}

/**
 * Copies issuer and serial number out of a DER certificate byte for byte. Re-encoding them from a parsed
 * form risks a different string type or serial padding, and then no verifier finds the certificate.
 */
export function readIssuerAndSerial(certificateDer: Buffer): CertificateIssuerAndSerial {
  const certificate = readTlv(certificateDer, 0);
  const tbs = readTlv(certificateDer, certificate.contentStart);
  if (certificate.tag !== tags.sequence || tbs.tag !== tags.sequence) throw new TypeError('Not a DER certificate');
  let field = readTlv(certificateDer, tbs.contentStart);
  if (field.tag === tags.contextConstructed(0)) field = readTlv(certificateDer, field.end); // skip version
  const serial = field;
  const signatureAlgorithm = readTlv(certificateDer, serial.end);
  const issuer = readTlv(certificateDer, signatureAlgorithm.end);
  if (serial.tag !== tags.integer || issuer.tag !== tags.sequence) throw new TypeError('Not a DER certificate');
  return {
    issuer: certificateDer.subarray(issuer.start, issuer.end),
    serialNumber: certificateDer.subarray(serial.start, serial.end),
  };
}

/** The subject Name exactly as encoded in a DER certificate (after validity, RFC 5280 §4.1). */
export function readSubject(certificateDer: Buffer): Buffer {
  const certificate = readTlv(certificateDer, 0);
  const tbs = readTlv(certificateDer, certificate.contentStart);
  let field = readTlv(certificateDer, tbs.contentStart);
  if (field.tag === tags.contextConstructed(0)) field = readTlv(certificateDer, field.end);
  const signatureAlgorithm = readTlv(certificateDer, field.end);
  const issuer = readTlv(certificateDer, signatureAlgorithm.end);
  const validity = readTlv(certificateDer, issuer.end);
  const subject = readTlv(certificateDer, validity.end);
  if (subject.tag !== tags.sequence) throw new TypeError('Not a DER certificate');
  return certificateDer.subarray(subject.start, subject.end);
}

/**
 * Whether a SignerInfo's sid, an IssuerAndSerialNumber (RFC 5652 §5.3), names this certificate: its
 * issuer and serial number compared byte for byte. False for a certificate that cannot be read.
 */
export function isIssuerAndSerialOf(sid: Buffer, certificateDer: Buffer): boolean {
  try {
    const { issuer, serialNumber } = readIssuerAndSerial(certificateDer);
    const body = Buffer.concat([issuer, serialNumber]);
    return sid[0] === tags.sequence && sid.subarray(sid.length - body.length).equals(body) && sid.length - body.length <= 4;
  } catch {
    return false;
  }
}
