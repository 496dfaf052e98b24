import * as asn1js from 'asn1js';
import { childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag, readWhole } from '../cms/der-reader.js';
import { tags } from '../cms/der.js';
import { ID_SIGNED_DATA } from '../cms/oids.js';
import { readBer } from '../cms/read-ber.js';
import type { CmsAttribute, CmsSignedData, CmsSignerInfo } from './signed-data-types.js';

/*
 * The fast path of signed-data.ts: a CMS SignedData in DER (every signature Signet makes, and most
 * others) taken apart with the allocation-free DER walker instead of asn1js, which builds an object per
 * node — measured as the largest single cost of verifying a PAdES signature (~37% of a B-LT verdict),
 * and the memory of a CAdES-A whose CRLs run to megabytes. Certificates, revocation data and unsigned
 * attribute values stay byte slices; an attribute's values are parsed (asn1js) only when asked for.
 * Anything outside DER — indefinite lengths, constructed OCTET STRINGs, multi-octet tags — throws a
 * DerShapeError or RangeError, and the caller reads the bytes as BER instead.
 */

const { sequence: SEQUENCE, set: SET, octetString: OCTET_STRING, null: NULL } = tags;
const CONTEXT_0 = tags.contextConstructed(0);
const CONTEXT_1 = tags.contextConstructed(1);
/** sid [0] IMPLICIT SubjectKeyIdentifier: a primitive context tag. */
const SUBJECT_KEY_IDENTIFIER = 0x80;

export function readSignedDataDer(der: Buffer): CmsSignedData {
  const contentInfo = readWhole(der, SEQUENCE, 'ContentInfo');
  const [contentType, content] = childrenOf(der, contentInfo, 'ContentInfo');
  if (decodeObjectIdentifier(der, contentType!) !== ID_SIGNED_DATA) throw new RangeError('not a SignedData');
  const signedData = expectTag(childrenOf(der, expectTag(content, CONTEXT_0, 'content'), 'content')[0], SEQUENCE, 'SignedData');
  const fields = childrenOf(der, signedData, 'SignedData');
  if (fields.length < 4) throw new RangeError('the SignedData is missing fields');
  const [eContentType, eContentHolder] = childrenOf(der, expectTag(fields[2], SEQUENCE, 'EncapsulatedContentInfo'), 'EncapsulatedContentInfo');
  let eContent: Buffer | undefined;
  if (eContentHolder) {
    const value = expectTag(childrenOf(der, expectTag(eContentHolder, CONTEXT_0, 'eContent'), 'eContent')[0], OCTET_STRING, 'eContent');
    eContent = contentOf(der, value);
  }
  const rest = fields.slice(3);
  const certificateSet = rest.find((element) => element.tag === CONTEXT_0);
  const revocation = rest.find((element) => element.tag === CONTEXT_1);
  const crls = revocation ? childrenOf(der, revocation, 'crls').map((element) => encodingOf(der, element)) : [];
  const signerInfoSet = expectTag(rest[rest.length - 1], SET, 'signerInfos');
  return {
    eContentType: decodeObjectIdentifier(der, eContentType!),
    eContentTypeEncoded: encodingOf(der, eContentType!),
    encoded: {
      encapContentInfo: encodingOf(der, fields[2]!),
      certificates: certificateSet ? encodingOf(der, certificateSet) : Buffer.alloc(0),
      crls: revocation ? encodingOf(der, revocation) : Buffer.alloc(0),
    },
    eContent,
    certificates: certificateSet
      ? childrenOf(der, certificateSet, 'certificates')
          .filter((choice) => choice.tag === SEQUENCE)
          .map((element) => encodingOf(der, element))
      : [],
    crls,
    signerInfos: childrenOf(der, signerInfoSet, 'signerInfos').map((element) => readSignerInfoDer(encodingOf(der, element))),
  };
}

/** SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1] unsignedAttrs? } */
export function readSignerInfoDer(der: Buffer): CmsSignerInfo {
  const fields = childrenOf(der, readWhole(der, SEQUENCE, 'SignerInfo'), 'SignerInfo');
  let index = 1;
  const sid = fields[index++];
  if (!sid || (sid.tag !== SEQUENCE && sid.tag !== SUBJECT_KEY_IDENTIFIER)) throw new RangeError('SignerInfo.sid');
  const digestAlgorithm = decodeObjectIdentifier(der, childrenOf(der, expectTag(fields[index++], SEQUENCE, 'digestAlgorithm'), 'digestAlgorithm')[0]!);
  let signedAttributesEncoded: Buffer | undefined;
  let signedAttributes: CmsAttribute[] = [];
  if (fields[index]?.tag === CONTEXT_0) {
    signedAttributesEncoded = encodingOf(der, fields[index]!);
    signedAttributes = readAttributes(der, fields[index++]!);
  }
  const [algorithm, parameters] = childrenOf(der, expectTag(fields[index++], SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
  const signature = expectTag(fields[index++], OCTET_STRING, 'signature');
  const unsigned = fields[index]?.tag === CONTEXT_1 ? fields[index] : undefined;
  return {
    sid: encodingOf(der, sid),
    digestAlgorithm,
    signedAttributesEncoded,
    signedAttributes,
    signatureAlgorithm: decodeObjectIdentifier(der, algorithm!),
    signatureParameters: parameters && parameters.tag !== NULL ? encodingOf(der, parameters) : undefined,
    signature: contentOf(der, signature),
    unsignedAttributes: unsigned ? readAttributes(der, unsigned) : [],
    signedPartEncoded: der.subarray(fields[0]!.start, signature.end),
  };
}

/** Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY } — the values parsed on first use. */
function readAttributes(der: Buffer, holder: { start: number; contentStart: number; end: number; tag: number }): CmsAttribute[] {
  return childrenOf(der, holder, 'attributes').map((attribute) => {
    const [type, values] = childrenOf(der, expectTag(attribute, SEQUENCE, 'Attribute'), 'Attribute');
    const valuesSet = expectTag(values, SET, 'Attribute.values');
    const valuesEncoding = encodingOf(der, valuesSet);
    let parsed: asn1js.AsnType[] | undefined;
    return {
      type: decodeObjectIdentifier(der, type!),
      encoded: encodingOf(der, attribute),
      valuesEncoded: childrenOf(der, valuesSet, 'Attribute.values').map((value) => encodingOf(der, value)),
      get values(): asn1js.AsnType[] {
        parsed ??= ((readBer(valuesEncoding).result as asn1js.Set).valueBlock.value ?? []) as asn1js.AsnType[];
        return parsed;
      },
    };
  });
}
