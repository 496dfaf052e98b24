import { createHash } from 'node:crypto';
import { SHA256_ALGORITHM } from './algorithm-identifier.js';
import { attribute } from './attribute.js';
import { octetString, sequence, tags } from './der.js';
import { childrenOf, encodingOf, expectTag, readWhole } from './der-reader.js';

/*
 * id-aa-ATSHashIndex-v3 OBJECT IDENTIFIER ::= { itu-t(0) identified-organization(4)     -- ETSI EN 319 122-1 §5.5.2
 *     etsi(0) cades(19122) attributes(1) 5 }
 *
 * ATSHashIndexV3 ::= SEQUENCE {
 *   hashIndAlgorithm             AlgorithmIdentifier,
 *   certificatesHashIndex        SEQUENCE OF OCTET STRING,
 *   crlsHashIndex                SEQUENCE OF OCTET STRING,
 *   unsignedAttrValuesHashIndex  SEQUENCE OF OCTET STRING }
 *
 * An unsigned attribute of the archive-time-stamp-v3 token's own SignerInfo (§5.5.3), saying which
 * certificates, revocation values and unsigned attribute values of the archived signature the time-stamp
 * covers: one hash of the whole TLV of every CertificateChoices in SignedData.certificates and every
 * RevocationInfoChoice in SignedData.crls, and one hash of attrType ‖ AttributeValue (both whole TLVs) for
 * every value of every attribute in the SignerInfo's unsignedAttrs — per value, not per attribute, so
 * values and attributes added later leave the index valid (§5.5.2 NOTE 4). A verifier matches entries by
 * value, so their order carries nothing; ours follow the order of the encoding.
 *
 * hashIndAlgorithm: the clause body once wrote `DEFAULT {algorithm id-sha256}`, the normative module in
 * annex D has no DEFAULT. It is always written (EU DSS does the same for v3), so readers of either
 * reading find it; it is SHA-256, the archive time-stamp's imprint algorithm, as §5.5.2 requires.
 */
export const ID_AA_ATS_HASH_INDEX_V3 = '0.4.0.19122.1.5';

/** What the index covers, every element exactly as encoded in the signature. */
export interface AtsHashIndexInput {
  /** Each CertificateChoices of SignedData.certificates. */
  certificates: Buffer[];
  /** Each RevocationInfoChoice of SignedData.crls. */
  crls: Buffer[];
  /** Each Attribute of the SignerInfo's unsignedAttrs. */
  unsignedAttributes: Buffer[];
}

/** The DER ATSHashIndexV3 (SHA-256) over `input`. */
export function atsHashIndexV3(input: AtsHashIndexInput): Buffer {
  return sequence(
    SHA256_ALGORITHM,
    hashIndex(input.certificates),
    hashIndex(input.crls),
    hashIndex(input.unsignedAttributes.flatMap(typeAndValueEncodings)),
  );
}

/** The ats-hash-index-v3 attribute: exactly one value, DER (§5.5.2). */
export function atsHashIndexV3Attribute(index: Buffer): Buffer {
  return attribute(ID_AA_ATS_HASH_INDEX_V3, index);
}

function hashIndex(components: Buffer[]): Buffer {
  return sequence(...components.map((component) => octetString(createHash('sha256').update(component).digest())));
}

/** attrType ‖ AttributeValue, whole TLVs, once per value of the Attribute. */
function typeAndValueEncodings(encodedAttribute: Buffer): Buffer[] {
  const [attrType, attrValues] = childrenOf(encodedAttribute, readWhole(encodedAttribute, tags.sequence, 'Attribute'), 'Attribute');
  const type = encodingOf(encodedAttribute, expectTag(attrType, tags.objectIdentifier, 'Attribute.attrType'));
  return childrenOf(encodedAttribute, expectTag(attrValues, tags.set, 'Attribute.attrValues'), 'AttributeValues').map((value) =>
    Buffer.concat([type, encodingOf(encodedAttribute, value)]),
  );
}
