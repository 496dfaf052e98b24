import * as asn1js from 'asn1js';
import { ID_SIGNED_DATA } from '../cms/oids.js';
import { DerLimitError } from '../cms/der-reader.js';
import { readBer } from '../cms/read-ber.js';
import { readSignedDataDer, readSignerInfoDer } from './signed-data-der.js';

/*
 * Reading someone else's CMS SignedData (RFC 5652 §5) for verification. Unlike cms/signed-data-parts.ts,
 * which takes apart only signatures we made (DER), this reads BER — indefinite lengths and constructed
 * OCTET STRINGs are common in signatures made by other products — with asn1js, keeping the original
 * bytes of what was signed (the signed attributes) and of every certificate.
 *
 * SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
 *   certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
 * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL,
 *   signatureAlgorithm, signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL }
 */

/** The CMS is not a SignedData we can read; the message says what is wrong with it. */
export class CmsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CmsFormatError';
  }
}

export type { CmsAttribute, CmsSignedData, CmsSignerInfo } from './signed-data-types.js';
import type { CmsAttribute, CmsSignedData, CmsSignerInfo } from './signed-data-types.js';

export function readCmsSignedData(der: Buffer): CmsSignedData {
  try {
    return readSignedDataDer(der);
  } catch (error) {
    if (error instanceof DerLimitError) throw new CmsFormatError(error.message);
    // Not DER (or not a SignedData at all): read as BER, which also says precisely what is wrong.
  }
  const parsed = readBer(der);
  if (parsed.offset === -1) throw new CmsFormatError(`not BER/DER: ${parsed.result.error || 'unreadable'}`);
  const [contentType, content] = elementsOf(parsed.result, 'ContentInfo');
  if (oidOf(contentType, 'ContentInfo.contentType') !== ID_SIGNED_DATA) throw new CmsFormatError('the ContentInfo does not hold a SignedData');
  if (!isContext(content, 0)) throw new CmsFormatError('the ContentInfo has no content');
  const fields = elementsOf(elementsOf(content, 'ContentInfo.content')[0], 'SignedData');
  if (fields.length < 4) throw new CmsFormatError('the SignedData is missing fields');
  const encap = elementsOf(fields[2], 'EncapsulatedContentInfo');
  const eContentType = oidOf(encap[0], 'eContentType');
  let eContent: Buffer | undefined;
  if (encap[1] !== undefined) {
    const value = isContext(encap[1], 0) ? elementsOf(encap[1], 'eContent')[0] : undefined;
    if (!(value instanceof asn1js.OctetString)) throw new CmsFormatError('eContent is not an OCTET STRING');
    eContent = octets(value);
  }
  const rest = fields.slice(3);
  const certificateSet = rest.find((element) => isContext(element, 0));
  const certificates = certificateSet
    ? elementsOf(certificateSet, 'certificates')
        .filter((choice) => choice.idBlock.tagClass === 1 && choice.idBlock.tagNumber === 16)
        .map(originalBytes)
    : [];
  const signerInfoSet = rest[rest.length - 1];
  if (!(signerInfoSet instanceof asn1js.Set)) throw new CmsFormatError('the SignedData has no signerInfos SET');
  const revocation = rest.find((element) => isContext(element, 1));
  const crls = revocation ? elementsOf(revocation, 'crls').map(originalBytes) : [];
  return {
    eContentType,
    eContentTypeEncoded: originalBytes(encap[0]),
    encoded: {
      encapContentInfo: originalBytes(fields[2]!),
      certificates: certificateSet ? originalBytes(certificateSet) : Buffer.alloc(0),
      crls: revocation ? originalBytes(revocation) : Buffer.alloc(0),
    },
    eContent,
    certificates,
    crls,
    signerInfos: elementsOf(signerInfoSet, 'signerInfos').map(readSignerInfoBer),
  };
}

