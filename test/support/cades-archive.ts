import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './tools.js';

/**
 * An independent check of a CAdES-B-LTA archive-time-stamp-v3 (ETSI EN 319 122-1 §5.5.2, §5.5.3), written
 * from the standard and sharing no code with src/: OpenSSL's `asn1parse` splits the signature into its
 * elements (offsets and lengths), this file concatenates and hashes them, and `openssl ts -verify -digest`
 * checks the archive token against the digest computed here.
 */

const ID_AA_ETS_ARCHIVE_TIMESTAMP_V3 = '0.4.0.1733.2.4';
const ID_AA_ATS_HASH_INDEX_V3 = '0.4.0.19122.1.5';
/** AlgorithmIdentifier { id-sha256 }, parameters absent. */
const SHA256_ALGORITHM_IDENTIFIER = Buffer.from('300b0609608648016503040201', 'hex');

export interface Asn1Node {
  /** What asn1parse calls it: "SEQUENCE", "cont [ 1 ]", "OBJECT", … */
  tag: string;
  /** What asn1parse prints after the colon: an OID, an integer, … */
  value: string;
  /** The whole TLV. */
  bytes: Buffer;
  children: Asn1Node[];
}

/** `openssl asn1parse` of `der`, as a tree (children are the lines one level deeper inside a node). */
export function asn1parse(der: Buffer): Asn1Node {
  const result = run('openssl', ['asn1parse', '-inform', 'DER'], der);
  if (result.status !== 0) throw new Error(`openssl asn1parse failed: ${result.stderr}`);
  const root: Asn1Node & { depth: number } = { tag: '', value: '', bytes: der, children: [], depth: -1 };
  const stack = [root];
  for (const line of result.stdout.split('\n')) {
    const match = /^\s*(\d+):d=(\d+)\s+hl=(\d+)\s+l=\s*(\d+)\s+(?:cons|prim):\s*([^:]*?)\s*(?::(.*))?$/.exec(line);
    if (!match) continue;
    const [offset, depth, headerLength, length] = match.slice(1, 5).map(Number);
    const node = {
      tag: match[5].replace(/\s+/g, ' ').replace(/ \[HEX DUMP\]$/, ''),
      value: (match[6] ?? '').trim(),
      bytes: der.subarray(offset, offset + headerLength + length),
      children: [],
      depth,
    };
    while (stack[stack.length - 1].depth >= depth) stack.pop();
    stack[stack.length - 1].children.push(node);
    stack.push(node);
  }
  return root.children[0];
}

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

