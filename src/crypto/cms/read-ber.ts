import * as asn1js from 'asn1js';

/*
 * asn1js refuses a structure of more than 10,000 nodes by default — a bound meant for hostile input
 * that also stops ordinary signatures: a CAdES-A carries its chain's CRLs, and a CRL with a few
 * thousand entries alone is tens of thousands of nodes (a real 177 KB CAdES-C was refused). Real DER
 * spends at least 4 bytes a node (tag, length and content); the densest hostile encoding spends 2.
 * So the bound grows with the input — a third of its length — and memory stays proportional to what
 * the upload limit already admits, while nesting stays capped at asn1js's 100 levels.
 */

const MIN_NODES = asn1js.DEFAULT_MAX_NODES;

export function berLimits(length: number): { maxNodes: number } {
  return { maxNodes: Math.max(MIN_NODES, Math.ceil(length / 3)) };
}

/** asn1js.fromBER with the node bound scaled to the input. */
export function readBer(bytes: Uint8Array): ReturnType<typeof asn1js.fromBER> {
  return asn1js.fromBER(bytes, berLimits(bytes.length));
}

/** A pkijs structure read with the scaled bound (pkijs's own fromBER uses asn1js's default). */
export function readPkijs<T>(Type: new (parameters: { schema: asn1js.AsnType }) => T, bytes: Uint8Array): T {
  const parsed = readBer(bytes);
  if (parsed.offset === -1) throw new Error(`not BER: ${parsed.result.error || 'unreadable'}`);
  return new Type({ schema: parsed.result });
}