/** One SignerInfo (RFC 5652 §5.3), as encoded: a countersignature's (§11.4). DER fast, else BER. */
export function readSignerInfo(encoded: Buffer): CmsSignerInfo {
  try {
    return readSignerInfoDer(encoded);
  } catch {
    // BER: read with asn1js below.
  }
  const parsed = readBer(encoded);
  if (parsed.offset === -1) throw new CmsFormatError(`the SignerInfo is not BER/DER: ${parsed.result.error || 'unreadable'}`);
  return readSignerInfoBer(parsed.result);
}

function readSignerInfoBer(element: asn1js.AsnType): CmsSignerInfo {
  const fields = elementsOf(element, 'SignerInfo');
  let index = 1;
  const sid = originalBytes(required(fields[index++], 'SignerInfo.sid'));
  const digestAlgorithm = oidOf(elementsOf(fields[index++], 'digestAlgorithm')[0], 'digestAlgorithm');
  let signedAttributesEncoded: Buffer | undefined;
  let signedAttributes: CmsAttribute[] = [];
  if (isContext(fields[index], 0)) {
    signedAttributesEncoded = originalBytes(fields[index]);
    signedAttributes = readAttributes(fields[index++], 'signedAttrs');
  }
  const [algorithm, parameters] = elementsOf(fields[index++], 'signatureAlgorithm');
  const signature = fields[index++];
  if (!(signature instanceof asn1js.OctetString)) throw new CmsFormatError('the SignerInfo has no signature value');
  const signedPartEncoded = Buffer.concat(fields.slice(0, index).map(originalBytes));
  const unsignedAttributes = isContext(fields[index], 1) ? readAttributes(fields[index], 'unsignedAttrs') : [];
  return {
    sid,
    digestAlgorithm,
    signedAttributesEncoded,
    signedAttributes,
    signatureAlgorithm: oidOf(algorithm, 'signatureAlgorithm'),
    signatureParameters: parameters && !(parameters instanceof asn1js.Null) ? originalBytes(parameters) : undefined,
    signature: octets(signature),
    unsignedAttributes,
    signedPartEncoded,
  };
}

function readAttributes(element: asn1js.AsnType, what: string): CmsAttribute[] {
  return elementsOf(element, what).map((attribute) => {
    const [type, values] = elementsOf(attribute, 'Attribute');
    const parsed = elementsOf(values, 'Attribute.values');
    return { type: oidOf(type, 'Attribute.type'), values: parsed, valuesEncoded: parsed.map(originalBytes), encoded: originalBytes(attribute) };
  });
}

/** The first value of the attribute `type`, if present. */
export function attributeValue(attributes: CmsAttribute[], type: string): asn1js.AsnType | undefined {
  return attributes.find((attribute) => attribute.type === type)?.values[0];
}

export function elementsOf(element: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  const value = (element as asn1js.Constructed | undefined)?.valueBlock?.value;
  if (!element || !element.idBlock.isConstructed || !Array.isArray(value)) throw new CmsFormatError(`${what} is not a constructed element`);
  return value as asn1js.AsnType[];
}

export function oidOf(element: asn1js.AsnType | undefined, what: string): string {
  if (!(element instanceof asn1js.ObjectIdentifier)) throw new CmsFormatError(`${what} is not an OBJECT IDENTIFIER`);
  return element.valueBlock.toString();
}

/** The content of an OCTET STRING, joined when it was sent constructed (BER). */
export function octets(value: asn1js.OctetString): Buffer {
  if (!value.idBlock.isConstructed) return Buffer.from(value.valueBlock.valueHexView);
  return Buffer.concat((value.valueBlock.value as asn1js.OctetString[]).map(octets));
}

export function isContext(element: asn1js.AsnType | undefined, tagNumber: number): boolean {
  return !!element && element.idBlock.tagClass === 3 && element.idBlock.tagNumber === tagNumber;
}

export function originalBytes(element: asn1js.AsnType): Buffer {
  return Buffer.from(element.valueBeforeDecodeView);
}

function required(element: asn1js.AsnType | undefined, what: string): asn1js.AsnType {
  if (!element) throw new CmsFormatError(`${what} is missing`);
  return element;
}