function tlv(tag: number, content: Buffer): Buffer {
  let length: Buffer;
  if (content.length < 0x80) length = Buffer.from([content.length]);
  else {
    const octets: number[] = [];
    for (let rest = content.length; rest > 0; rest >>= 8) octets.unshift(rest & 0xff);
    length = Buffer.from([0x80 | octets.length, ...octets]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequenceOfHashes = (inputs: Buffer[]): Buffer => tlv(0x30, Buffer.concat(inputs.map((input) => tlv(0x04, sha256(input)))));

export interface ArchiveCheck {
  /** The archive-time-stamp-v3 token (the attribute's value), DER. */
  token: Buffer;
  /** The ats-hash-index-v3 value the token carries. */
  indexInToken: Buffer;
  /** ATSHashIndexV3 recomputed here over the signature's certificates, CRLs and unsigned attributes. */
  recomputedIndex: Buffer;
  /** Index entries (hex) that match no certificate, CRL or unsigned attribute value: §5.5.2 says the index is then invalid. */
  unmatchedEntries: string[];
  counts: { certificates: number; crls: number; attributeValues: number };
  /** The archive imprint recomputed here (hex), over the recomputed index. */
  digest: string;
  /** What `openssl ts -verify -digest <digest> -token_in` said. */
  verify: { status: number; output: string };
}

/**
 * Recomputes the archive time-stamp's imprint of a detached CAdES signature `cms` over content whose
 * SHA-256 is `contentSha256`, and has `openssl ts -verify` check the token against it.
 */
export function checkArchiveTimestamp(cms: Buffer, contentSha256: Buffer, options: { scratch: string; caFile: string; name: string }): ArchiveCheck {
  const contentInfo = asn1parse(cms);
  const signedData = contentInfo.children[1].children[0];
  const [, , encapContentInfo, ...rest] = signedData.children;
  const certificates = rest.find((node) => node.tag === 'cont [ 0 ]')?.children ?? [];
  const crls = rest.find((node) => node.tag === 'cont [ 1 ]')?.children ?? [];
  const signerInfos = rest[rest.length - 1].children;
  if (signerInfos.length !== 1) throw new Error(`expected one SignerInfo, found ${signerInfos.length}`);
  const signerFields = signerInfos[0].children.filter((node) => node.tag !== 'cont [ 1 ]');
  const unsignedAttributes = signerInfos[0].children.find((node) => node.tag === 'cont [ 1 ]')?.children ?? [];

  const archives = unsignedAttributes.filter((attribute) => attribute.children[0].value === ID_AA_ETS_ARCHIVE_TIMESTAMP_V3);
  if (archives.length !== 1 || archives[0].children[1].children.length !== 1) throw new Error('expected one archive-time-stamp-v3 with one value');
  const token = archives[0].children[1].children[0].bytes;

  // The token's own SignerInfo: its unsigned attributes hold exactly one ats-hash-index-v3 with one value.
  const tokenSignedData = asn1parse(token).children[1].children[0];
  const tokenSigner = tokenSignedData.children[tokenSignedData.children.length - 1].children[0];
  const tokenUnsigned = tokenSigner.children.find((node) => node.tag === 'cont [ 1 ]')?.children ?? [];
  const indexes = tokenUnsigned.filter((attribute) => attribute.children[0].value === ID_AA_ATS_HASH_INDEX_V3);
  if (indexes.length !== 1 || indexes[0].children[1].children.length !== 1) throw new Error('expected one ats-hash-index-v3 with one value in the token');
  const indexInToken = indexes[0].children[1].children[0].bytes;

  // §5.5.2: one hash per certificate and CRL (whole TLV), one per attrType ‖ value of every other unsigned attribute.
  const attributeValues = unsignedAttributes
    .filter((attribute) => attribute !== archives[0])
    .flatMap((attribute) => attribute.children[1].children.map((value) => Buffer.concat([attribute.children[0].bytes, value.bytes])));
  const recomputedIndex = tlv(
    0x30,
    Buffer.concat([
      SHA256_ALGORITHM_IDENTIFIER,
      sequenceOfHashes(certificates.map((node) => node.bytes)),
      sequenceOfHashes(crls.map((node) => node.bytes)),
      sequenceOfHashes(attributeValues),
    ]),
  );
  const present = new Set([...certificates.map((node) => node.bytes), ...crls.map((node) => node.bytes), ...attributeValues].map((bytes) => sha256(bytes).toString('hex')));
  const indexTree = asn1parse(indexInToken);
  const unmatchedEntries = indexTree.children
    .slice(1)
    .flatMap((list) => list.children.map((entry) => entry.bytes.subarray(2).toString('hex'))) // OCTET STRING of 32: 2-octet header
    .filter((hex) => !present.has(hex));

  // §5.5.3: eContentType ‖ hash of the content ‖ version … signature of the SignerInfo ‖ ATSHashIndexV3.
  const imprintInput = Buffer.concat([encapContentInfo.children[0].bytes, contentSha256, ...signerFields.map((node) => node.bytes), recomputedIndex]);
  const digest = sha256(imprintInput).toString('hex');
  const tokenFile = join(options.scratch, `${options.name}-archive.tst`);
  writeFileSync(tokenFile, token);
  const verified = run('openssl', ['ts', '-verify', '-digest', digest, '-in', tokenFile, '-token_in', '-CAfile', options.caFile]);
  return {
    token,
    indexInToken,
    recomputedIndex,
    unmatchedEntries,
    counts: { certificates: certificates.length, crls: crls.length, attributeValues: attributeValues.length },
    digest,
    verify: { status: verified.status, output: verified.stdout + verified.stderr },
  };
}
