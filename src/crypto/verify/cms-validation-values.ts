import { childrenOf, decodeObjectIdentifier, encodingOf, readWhole } from '../cms/der-reader.js';
import { objectIdentifier, octetString, sequence, tags, tlv } from '../cms/der.js';
import type { RevocationValues } from '../validation/signature-evidence.js';
import type { CmsAttribute, CmsSignedData, CmsSignerInfo } from './signed-data.js';

/*
 * The validation data a CMS signature carries, wherever its producer put it:
 *   - SignedData.crls (RFC 5652 §10.2.1): CertificateList, or otherRevocationInfo id-ri-ocsp-response
 *     holding an OCSPResponse (RFC 5940 §4.1) — CAdES B-LT;
 *   - id-aa-ets-certValues / id-aa-ets-revocationValues unsigned attributes (ETSI EN 319 122-1 §A.1.1,
 *     A.1.2; RFC 5126 §6.3.3-4) — CAdES-X-L/-A, whose OCSP values are BasicOCSPResponses;
 *   - the adbe-revocationInfoArchival signed attribute (ISO 32000-1 §12.8.3.3.2) — Adobe PKCS#7 in PDFs.
 * OCSP values are returned as OCSPResponse encodings whatever their container held, so one verifier reads
 * them all. Read with the DER walker: these values are the bulk of a CAdES-A (megabytes of CRLs) and are
 * passed on as bytes. Elements that cannot be read are skipped: missing data makes a verdict
 * indeterminate, not wrong.
 */

const ID_RI_OCSP_RESPONSE = '1.3.6.1.5.5.7.16.2';
const ID_AA_ETS_CERT_VALUES = '1.2.840.113549.1.9.16.2.23';
const ID_AA_ETS_REVOCATION_VALUES = '1.2.840.113549.1.9.16.2.24';
const ADBE_REVOCATION_INFO_ARCHIVAL = '1.2.840.113583.1.1.8';
const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

export interface CmsValidationValues extends RevocationValues {
  /** Certificates from certValues, beyond SignedData.certificates. */
  certificates: Buffer[];
}

export function cmsValidationValues(cms: CmsSignedData, signer: CmsSignerInfo): CmsValidationValues {
  const values: CmsValidationValues = { ocsps: [], crls: [], certificates: [] };
  for (const choice of cms.crls) quietly(() => readRevocationInfoChoice(choice, values));
  for (const value of valuesOf(signer.unsignedAttributes, ID_AA_ETS_CERT_VALUES)) {
    quietly(() => values.certificates.push(...elements(value, SEQUENCE)));
  }
  for (const value of valuesOf(signer.unsignedAttributes, ID_AA_ETS_REVOCATION_VALUES)) quietly(() => readTaggedLists(value, values, true));
  for (const value of valuesOf(signer.signedAttributes, ADBE_REVOCATION_INFO_ARCHIVAL)) quietly(() => readTaggedLists(value, values, false));
  return values;
}

const SEQUENCE = tags.sequence;

/** The encodings of the elements inside a constructed TLV `encoded` whose tag is `tag`. */
function elements(encoded: Buffer, tag: number): Buffer[] {
  return childrenOf(encoded, readWhole(encoded, tag, 'values'), 'values').map((element) => encodingOf(encoded, element));
}

function readRevocationInfoChoice(encoded: Buffer, values: RevocationValues): void {
  if (encoded[0] === tags.sequence) {
    values.crls.push(encoded);
    return;
  }
  if (encoded[0] !== tags.contextConstructed(1)) return;
  const [format, info] = childrenOf(encoded, readWhole(encoded, tags.contextConstructed(1), 'OtherRevocationInfoFormat'), 'OtherRevocationInfoFormat');
  if (decodeObjectIdentifier(encoded, format!) === ID_RI_OCSP_RESPONSE && info) values.ocsps.push(encodingOf(encoded, info));
}

/**
 * RevocationValues ::= SEQUENCE { crlVals [0] SEQUENCE OF CertificateList OPTIONAL, ocspVals [1] SEQUENCE OF BasicOCSPResponse OPTIONAL, … }
 * RevocationInfoArchival ::= SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRLs OPTIONAL, ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse OPTIONAL, … }
 * The same shape: CRLs under [0], OCSP under [1] — basic responses in the first, whole ones in the second.
 */
function readTaggedLists(value: Buffer, values: RevocationValues, ocspsAreBasic: boolean): void {
  for (const field of childrenOf(value, readWhole(value, SEQUENCE, 'revocation values'), 'revocation values')) {
    const list = childrenOf(value, field, 'revocation values field')[0];
    if (!list) continue;
    const items = childrenOf(value, list, 'revocation values list').map((item) => encodingOf(value, item));
    if (field.tag === tags.contextConstructed(0)) values.crls.push(...items);
    if (field.tag === tags.contextConstructed(1)) values.ocsps.push(...(ocspsAreBasic ? items.map(ocspResponseOf) : items));
  }
}

/** OCSPResponse ::= SEQUENCE { responseStatus successful(0), responseBytes [0] EXPLICIT { id-pkix-ocsp-basic, OCTET STRING } } */
function ocspResponseOf(basicOcspResponse: Buffer): Buffer {
  const responseBytes = sequence(objectIdentifier(ID_PKIX_OCSP_BASIC), octetString(basicOcspResponse));
  const successful = tlv(tags.enumerated, Buffer.from([0]));
  return sequence(successful, tlv(tags.contextConstructed(0), responseBytes));
}

function valuesOf(attributes: CmsAttribute[], type: string): Buffer[] {
  return attributes.filter((attribute) => attribute.type === type).flatMap((attribute) => attribute.valuesEncoded);
}

function quietly(read: () => void): void {
  try {
    read();
  } catch {
    // An unreadable element gives no validation data; the verdict says what is missing.
  }
}
