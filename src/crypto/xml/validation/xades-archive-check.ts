import { createHash } from 'node:crypto';
import { checkTimestampToken, type SignatureTimestamp } from '../../verify/cms-signer-check.js';
import { ExclusiveCanonicalizer } from '../exclusive-c14n.js';
import { DS_NAMESPACE, XADES141_NAMESPACE } from '../xml-constants.js';
import { scanXml } from '../xml-scanner.js';
import { attribute, child, childrenNamed, type SignatureTree, type TreeNode } from './signature-tree.js';
import { c14nOptions, hashReferencedData, isCanonicalization } from './references.js';
import { xades } from './xades-names.js';

/*
 * XAdES archive time-stamps (ETSI EN 319 132-1 §5.5.2, xades141:ArchiveTimeStamp) checked as a
 * verifier: the token's message imprint must be the hash of, one after another,
 *   1. the data each ds:Reference of SignedInfo covers, as its own transforms give it;
 *   2. ds:SignedInfo, ds:SignatureValue and ds:KeyInfo (when present), in the time-stamp's own
 *      canonicalization (inclusive C14N 1.0 when it names none);
 *   3. every child of UnsignedSignatureProperties that comes before this time-stamp, in order;
 *   4. the signature's ds:Object elements other than the one holding QualifyingProperties.
 * An intact archive time-stamp makes the level B-LTA and proves the signature existed at its time.
 */

export function checkXadesArchiveTimestamps(
  text: string,
  tree: SignatureTree,
  signature: TreeNode,
  qualifying: TreeNode | undefined,
  problems: string[],
  detached?: Buffer,
): SignatureTimestamp[] {
  const unsigned = xades(xades(qualifying, 'UnsignedProperties'), 'UnsignedSignatureProperties');
  const properties = unsigned?.children ?? [];
  const results: SignatureTimestamp[] = [];
  properties.forEach((property, position) => {
    if (property.element.namespaceUri !== XADES141_NAMESPACE || property.element.localName !== 'ArchiveTimeStamp') return;
    const encapsulated = xades(property, 'EncapsulatedTimeStamp');
    if (!encapsulated) return;
    const c14n = attribute(child(property, DS_NAMESPACE, 'CanonicalizationMethod'), 'Algorithm') ?? 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
    if (!isCanonicalization(c14n)) {
      problems.push(`archive_timestamp_invalid: the archive time-stamp's canonicalization "${c14n}" is not supported`);
      return;
    }
    const covered = [
      ...['SignedInfo', 'SignatureValue', 'KeyInfo'].map((name) => child(signature, DS_NAMESPACE, name)),
      ...properties.slice(0, position),
      ...childrenNamed(signature, DS_NAMESPACE, 'Object').filter((object) => !xades(object, 'QualifyingProperties')),
    ].filter((node): node is TreeNode => node !== undefined);
    let failure: string | undefined;
    const imprinted = (hashName: string) => {
      const hash = createHash(hashName);
      failure = hashReferencedData(text, tree, signature, hash, detached);
      for (const node of covered) {
        scanXml(text, new ExclusiveCanonicalizer({ write: (piece) => hash.update(piece, 'utf8') }, { ...c14nOptions(c14n, false), apex: (element) => element.start === node.element.start }));
      }
      return hash.digest();
    };
    const token = Buffer.from(encapsulated.text.replace(/\s+/g, ''), 'base64');
    const timestamp = checkTimestampToken(token, imprinted, 'archive time-stamp', problems);
    if (failure) problems.push(`archive_timestamp_invalid: ${failure}`);
    if (timestamp) results.push(timestamp);
  });
  return results;
}
