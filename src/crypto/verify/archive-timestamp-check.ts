import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { ID_AA_ETS_ARCHIVE_TIMESTAMP_V3 } from '../cms/archive-time-stamp-v3.js';
import { ID_AA_ATS_HASH_INDEX_V3 } from '../cms/ats-hash-index-v3.js';
import { childrenOf, encodingOf } from '../cms/der-reader.js';
import { readTlv, tags, tlv } from '../cms/der.js';

/** RFC 5126 §6.4.1: id-aa-ets-archiveTimestampV2. */
const ID_AA_ETS_ARCHIVE_TIMESTAMP_V2 = '1.2.840.113549.1.9.16.2.48';

/** ETSI TS 101 733 v2.2.1 §6.4.3: id-aa-ATSHashIndex, the index of the first archive-time-stamp-v3 profile. */
const ID_AA_ATS_HASH_INDEX_V1 = '0.4.0.1733.2.5';
import { imprintHashForOid } from '../tsp/oids.js';
import { checkTimestampToken, type SignatureTimestamp, type SignedContent } from './cms-signer-check.js';
import { CmsFormatError, attributeValue, elementsOf, octets, oidOf, readCmsSignedData, type CmsAttribute, type CmsSignedData, type CmsSignerInfo } from './signed-data.js';

/*
 * Checking a CAdES archive-time-stamp-v3 (ETSI EN 319 122-1 §5.5.3; the builder is cms/cades-baseline-lta.ts):
 * the token's message imprint must be the hash of eContentType ‖ the content's hash ‖ the SignerInfo's
 * fields up to its signature ‖ the ATSHashIndexV3 the token carries; and every hash that index lists
 * must still be found among the signature's certificates, revocation values and unsigned attribute
 * values (elements added later may be there too, §5.5.2 NOTE 4 — removed or altered ones may not).
 */

/** An archive time-stamp and its kind: v3 makes CAdES-B-LTA; v2 (CAdES-A before EN 319 122-1) proves existence all the same. */
export type ArchiveTimestamp = SignatureTimestamp & { version: 2 | 3 };

/** The signer's archive time-stamps, each checked; problems are added to `problems`. */
export function checkArchiveTimestamps(cms: CmsSignedData, signer: CmsSignerInfo, content: SignedContent, problems: string[]): ArchiveTimestamp[] {
  const results: ArchiveTimestamp[] = [];
  for (const attribute of signer.unsignedAttributes.filter((candidate) => candidate.type === ID_AA_ETS_ARCHIVE_TIMESTAMP_V3)) {
    const tokenDer = attribute.valuesEncoded[0];
    if (!tokenDer) continue;
    const index = readHashIndex(tokenDer, problems);
    if (!index) continue;
    const imprinted = (hash: string) =>
      createHash(hash)
        .update(cms.eContentTypeEncoded)
        .update(content.digest(hash))
        .update(signer.signedPartEncoded)
        .update(index.encoded)
        .digest();
    const timestamp = checkTimestampToken(tokenDer, imprinted, 'archive time-stamp', problems);
    if (!timestamp) continue;
    const missing = missingFromIndex(index, cms, signer);
    if (missing.length > 0) {
      timestamp.intact = false;
      problems.push(`archive_timestamp_index_mismatch: ${missing.join('; ')} — the signature was changed after it was archived`);
    }
    results.push({ ...timestamp, version: 3 });
  }
  for (const attribute of signer.unsignedAttributes.filter((candidate) => candidate.type === ID_AA_ETS_ARCHIVE_TIMESTAMP_V2)) {
    const tokenDer = attribute.valuesEncoded[0];
    if (!tokenDer) continue;
    if (cms.eContent === undefined && !content.bytes) {
      problems.push('archive_timestamp_invalid: an archive-time-stamp-v2 of a detached signature covers the content itself, which was not sent');
      continue;
    }
    const timestamp = checkTimestampToken(tokenDer, (hash) => archiveV2Imprint(hash, cms, signer, content, attribute), 'archive time-stamp (v2)', problems);
    if (timestamp) results.push({ ...timestamp, version: 2 });
  }
  return results;
}

/**
 * RFC 5126 §6.4.1 (archive-time-stamp-v2, CAdES-A before EN 319 122-1): the hash of encapContentInfo,
 * the content when it is detached, the certificates [0] and crls [1] fields, and the SignerInfo's fields
 * with its unsigned attributes but this time-stamp — each as encoded (checked on DSS's sample
 * cadesLTAwithATv2expired.p7s, whose imprint this reproduces).
 */
