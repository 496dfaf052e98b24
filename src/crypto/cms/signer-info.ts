import { implicitConstructed, octetString, sequence, smallInteger } from './der.js';

/*
 * SignerInfo ::= SEQUENCE {                          -- RFC 5652 §5.3
 *   version CMSVersion,
 *   sid SignerIdentifier,
 *   digestAlgorithm DigestAlgorithmIdentifier,
 *   signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
 *   signatureAlgorithm SignatureAlgorithmIdentifier,
 *   signature SignatureValue,
 *   unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *
 * SignerIdentifier ::= CHOICE {
 *   issuerAndSerialNumber IssuerAndSerialNumber,
 *   subjectKeyIdentifier [0] SubjectKeyIdentifier }
 *
 * SignatureValue ::= OCTET STRING
 */

export interface SignerInfoFields {
  /** An encoded IssuerAndSerialNumber; it makes the version 1 (§5.3). */
  issuerAndSerialNumber: Buffer;
  digestAlgorithm: Buffer;
  /** The SignedAttributes exactly as signed, with their universal SET tag; stored as [0] IMPLICIT. */
  signedAttributes: Buffer;
  signatureAlgorithm: Buffer;
  signature: Buffer;
}

export function signerInfo(fields: SignerInfoFields): Buffer {
  return sequence(
    smallInteger(1),
    fields.issuerAndSerialNumber,
    fields.digestAlgorithm,
    implicitConstructed(0, fields.signedAttributes),
    fields.signatureAlgorithm,
    octetString(fields.signature),
  );
}
