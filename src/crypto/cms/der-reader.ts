import { readTlv, tags, type Tlv } from './der.js';

/**
 * Reading DER we walk ourselves: our own CMS (to splice unsigned attributes and validation data in without
 * touching the signed bytes) and TimeStampReq, a four-field structure on the TSA's hot path where a hand
 * walk costs microseconds and rejects anything that is not the expected shape. Definite lengths only;
 * tokens from external TSAs, which may be BER, are read with asn1js/pkijs instead.
 */

/** A TLV whose content failed a check; callers turn it into their own error (a TSA rejection, a TypeError). */
export class DerShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerShapeError';
  }
}

/** The structure is well-formed but larger than any real one: refused, not read another way. */
export class DerLimitError extends DerShapeError {}

/** The one TLV that must fill `der` exactly (no trailing bytes). */
export function readWhole(der: Buffer, expectedTag: number, what: string): Tlv {
  const element = readChecked(der, 0, what);
  if (element.tag !== expectedTag) throw new DerShapeError(`${what}: expected tag 0x${hex(expectedTag)}, found 0x${hex(element.tag)}`);
  if (element.end !== der.length) throw new DerShapeError(`${what}: ${der.length - element.end} bytes after the end`);
  return element;
}

/**
 * The TLVs directly inside a constructed `parent`; they must tile its content exactly. More than `max`
 * is refused before they are all collected (a hostile file can pack a million empty elements in 2 MB).
 */
export function childrenOf(der: Buffer, parent: Tlv, what: string, max = 100_000): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readChecked(der, offset, what);
    if (child.end > parent.end) throw new DerShapeError(`${what}: an element runs past its enclosing structure`);
    if (children.length >= max) throw new DerLimitError(`${what}: more than ${max} elements`);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function expectTag(element: Tlv | undefined, tag: number, what: string): Tlv {
  if (!element) throw new DerShapeError(`${what} is missing`);
  if (element.tag !== tag) throw new DerShapeError(`${what}: expected tag 0x${hex(tag)}, found 0x${hex(element.tag)}`);
  return element;
}

export function contentOf(der: Buffer, element: Tlv): Buffer {
  return der.subarray(element.contentStart, element.end);
}

export function encodingOf(der: Buffer, element: Tlv): Buffer {
  return der.subarray(element.start, element.end);
}

/** X.690 §8.19, the inverse of der.ts `objectIdentifier`. */
export function decodeObjectIdentifier(der: Buffer, element: Tlv): string {
  expectTag(element, tags.objectIdentifier, 'OBJECT IDENTIFIER');
  const body = contentOf(der, element);
  if (body.length === 0 || (body[body.length - 1] & 0x80) !== 0) throw new DerShapeError('OBJECT IDENTIFIER is truncated');
  const arcs: bigint[] = [];
  let value = 0n;
  for (const [index, octet] of body.entries()) {
    if (value === 0n && octet === 0x80 && (index === 0 || (body[index - 1] & 0x80) === 0)) {
      throw new DerShapeError('OBJECT IDENTIFIER arc is not minimally encoded');
    }
    value = (value << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0];
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

function readChecked(der: Buffer, offset: number, what: string): Tlv {
  try {
    return readTlv(der, offset);
  } catch (error) {
    throw new DerShapeError(`${what}: ${(error as Error).message}`);
  }
}

function hex(tag: number): string {
  return tag.toString(16).padStart(2, '0');
}