function archiveV2Imprint(hash: string, cms: CmsSignedData, signer: CmsSignerInfo, content: SignedContent, archive: CmsAttribute): Buffer {
  const digest = createHash(hash).update(cms.encoded.encapContentInfo);
  if (cms.eContent === undefined) digest.update(content.bytes!);
  const others = signer.unsignedAttributes.filter((attribute) => attribute !== archive).map((attribute) => attribute.encoded);
  return digest.update(cms.encoded.certificates).update(cms.encoded.crls).update(signer.signedPartEncoded).update(tlv(tags.contextConstructed(1), ...others)).digest();
}

interface HashIndex {
  hash: string;
  certificates: Buffer[];
  crls: Buffer[];
  unsignedAttributeValues: Buffer[];
  /** TS 101 733's ATSHashIndex lists whole Attributes; EN 319 122-1's v3, attrType ‖ each value. */
  wholeAttributes: boolean;
  /** The ATSHashIndexV3 as the token carries it. */
  encoded: Buffer;
}

function readHashIndex(tokenDer: Buffer, problems: string[]): HashIndex | undefined {
  try {
    const token = readCmsSignedData(tokenDer);
    const unsigned = token.signerInfos[0]?.unsignedAttributes ?? [];
    const v3 = attributeValue(unsigned, ID_AA_ATS_HASH_INDEX_V3);
    // ETSI TS 101 733 v2.2.1's ATSHashIndex: the same structure, whole unsigned attributes hashed.
    const value = v3 ?? attributeValue(unsigned, ID_AA_ATS_HASH_INDEX_V1);
    if (!value) {
      problems.push('archive_timestamp_invalid: the archive time-stamp carries no ats-hash-index-v3 (EN 319 122-1 §5.5.3) nor ATSHashIndex (TS 101 733)');
      return undefined;
    }
    const fields = elementsOf(value, 'ATSHashIndexV3');
    let hash = 'sha256';
    let first = 0;
    if (fields.length === 4) {
      hash = imprintHashForOid(oidOf(elementsOf(fields[0], 'hashIndAlgorithm')[0], 'hashIndAlgorithm')) ?? '';
      first = 1;
    }
    if (!hash) throw new CmsFormatError('unsupported hashIndAlgorithm');
    const hashes = (element: asn1js.AsnType) =>
      elementsOf(element, 'hash index').map((item) => {
        if (!(item instanceof asn1js.OctetString)) throw new CmsFormatError('a hash index entry is not an OCTET STRING');
        return octets(item);
      });
    return {
      hash,
      certificates: hashes(fields[first]),
      crls: hashes(fields[first + 1]),
      unsignedAttributeValues: hashes(fields[first + 2]),
      wholeAttributes: !v3,
      encoded: Buffer.from(value.valueBeforeDecodeView),
    };
  } catch (error) {
    problems.push(`archive_timestamp_invalid: its ats-hash-index-v3 cannot be read (${(error as Error).message})`);
    return undefined;
  }
}

/** What the index lists that the signature no longer holds. */
function missingFromIndex(index: HashIndex, cms: CmsSignedData, signer: CmsSignerInfo): string[] {
  const digest = (bytes: Buffer) => createHash(index.hash).update(bytes).digest();
  const present = (listed: Buffer[], elements: Buffer[]) => {
    const hashes = elements.map(digest);
    return listed.filter((hash) => !hashes.some((candidate) => candidate.equals(hash))).length;
  };
  // v3: attrType ‖ AttributeValue per value, both as encoded (cms/ats-hash-index-v3.ts); v1: each Attribute.
  const values = index.wholeAttributes
    ? signer.unsignedAttributes.map((attribute) => attribute.encoded)
    : signer.unsignedAttributes.flatMap((attribute) => {
        const typeEncoded = encodingOf(attribute.encoded, childrenOf(attribute.encoded, readTlv(attribute.encoded, 0), 'Attribute')[0]!);
        return attribute.valuesEncoded.map((value) => Buffer.concat([typeEncoded, value]));
      });
  const missing: string[] = [];
  const certificates = present(index.certificates, cms.certificates);
  const crls = present(index.crls, cms.crls);
  const attributes = present(index.unsignedAttributeValues, values);
  if (certificates) missing.push(`${certificates} certificate(s) it covered are gone`);
  if (crls) missing.push(`${crls} revocation value(s) it covered are gone`);
  if (attributes) missing.push(`${attributes} unsigned attribute value(s) it covered are gone`);
  return missing;
}
