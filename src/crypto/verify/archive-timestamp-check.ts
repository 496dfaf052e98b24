import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { ID_AA_ETS_ARCHIVE_TIMESTAMP_V3 } from '../cms/archive-time-stamp-v3.js';
import { ID_AA_ATS_HASH_INDEX_V3 } from '../cms/ats-hash-index-v3.js';
import { imprintHashForOid } from '../tsp/oids.js';
import { checkTimestampToken, type SignatureTimestamp, type SignedContent } from './cms-signer-check.js';
import { CmsFormatError, attributeValue, elementsOf, octets, oidOf, readCmsSignedData, type CmsSignedData, type CmsSignerInfo } from './signed-data.js';

/*
 * Checking a CAdES archive-time-stamp-v3 (ETSI EN 319 122-1 §5.5.3; the builder is cms/cades-baseline-lta.ts):
 * the token's message imprint must be the hash of eContentType ‖ the content's hash ‖ the SignerInfo's
 * fields up to its signature ‖ the ATSHashIndexV3 the token carries; and every hash that index lists
 * must still be found among the signature's certificates, revocation values and unsigned attribute
 * values (elements added later may be there too, §5.5.2 NOTE 4 — removed or altered ones may not).
 */

/** The signer's archive time-stamps, each checked; problems are added to `problems`. */
export function checkArchiveTimestamps(cms: CmsSignedData, signer: CmsSignerInfo, content: SignedContent, problems: string[]): SignatureTimestamp[] {
  const results: SignatureTimestamp[] = [];
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
    results.push(timestamp);
  }
  return results;
}

interface HashIndex {
  hash: string;
  certificates: Buffer[];
  crls: Buffer[];
  unsignedAttributeValues: Buffer[];
  /** The ATSHashIndexV3 as the token carries it. */
  encoded: Buffer;
}

function readHashIndex(tokenDer: Buffer, problems: string[]): HashIndex | undefined {
  try {
    const token = readCmsSignedData(tokenDer);
    const value = token.signerInfos[0] && attributeValue(token.signerInfos[0].unsignedAttributes, ID_AA_ATS_HASH_INDEX_V3);
    if (!value) {
      problems.push('archive_timestamp_invalid: the archive time-stamp carries no ats-hash-index-v3 (EN 319 122-1 §5.5.3)');
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
  // attrType ‖ AttributeValue per value, both as encoded (cms/ats-hash-index-v3.ts).
  const values = signer.unsignedAttributes.flatMap((attribute) => {
    const [type] = elementsOf(asn1js.fromBER(attribute.encoded).result, 'Attribute');
    const typeEncoded = Buffer.from(type.valueBeforeDecodeView);
    return attribute.values.map((value) => Buffer.concat([typeEncoded, Buffer.from(value.valueBeforeDecodeView)]));
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
