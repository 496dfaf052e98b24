import { implicitConstructed, sequence, setOf, smallInteger } from './der.js';

/*
 * SignedData ::= SEQUENCE {                          -- RFC 5652 §5.1
 *   version CMSVersion,
 *   digestAlgorithms DigestAlgorithmIdentifiers,
 *   encapContentInfo EncapsulatedContentInfo,
 *   certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *   signerInfos SignerInfos }
 *
 * DigestAlgorithmIdentifiers ::= SET OF DigestAlgorithmIdentifier
 * SignerInfos ::= SET OF SignerInfo
 */

export interface SignedDataFields {
  /** §5.1: 1 when eContentType is id-data and every SignerInfo is version 1; 3 otherwise (for us). */
  version: 1 | 3;
  digestAlgorithms: Buffer[];
  encapContentInfo: Buffer;
  /** An encoded CertificateSet (universal SET tag); stored as [0] IMPLICIT. */
  certificates: Buffer;
  signerInfos: Buffer[];
}

export function signedData(fields: SignedDataFields): Buffer {
  return sequence(
    smallInteger(fields.version),
    setOf(fields.digestAlgorithms),
    fields.encapContentInfo,
    implicitConstructed(0, fields.certificates),
    setOf(fields.signerInfos),
  );
}
