import { objectIdentifier, sequence, tags, tlv } from './der.js';

/*
 * ContentInfo ::= SEQUENCE {                         -- RFC 5652 §3
 *   contentType ContentType,
 *   content [0] EXPLICIT ANY DEFINED BY contentType }
 */
export function contentInfo(contentType: string, content: Buffer): Buffer {
  return sequence(objectIdentifier(contentType), tlv(tags.contextConstructed(0), content));
}
