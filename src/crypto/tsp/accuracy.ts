import { sequence, tlv } from '../cms/der.js';
import { unsignedInteger } from '../cms/der-integer.js';

/*
 * Accuracy ::= SEQUENCE {                             -- RFC 3161 §2.4.2
 *       seconds        INTEGER              OPTIONAL,
 *       millis     [0] INTEGER  (1..999)    OPTIONAL,
 *       micros     [1] INTEGER  (1..999)    OPTIONAL  }
 *
 * The module is IMPLICIT TAGS, so millis and micros are primitive context tags 0x80 / 0x81. A missing
 * field counts as zero; DER leaves zeros out rather than encoding them.
 */

/** The Accuracy for a bound given in milliseconds (1 ms .. any number of seconds). */
export function accuracy(accuracyMs: number): Buffer {
  if (!Number.isInteger(accuracyMs) || accuracyMs < 1) throw new RangeError(`Accuracy must be a whole number of milliseconds ≥ 1, got ${accuracyMs}`);
  const seconds = Math.floor(accuracyMs / 1000);
  const millis = accuracyMs % 1000;
  return sequence(
    ...(seconds > 0 ? [unsignedInteger(BigInt(seconds))] : []),
    ...(millis > 0 ? [contextPrimitive(0, unsignedInteger(BigInt(millis)))] : []),
  );
}

/** [n] IMPLICIT INTEGER: the INTEGER's content under a context-specific primitive tag. */
function contextPrimitive(n: number, encodedInteger: Buffer): Buffer {
  return tlv(0x80 + n, encodedInteger.subarray(2)); // an INTEGER of 1..999 has a one-octet length
}

