import { createHash } from 'node:crypto';
import { attribute } from './attribute.js';
import { octetString, sequence, tags, tlv } from './der.js';
import { ID_AA_SIGNING_CERTIFICATE_V2 } from './oids.js';
import type { CertificateIssuerAndSerial } from './tbs-certificate.js';

/*
 * SigningCertificateV2 ::=  SEQUENCE {                -- RFC 5035 §3 (ESS update)
 *    certs        SEQUENCE OF ESSCertIDv2,
 *    policies     SEQUENCE OF PolicyInformation OPTIONAL }
 *
 * ESSCertIDv2 ::=  SEQUENCE {
 *     hashAlgorithm           AlgorithmIdentifier
 *                             DEFAULT {algorithm id-sha256},
 *     certHash                Hash,
 *     issuerSerial            IssuerSerial OPTIONAL }
 *
 * Hash ::= OCTET STRING
 *
 * IssuerSerial ::= SEQUENCE {
 *     issuer                  GeneralNames,
 *     serialNumber            CertificateSerialNumber }
 *
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName      -- RFC 5280 §4.2.1.6
 * GeneralName ::= CHOICE { …, directoryName [4] Name, … }     -- explicit: Name is a CHOICE
 *
 * This attribute is what binds the signature to one certificate (CAdES signing-certificate-v2, required
 * at B-B): without it an attacker could substitute another certificate for the same key.
 */

/**
 * The signingCertificateV2 signed attribute for the signing certificate only. hashAlgorithm is left out
 * because SHA-256 is its DEFAULT and DER omits default values; issuerSerial is included so a verifier can
 * find the certificate by issuer and serial as well as by hash (DSS writes it too).
 */
export function signingCertificateV2Attribute(certificateDer: Buffer, fields: CertificateIssuerAndSerial): Buffer {
  const certHash = createHash('sha256').update(certificateDer).digest();
  return attribute(ID_AA_SIGNING_CERTIFICATE_V2, sequence(sequence(essCertIdV2(certHash, fields))));
}

function essCertIdV2(certHash: Buffer, fields: CertificateIssuerAndSerial): Buffer {
  return sequence(octetString(certHash), issuerSerial(fields));
}

function issuerSerial(fields: CertificateIssuerAndSerial): Buffer {
  const directoryName = tlv(tags.contextConstructed(4), fields.issuer);
  return sequence(sequence(directoryName), fields.serialNumber);
}
