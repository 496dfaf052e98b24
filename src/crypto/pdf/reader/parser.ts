import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, type PdfObject } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import { countBefore, keywordPositions } from './keyword-positions.js';

/*
 * Lexical conventions and objects, ISO 32000-1 §7.2–7.3, read straight from a Buffer: no string copy of
 * the file is ever made, only of the few bytes a number, name or keyword occupies.
 */

/** §7.2.2 Table 1: white-space characters. */
export function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
}

/** §7.2.2 Table 2: delimiter characters ( ) < > [ ] { } / %. */
export function isDelimiter(byte: number): boolean {
  return (
    byte === 0x28 || byte === 0x29 || byte === 0x3c || byte === 0x3e || byte === 0x5b || byte === 0x5d ||
    byte === 0x7b || byte === 0x7d || byte === 0x2f || byte === 0x25
  );
}

export function isRegular(byte: number): boolean {
  return !isWhitespace(byte) && !isDelimiter(byte);
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/** Arrays and dictionaries nested deeper than this are hostile, not documents: refuse before the stack does. */
const MAX_NESTING = 256;

/** Given a `/Length` reference, answers its integer value, or undefined when it cannot (yet) be resolved. */
export type LengthResolver = (ref: PdfRef) => number | undefined;

export interface IndirectObject {
  num: number;
  gen: number;
  value: PdfObject;
}

/**
 * A recursive-descent parser positioned in a buffer. `end` bounds every read: a parser over an object
 * stream's decoded data never reads past it, a parser over the file never past the file.
 */
export class PdfParser {
  pos: number;

  constructor(
    readonly buffer: Buffer,
    start = 0,
    readonly end = buffer.length,
  ) {
    this.pos = start;
  }

  /** §7.2.3–7.2.4: skips white space and comments (a comment runs to the end of its line). */
  skipWhitespace(): void {
    const buffer = this.buffer;
    let pos = this.pos;
    while (pos < this.end) {
      const byte = buffer[pos];
      if (isWhitespace(byte)) {
        pos++;
      } else if (byte === 0x25) {
        while (pos < this.end && buffer[pos] !== 0x0a && buffer[pos] !== 0x0d) pos++;
      } else {
        break;
      }
    }
    this.pos = pos;
  }

  atEnd(): boolean {
    this.skipWhitespace();
    return this.pos >= this.end;
  }

  /** Reads a keyword or other run of regular characters (e.g. `obj`, `xref`, `trailer`) without consuming white space after it. */
  readKeyword(): string {
    this.skipWhitespace();
    const start = this.pos;
    while (this.pos < this.end && isRegular(this.buffer[this.pos])) this.pos++;
    return this.buffer.toString('latin1', start, this.pos);
  }

  /** True and consumed when the next token is exactly `keyword`. */
  tryKeyword(keyword: string): boolean {
    const saved = this.pos;
    if (this.readKeyword() === keyword) return true;
    this.pos = saved;
    return false;
  }

  expectKeyword(keyword: string): void {
    const at = this.pos;
    const found = this.readKeyword();
    if (found !== keyword) {
      throw invalidPdf(`expected "${keyword}" at byte ${at}, found "${truncate(found || this.peekText())}"`);
    }
  }

  /** An unsigned integer without sign or decimal point (object numbers, generations, offsets), or undefined. */
  readUnsignedInteger(): number | undefined {
    this.skipWhitespace();
    const start = this.pos;
    let value = 0;
    while (this.pos < this.end && isDigit(this.buffer[this.pos])) {
      value = value * 10 + (this.buffer[this.pos] - 0x30);
      this.pos++;
    }
    if (this.pos === start || (this.pos < this.end && isRegular(this.buffer[this.pos]))) {
      this.pos = start;
      return undefined;
    }
    return value;
  }

  /**
   * §7.3.10: an indirect object `num gen obj … endobj`. A dictionary followed by `stream` becomes a
   * PdfStream (§7.3.8); `resolveLength` answers an indirect /Length.
   */
  parseIndirectObject(resolveLength?: LengthResolver): IndirectObject {
    const at = this.pos;
    const num = this.readUnsignedInteger();
    const gen = num === undefined ? undefined : this.readUnsignedInteger();
    if (num === undefined || gen === undefined || !this.tryKeyword('obj')) {
      throw invalidPdf(`no object header ("N G obj") at byte ${at}: "${truncate(this.peekText(at))}"`);
    }
    let value = this.parseObject();
    if (value instanceof PdfDict && this.tryKeyword('stream')) value = this.readStreamData(value, resolveLength);
    // `endobj` is not checked: writers forget it often enough, and nothing after the value matters here.
    return { num, gen, value };
  }

  /** §7.3: one direct object at the current position. */
  parseObject(depth = 0): PdfObject {
    if (depth > MAX_NESTING) throw invalidPdf(`objects nested more than ${MAX_NESTING} deep at byte ${this.pos}`);
    this.skipWhitespace();
    if (this.pos >= this.end) throw invalidPdf('unexpected end of data while reading an object');
    const buffer = this.buffer;
    const byte = buffer[this.pos];
    switch (byte) {
      case 0x2f: // '/'
        return this.readName();
      case 0x28: // '('
        return this.readLiteralString();
      case 0x3c: // '<'
        if (buffer[this.pos + 1] === 0x3c) return this.readDictionary(depth);
        return this.readHexString();
      case 0x5b: // '['
        return this.readArray(depth);
      default:
        break;
    }
    if (isDigit(byte) || byte === 0x2b || byte === 0x2d || byte === 0x2e) return this.readNumberOrReference();
    const at = this.pos;
    const keyword = this.readKeyword();
    if (keyword === 'true') return true;
    if (keyword === 'false') return false;
    if (keyword === 'null') return null;
    throw invalidPdf(`unexpected "${truncate(keyword || String.fromCharCode(byte))}" at byte ${at}`);
  }

  /** §7.3.3 numbers; an unsigned integer followed by `gen R` is a reference (§7.3.10). */
  private readNumberOrReference(): PdfObject {
    const start = this.pos;
    const first = this.readNumber();
    if (Number.isInteger(first) && first >= 0 && isDigit(this.buffer[start])) {
      const afterFirst = this.pos;
      const gen = this.readUnsignedInteger();
      if (gen !== undefined) {
        this.skipWhitespace();
        if (
          this.buffer[this.pos] === 0x52 && // 'R'
          (this.pos + 1 >= this.end || !isRegular(this.buffer[this.pos + 1]))
        ) {
          this.pos++;
          return new PdfRef(first, gen);
        }
      }
      this.pos = afterFirst;
    }
    return first;
  }

  private readNumber(): number {
    const buffer = this.buffer;
    const start = this.pos;
    let pos = start;
    let negative = false;
    if (buffer[pos] === 0x2b || buffer[pos] === 0x2d) {
      negative = buffer[pos] === 0x2d;
      pos++;
    }
    // Digits into one integer, divided once at the end: 595.275574 reads as exactly that double.
    let mantissa = 0;
    let digits = 0;
    let decimals = 0;
    while (pos < this.end && isDigit(buffer[pos])) {
      mantissa = mantissa * 10 + (buffer[pos] - 0x30);
      pos++;
      digits++;
    }
    if (buffer[pos] === 0x2e) {
      pos++;
      while (pos < this.end && isDigit(buffer[pos])) {
        mantissa = mantissa * 10 + (buffer[pos] - 0x30);
        pos++;
        digits++;
        decimals++;
      }
    }
    const value = decimals === 0 ? mantissa : mantissa / 10 ** decimals;
    // Some writers emit "--5" or "5-"; §7.3.3 has no such thing, and we only read numbers we need.
    if (digits === 0) throw invalidPdf(`malformed number at byte ${start}`);
    this.pos = pos;
    return negative ? -value : value;
  }

  /** §7.3.5: `/Name` with #xx escapes. */
  private readName(): PdfName {
    const buffer = this.buffer;
    const start = ++this.pos;
    while (this.pos < this.end && isRegular(buffer[this.pos])) this.pos++;
    const raw = buffer.toString('latin1', start, this.pos);
    if (!raw.includes('#')) return PdfName.of(raw);
    return PdfName.of(raw.replace(/#([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  }

  /** §7.3.4.2: balanced parentheses, backslash escapes, end-of-line normalisation. */
  private readLiteralString(): PdfString {
    const buffer = this.buffer;
    const start = ++this.pos;
    // Fast path: no escapes, no CR, balanced parentheses — the bytes are the string.
    let depth = 1;
    let pos = start;
    let simple = true;
    for (; pos < this.end; pos++) {
      const byte = buffer[pos];
      if (byte === 0x5c || byte === 0x0d) {
        simple = false;
        break;
      }
      if (byte === 0x28) depth++;
      else if (byte === 0x29 && --depth === 0) break;
    }
    if (simple) {
      if (pos >= this.end) throw invalidPdf(`unterminated string starting at byte ${start - 1}`);
      this.pos = pos + 1;
      return new PdfString(Buffer.from(buffer.subarray(start, pos)));
    }
    const out: number[] = [];
    depth = 1;
    pos = start;
    while (pos < this.end) {
      const byte = buffer[pos++];
      if (byte === 0x5c) {
        if (pos >= this.end) break;
        const next = buffer[pos++];
        switch (next) {
          case 0x6e: out.push(0x0a); break; // \n
          case 0x72: out.push(0x0d); break; // \r
          case 0x74: out.push(0x09); break; // \t
          case 0x62: out.push(0x08); break; // \b
          case 0x66: out.push(0x0c); break; // \f
          case 0x0d: // backslash + EOL: the line continues, nothing is added
            if (buffer[pos] === 0x0a) pos++;
            break;
          case 0x0a:
            break;
          default:
            if (next >= 0x30 && next <= 0x37) {
              let code = next - 0x30;
              for (let i = 0; i < 2 && buffer[pos] >= 0x30 && buffer[pos] <= 0x37; i++) code = code * 8 + (buffer[pos++] - 0x30);
              out.push(code & 0xff);
            } else {
              out.push(next); // \( \) \\ and any other character stand for themselves
            }
        }
      } else if (byte === 0x0d) {
        out.push(0x0a); // CR and CR LF read as LF
        if (buffer[pos] === 0x0a) pos++;
      } else {
        if (byte === 0x28) depth++;
        else if (byte === 0x29 && --depth === 0) {
          this.pos = pos;
          return new PdfString(Buffer.from(out));
        }
        out.push(byte);
      }
    }
    throw invalidPdf(`unterminated string starting at byte ${start - 1}`);
  }

  /** §7.3.4.3: hexadecimal string; white space ignored, an odd final digit is followed by 0. */
  private readHexString(): PdfString {
    const buffer = this.buffer;
    const start = ++this.pos;
    const close = buffer.indexOf(0x3e, start);
    if (close < 0 || close >= this.end) throw invalidPdf(`unterminated hex string starting at byte ${start - 1}`);
    const out = Buffer.allocUnsafe((close - start + 1) >> 1);
    let length = 0;
    let high = -1;
    for (let pos = start; pos < close; pos++) {
      const byte = buffer[pos];
      if (isWhitespace(byte)) continue;
      const nibble = hexValue(byte);
      if (nibble < 0) throw invalidPdf(`invalid character in hex string at byte ${pos}`);
      if (high < 0) high = nibble;
      else {
        out[length++] = (high << 4) | nibble;
        high = -1;
      }
    }
    if (high >= 0) out[length++] = high << 4;
    this.pos = close + 1;
    return new PdfString(out.subarray(0, length), true);
  }

  private readArray(depth: number): PdfObject[] {
    const start = this.pos++;
    const items: PdfObject[] = [];
    for (;;) {
      this.skipWhitespace();
      if (this.pos >= this.end) throw invalidPdf(`unterminated array starting at byte ${start}`);
      if (this.buffer[this.pos] === 0x5d) {
        this.pos++;
        return items;
      }
      items.push(this.parseObject(depth + 1));
    }
  }

  /** §7.3.7: `<< /Key value … >>`; a later duplicate key wins, as in most readers. */
  private readDictionary(depth: number): PdfDict {
    const start = this.pos;
    this.pos += 2;
    const dict = new PdfDict();
    for (;;) {
      this.skipWhitespace();
      if (this.pos >= this.end) throw invalidPdf(`unterminated dictionary starting at byte ${start}`);
      const byte = this.buffer[this.pos];
      if (byte === 0x3e && this.buffer[this.pos + 1] === 0x3e) {
        this.pos += 2;
        return dict;
      }
      if (byte !== 0x2f) throw invalidPdf(`dictionary key is not a name at byte ${this.pos} (dictionary at byte ${start})`);
      const key = this.readName().value;
      dict.set(key, this.parseObject(depth + 1));
    }
  }

  /**
   * §7.3.8.1: after `stream` comes CRLF or LF (a lone CR is tolerated), then /Length bytes, then
   * `endstream`. A /Length that is missing, unresolvable or wrong falls back to the next `endstream`.
   */
  private readStreamData(dict: PdfDict, resolveLength?: LengthResolver): PdfStream {
    const buffer = this.buffer;
    let dataStart = this.pos;
    if (buffer[dataStart] === 0x0d) dataStart++;
    if (buffer[dataStart] === 0x0a) dataStart++;
    const declared = dict.get('Length');
    let length: number | undefined;
    if (typeof declared === 'number') length = declared;
    else if (declared instanceof PdfRef && resolveLength) length = resolveLength(declared);
    if (length !== undefined && Number.isInteger(length) && length >= 0 && dataStart + length <= this.end) {
      const after = dataStart + length;
      if (startsWithKeyword(buffer, skipEol(buffer, after, this.end), 'endstream')) {
        this.pos = skipEol(buffer, after, this.end) + 9;
        return new PdfStream(dict, buffer, dataStart, after);
      }
    }
    const endstream = nextEndstream(buffer, dataStart);
    if (endstream < 0 || endstream >= this.end) throw invalidPdf(`stream at byte ${dataStart} has no "endstream"`);
    let dataEnd = endstream;
    if (buffer[dataEnd - 1] === 0x0a) dataEnd--;
    if (buffer[dataEnd - 1] === 0x0d) dataEnd--;
    this.pos = endstream + 9;
    return new PdfStream(dict, buffer, dataStart, Math.max(dataStart, dataEnd));
  }

  private peekText(at = this.pos): string {
    return this.buffer.toString('latin1', at, Math.min(this.end, at + 24));
  }
}

function skipEol(buffer: Buffer, pos: number, end: number): number {
  while (pos < end && isWhitespace(buffer[pos])) pos++;
  return pos;
}

function startsWithKeyword(buffer: Buffer, pos: number, keyword: string): boolean {
  for (let i = 0; i < keyword.length; i++) if (buffer[pos + i] !== keyword.charCodeAt(i)) return false;
  return true;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

function truncate(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '.');
  return printable.length > 24 ? `${printable.slice(0, 24)}…` : printable;
}

/** Every `endstream` of a buffer, found the first time a stream's /Length cannot be used (keyword-positions.ts). */
const endstreamPositions = new WeakMap<Buffer, number[]>();

/** The first `endstream` at or after `from`, or -1. */
function nextEndstream(buffer: Buffer, from: number): number {
  let positions = endstreamPositions.get(buffer);
  if (!positions) {
    positions = keywordPositions(buffer, 'endstream');
    endstreamPositions.set(buffer, positions);
  }
  return positions[countBefore(positions, from)] ?? -1;
}
