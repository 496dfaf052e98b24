import { tags, tlv, type Tlv } from './der.js';
import { DerShapeError, contentOf, expectTag } from './der-reader.js';

/*
 * INTEGER, X.690 §8.3: two's complement, big-endian, in the fewest octets — the first nine bits are never
 * all zeros or all ones. Serial numbers and nonces are non-negative, so only that half is encoded here.
 */

/** A non-negative integer given as unsigned big-endian bytes (leading zeros allowed) or a bigint. */
export function unsignedInteger(value: Buffer | bigint): Buffer {
  let bytes = typeof value === 'bigint' ? bigintBytes(value) : value;
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0) first++;
  bytes = bytes.subarray(first);
  if (bytes.length === 0) bytes = Buffer.alloc(1);
  return bytes[0] & 0x80 ? tlv(tags.integer, Buffer.from([0]), bytes) : tlv(tags.integer, bytes);
}

/** True when the INTEGER's content octets are the minimal encoding (§8.3.2). */
export function isMinimalInteger(content: Buffer): boolean {
  if (content.length === 0) return false;
  if (content.length === 1) return true;
  return !((content[0] === 0x00 && (content[1] & 0x80) === 0) || (content[0] === 0xff && (content[1] & 0x80) !== 0));
}

/** Decodes an INTEGER TLV; refuses non-minimal encodings, which DER does not allow. */
export function decodeInteger(der: Buffer, element: Tlv): bigint {
  expectTag(element, tags.integer, 'INTEGER');
  const content = contentOf(der, element);
  if (!isMinimalInteger(content)) throw new DerShapeError('INTEGER is not minimally encoded');
  const magnitude = BigInt(`0x${content.toString('hex')}`);
  return content[0] & 0x80 ? magnitude - (1n << BigInt(content.length * 8)) : magnitude;
}

function bigintBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('Only non-negative integers are encoded here');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}
