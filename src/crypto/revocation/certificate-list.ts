import { childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag, readWhole } from '../cms/der-reader.js';
import { readTlv, tags, type Tlv } from '../cms/der.js';

/*
 * A CRL (RFC 5280 §5.1) read with the allocation-free DER walker: the parts a check needs, with the
 * revoked-certificate entries walked on demand rather than parsed into objects. A large CA's CRL runs to
 * megabytes and hundreds of thousands of entries; read as an object tree (pkijs) it took hundreds of
 * megabytes for one lookup. CRLs are signed, hence DER (§5.1: the tbsCertList is what is signed);
 * anything else is refused as malformed.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier, issuer Name,
 *     thisUpdate Time, nextUpdate Time OPTIONAL,
 *     revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 *                                                crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */

export interface CrlExtension {
  oid: string;
  critical: boolean;
  /** extnValue's content: the extension's own DER. */
  value: Buffer;
}

export interface CrlEntry {
  revocationDate: Date;
  extensions: CrlExtension[];
}

export interface CertificateListParts {
  /** The tbsCertList as encoded: what the signature covers. */
  tbs: Buffer;
  /** The issuer Name as encoded. */
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  signatureAlgorithm: string;
  signature: Buffer;
  extensions: CrlExtension[];
  /** The entry for a serial number (the INTEGER's content octets), if the list has one. */
  entryFor(serial: Buffer): CrlEntry | undefined;
}

const { sequence: SEQUENCE, integer: INTEGER, utcTime: UTC_TIME, generalizedTime: GENERALIZED_TIME, boolean: BOOLEAN, octetString: OCTET_STRING, bitString: BIT_STRING } = tags;
const CONTEXT_0 = tags.contextConstructed(0);

export function readCertificateList(der: Buffer): CertificateListParts {
  const [tbsElement, algorithm, signatureValue] = childrenOf(der, readWhole(der, SEQUENCE, 'CertificateList'), 'CertificateList');
  const fields = childrenOf(der, expectTag(tbsElement, SEQUENCE, 'tbsCertList'), 'tbsCertList');
  let index = fields[0]?.tag === INTEGER ? 1 : 0;
  index++; // signature AlgorithmIdentifier (the outer one is checked)
  const issuer = expectTag(fields[index++], SEQUENCE, 'issuer');
  const thisUpdate = readTime(der, fields[index++]);
  const nextUpdate = fields[index] && (fields[index]!.tag === UTC_TIME || fields[index]!.tag === GENERALIZED_TIME) ? readTime(der, fields[index++]) : undefined;
  const revoked = fields[index]?.tag === SEQUENCE ? fields[index++] : undefined;
  const extensionsHolder = fields[index]?.tag === CONTEXT_0 ? fields[index] : undefined;
  const bits = contentOf(der, expectTag(signatureValue, BIT_STRING, 'signatureValue'));
  return {
    tbs: encodingOf(der, tbsElement!),
    issuer: encodingOf(der, issuer),
    thisUpdate,
    ...(nextUpdate && { nextUpdate }),
    signatureAlgorithm: decodeObjectIdentifier(der, childrenOf(der, expectTag(algorithm, SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm')[0]!),
    signature: bits.subarray(1),
    extensions: extensionsHolder ? readExtensions(der, childrenOf(der, extensionsHolder, 'crlExtensions')[0]!) : [],
    entryFor(serial: Buffer): CrlEntry | undefined {
      if (!revoked) return undefined;
      // Walked, not collected: one comparison per entry, nothing kept.
      for (let offset = revoked.contentStart; offset < revoked.end; ) {
        const element = readTlv(der, offset);
        if (element.end > revoked.end) throw new RangeError('a revoked entry runs past the list');
        offset = element.end;
        const [userCertificate, date, extensions] = childrenOf(der, expectTag(element, SEQUENCE, 'revoked entry'), 'revoked entry');
        if (!contentOf(der, expectTag(userCertificate, INTEGER, 'userCertificate')).equals(serial)) continue;
        return { revocationDate: readTime(der, date), extensions: extensions ? readExtensions(der, extensions) : [] };
      }
      return undefined;
    },
  };
}

/** Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function readExtensions(der: Buffer, holder: Tlv): CrlExtension[] {
  return childrenOf(der, expectTag(holder, SEQUENCE, 'Extensions'), 'Extensions').map((extension) => {
    const parts = childrenOf(der, expectTag(extension, SEQUENCE, 'Extension'), 'Extension');
    const critical = parts[1]?.tag === BOOLEAN && der[parts[1].contentStart] !== 0;
    return { oid: decodeObjectIdentifier(der, parts[0]!), critical, value: contentOf(der, expectTag(parts[parts.length - 1], OCTET_STRING, 'extnValue')) };
  });
}

/** UTCTime (YYMMDDHHMMSSZ, years 50–99 are 19xx) or GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z), RFC 5280 §4.1.2.5. */
function readTime(der: Buffer, element: Tlv | undefined): Date {
  if (!element || (element.tag !== UTC_TIME && element.tag !== GENERALIZED_TIME)) throw new RangeError('a time is missing');
  const text = contentOf(der, element).toString('latin1');
  const match = element.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(text);
  if (!match) throw new RangeError(`not a time: ${text}`);
  const year = element.tag === UTC_TIME ? (Number(match[1]) >= 50 ? 1900 : 2000) + Number(match[1]) : Number(match[1]);
  const milliseconds = match[7] ? Math.round(Number(match[7]) * 1000) : 0;
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6] ?? 0), milliseconds));
}
