import { objectIdentifier, sequence, setOf } from './der.js';

/*
 * Attribute ::= SEQUENCE {                           -- RFC 5652 §5.3
 *   attrType OBJECT IDENTIFIER,
 *   attrValues SET OF AttributeValue }
 *
 * AttributeValue ::= ANY
 */
export function attribute(attrType: string, ...attrValues: Buffer[]): Buffer {
  return sequence(objectIdentifier(attrType), setOf(attrValues));
}
