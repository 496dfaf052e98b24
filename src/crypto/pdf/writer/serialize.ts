import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, type PdfObject } from '../objects.js';

/*
 * Writes objects in the syntax of ISO 32000-1 §7.3, as a latin1 string (one char per byte): the few
 * objects an incremental update holds are small, and one Buffer.from(…, 'latin1') at the end is the
 * cheapest way to bytes.
 */

export function serializeObject(value: PdfObject): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return serializeNumber(value);
  if (value instanceof PdfName) return serializeName(value);
  if (value instanceof PdfRef) return `${value.num} ${value.gen} R`;
  if (value instanceof PdfString) return serializeString(value);
  if (Array.isArray(value)) return `[${value.map(serializeObject).join(' ')}]`;
  if (value instanceof PdfDict) return serializeDict(value);
  if (value instanceof PdfStream) return serializeStream(value);
  throw new TypeError(`Not a PDF object: ${String(value)}`);
}

function serializeDict(dict: PdfDict): string {
  const parts: string[] = [];
  for (const [key, entry] of dict.entries) parts.push(`${serializeName(PdfName.of(key))} ${serializeObject(entry)}`);
  return `<<${parts.join('\n')}>>`;
}

/** §7.3.8: the dictionary with a direct /Length, then the data exactly as held (already encoded). */
function serializeStream(stream: PdfStream): string {
  const dict = stream.dict.clone().set('Length', stream.dataEnd - stream.dataStart);
  return `${serializeDict(dict)}\nstream\n${stream.rawData.toString('latin1')}\nendstream`;
}

/** §7.3.3: integers as they are; reals in plain decimal notation (no exponent), at most 6 decimals. */
export function serializeNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`A PDF number must be finite, got ${value}`);
  if (Number.isInteger(value)) return String(value);
  const text = value.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

/** §7.3.5: regular characters as they are, everything else (and '#') as #xx. */
export function serializeName(name: PdfName): string {
  let out = '/';
  const value = name.value;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const regular =
      code > 0x20 && code < 0x7f && code !== 0x23 && '()<>[]{}/%'.indexOf(value[i]) < 0;
    out += regular ? value[i] : `#${code.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * §7.3.4: hex strings stay hex; literal strings escape `\`, `(`, `)` and CR (which a reader would turn
 * into LF, §7.3.4.2), and keep every other byte as it is.
 */
export function serializeString(value: PdfString): string {
  if (value.hex) return `<${value.bytes.toString('hex')}>`;
  const text = value.bytes.toString('latin1');
  return `(${text.replace(/[\\()\r]/g, (c) => (c === '\r' ? '\\r' : `\\${c}`))})`;
}
