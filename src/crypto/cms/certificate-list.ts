import { X509Certificate, verify } from 'node:crypto';
import { tags, type Tlv } from './der.js';
import { DerShapeError, childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag, readWhole } from './der-reader.js';

/*
 * CertificateList  ::=  SEQUENCE  {                   -- RFC 5280 §5.1
 *      tbsCertList          TBSCertList,
 *      signatureAlgorithm   AlgorithmIdentifier,
 *      signatureValue       BIT STRING  }
 *
 * TBSCertList  ::=  SEQUENCE  {
 *      version                 Version OPTIONAL,
 *                                   -- if present, MUST be v2
 *      signature               AlgorithmIdentifier,
 *      issuer                  Name,
 *      thisUpdate              Time,
 *      nextUpdate              Time OPTIONAL,
 *      revokedCertificates     SEQUENCE OF SEQUENCE  {
 *           userCertificate         CertificateSerialNumber,
 *           revocationDate          Time,
 *           crlEntryExtensions      Extensions OPTIONAL
 *                                    -- if present, version MUST be v2
 *                                }  OPTIONAL,
 *      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL
 *                                    -- if present, version MUST be v2
 *                                }
 */

export interface CertificateListFields {
  /** The issuer Name exactly as encoded, to compare with a certificate's issuer byte for byte. */
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** The userCertificate INTEGER of each entry, as encoded (TLV). */
  revokedSerialNumbers: Buffer[];
  /** The signed part (tbsCertList TLV), the signature algorithm OID and the signature bits. */
  tbsCertList: Buffer;
  signatureAlgorithm: string;
  signatureValue: Buffer;
}

/** Reads a DER CRL; throws DerShapeError when it is not one. */
export function readCertificateList(crlDer: Buffer): CertificateListFields {
  const list = readWhole(crlDer, tags.sequence, 'CertificateList');
  const [tbs, algorithm, signature] = childrenOf(crlDer, list, 'CertificateList');
  const fields = childrenOf(crlDer, expectTag(tbs, tags.sequence, 'TBSCertList'), 'TBSCertList');
  let index = fields[0]?.tag === tags.integer ? 1 : 0; // version
  index++; // signature AlgorithmIdentifier
  const issuer = expectTag(fields[index++], tags.sequence, 'TBSCertList.issuer');
  const thisUpdate = readTime(crlDer, fields[index++]);
  const nextUpdate = fields[index] && isTime(fields[index]) ? readTime(crlDer, fields[index++]) : undefined;
  const revokedSerialNumbers: Buffer[] = [];
  if (fields[index]?.tag === tags.sequence) {
    for (const entry of childrenOf(crlDer, fields[index++], 'revokedCertificates')) {
      const [serial] = childrenOf(crlDer, entry, 'revokedCertificates entry');
      revokedSerialNumbers.push(encodingOf(crlDer, expectTag(serial, tags.integer, 'userCertificate')));
    }
  }
  const bits = contentOf(crlDer, expectTag(signature, 0x03, 'CertificateList.signatureValue'));
  if (bits[0] !== 0) throw new DerShapeError('CRL signature has unused bits');
  return {
    issuer: encodingOf(crlDer, issuer),
    thisUpdate,
    nextUpdate,
    revokedSerialNumbers,
    tbsCertList: encodingOf(crlDer, tbs),
    signatureAlgorithm: decodeObjectIdentifier(crlDer, childrenOf(crlDer, expectTag(algorithm, tags.sequence, 'signatureAlgorithm'), 'signatureAlgorithm')[0]),
    signatureValue: bits.subarray(1),
  };
}

/** RFC 5280 §5.1.1.2 with RFC 4055 / RFC 5758 identifiers: the hash each CRL signature algorithm uses. */
const signatureHashes: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** True when `issuer`'s key signed the CRL. */
export function certificateListSignedBy(crl: CertificateListFields, issuer: X509Certificate): boolean {
  const hash = signatureHashes[crl.signatureAlgorithm];
  if (!hash) return false;
  const key = issuer.publicKey.asymmetricKeyType === 'ec' ? { key: issuer.publicKey, dsaEncoding: 'der' as const } : issuer.publicKey;
  return verify(hash, crl.tbsCertList, key, crl.signatureValue);
}

function isTime(element: Tlv): boolean {
  return element.tag === tags.utcTime || element.tag === tags.generalizedTime;
}

/** Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }; RFC 5280 §5.1.2.4: UTC, seconds, "Z". */
function readTime(der: Buffer, element: Tlv | undefined): Date {
  if (!element || !isTime(element)) throw new DerShapeError('TBSCertList: expected a Time');
  const text = contentOf(der, element).toString('latin1');
  const match = element.tag === tags.utcTime ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new DerShapeError(`TBSCertList: "${text}" is not a DER time`);
  let year = Number(match[1]);
  if (element.tag === tags.utcTime) year += year < 50 ? 2000 : 1900; // RFC 5280 §4.1.2.5.1
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}
