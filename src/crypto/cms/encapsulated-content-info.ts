import { objectIdentifier, sequence } from './der.js';

/*
 * EncapsulatedContentInfo ::= SEQUENCE {             -- RFC 5652 §5.2
 *   eContentType ContentType,
 *   eContent [0] EXPLICIT OCTET STRING OPTIONAL }
 */

/** A detached signature: eContent is absent, the content travels beside the signature (§5.2). */
export function detachedEncapsulatedContentInfo(eContentType: string): Buffer {
  return sequence(objectIdentifier(eContentType));
}
