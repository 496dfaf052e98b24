import { implicitConstructed, setOf } from './der.js';

/*
 * UnsignedAttributes ::= SET SIZE (1..MAX) OF Attribute     -- RFC 5652 §5.3
 *
 * Stored in SignerInfo as unsignedAttrs [1] IMPLICIT. Outside the signature, so adding one (a signature
 * time-stamp, later an archive time-stamp) leaves the signed bytes alone.
 */
export function unsignedAttributes(attributes: Buffer[]): Buffer {
  if (attributes.length === 0) throw new RangeError('UnsignedAttributes has at least one attribute');
  return implicitConstructed(1, setOf(attributes));
}
