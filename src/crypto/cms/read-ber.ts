import * as asn1js from 'asn1js';

/*
 * asn1js refuses a structure of more than 10,000 nodes by default — a bound meant for hostile input
 * that also stops ordinary signatures: a CAdES-A carries its chain's CRLs, and a CRL with a few
 * thousand entries alone is tens of thousands of nodes (a real 177 KB CAdES-C was refused). Real DER
 * spends 3 to 10 bytes a node (a CRL entry's reason code is five nodes in 15 bytes); the densest
 * hostile encoding spends 2.
 * So the bound grows with the input — a third of its length — and memory stays proportional to what
 * the upload limit already admits, up to an absolute cap, while nesting stays capped at asn1js's 100
 * levels. Large signatures in DER (a CAdES-A with megabytes of CRLs) do not come here at all: they are
 * read with the DER walker (verify/signed-data-der.ts), which builds no tree.
 */

const MIN_NODES = asn1js.DEFAULT_MAX_NODES;

/** asn1js spends ~860 bytes of heap a node: this many is ~250 MB, what one verification thread may spend on a tree. */
const MAX_NODES = 300_000;

export function berLimits(length: number): { maxNodes: number } {
  return { maxNodes: Math.min(MAX_NODES, Math.max(MIN_NODES, Math.ceil(length / 3))) };
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
