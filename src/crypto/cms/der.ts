/**
 * The few DER (X.690) encoding rules the CMS builder needs, over plain Buffers.
 *
 * Why not asn1js/pkijs objects: building and serialising their object trees is where pkijs spends its
 * time (DESIGN: 4.4 ms per CMS against 0.68 ms for the RSA operation). Our signatures are a handful of
 * fixed structures, most of them precomputed per signer, so concatenating encoded bytes is enough.
 * Parsing of input we did not build stays with asn1js/pkijs; `readTlv` below only walks our own DER
 * certificates.
 */

export const tags = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  objectIdentifier: 0x06,
  enumerated: 0x0a,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  /** [n] IMPLICIT / EXPLICIT with a constructed inner value: 0xa0 + n. */
  contextConstructed: (n: number): number => 0xa0 + n,
} as const;

/** X.690 §8.1.3: short form below 128, otherwise long form with the minimal number of length octets. */
export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = contents.length === 1 ? contents[0] : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export function sequence(...elements: Buffer[]): Buffer {
  return tlv(tags.sequence, ...elements);
}

/**
 * X.690 §11.6: DER orders the elements of a SET OF by their encodings, compared as octet strings with
 * the shorter padded at its end with 0-octets. Buffer.compare differs from that only when one encoding
 * is the other followed by zeros, a pair the rule calls equal, so either order is DER.
 */
export function setOf(elements: Buffer[]): Buffer {
  return tlv(tags.set, ...[...elements].sort(Buffer.compare));
}

export function octetString(value: Buffer): Buffer {
  return tlv(tags.octetString, value);
}

export const derNull: Buffer = Buffer.from([tags.null, 0x00]);

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new RangeError(`Not a small integer: ${value}`);
  return Buffer.from([tags.integer, 0x01, value]);
}

/** X.690 §8.19: first two arcs as 40·a + b, every arc base-128 with continuation bits. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^(0|[1-9][0-9]*)$/.test(arc)) throw new TypeError(`Not an object identifier: "${dotted}"`);
    return BigInt(arc);
  });
  if (arcs.length < 2 || arcs[0] > 2n || (arcs[0] < 2n && arcs[1] > 39n)) {
    throw new TypeError(`Not an object identifier: "${dotted}"`);
  }
  const body: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const groups = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    body.push(...groups);
  }
  return tlv(tags.objectIdentifier, Buffer.from(body));
}

/**
 * Time as RFC 5280 §4.1.2.5 and RFC 5652 §11.3 want it: UTCTime for 1950–2049, GeneralizedTime
 * otherwise; always UTC ("Z"), always with seconds, never fractions (DER forbids trailing zeros and we
 * do not need sub-second precision).
 */
export function time(date: Date): Buffer {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid date');
  const year = date.getUTCFullYear();
  const rest = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join('');
  if (year >= 1950 && year < 2050) {
    return tlv(tags.utcTime, Buffer.from(`${String(year % 100).padStart(2, '0')}${rest}Z`, 'ascii'));
  }
  if (year < 0 || year > 9999) throw new RangeError(`Year ${year} cannot be encoded as GeneralizedTime`);
  return tlv(tags.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}Z`, 'ascii'));
}

/** GeneralizedTime in UTC with seconds and no fractions (X.690 §11.7), whatever the year: what OCSP (RFC 6960 §4.2.2.1) wants. */
export function generalizedTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return tlv(tags.generalizedTime, Buffer.from(`${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`, 'ascii'));
}

export interface Tlv {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one definite-length, single-octet-tag TLV at `offset` (all DER certificates need). */
export function readTlv(der: Buffer, offset: number): Tlv {
  if (offset + 2 > der.length) throw new RangeError('DER truncated');
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) throw new RangeError('Multi-octet DER tags are not supported');
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const lengthOctets = length & 0x7f;
    if (lengthOctets === 0 || lengthOctets > 4) throw new RangeError('Indefinite or oversized DER length');
    length = 0;
    for (let i = 0; i < lengthOctets; i++) length = length * 256 + der[contentStart + i];
    contentStart += lengthOctets;
  }
  const end = contentStart + length;
  if (end > der.length) throw new RangeError('DER truncated');
  return { tag, start: offset, contentStart, end };
}

/** [n] IMPLICIT over a constructed value: same length and content, only the tag octet changes. */
export function implicitConstructed(n: number, encoded: Buffer): Buffer {
  const retagged = Buffer.from(encoded);
  retagged[0] = tags.contextConstructed(n);
  return retagged;
}
