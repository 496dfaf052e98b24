/**
 * The PDF object model (ISO 32000-1 §7.3), shared by the reader and the incremental writer.
 *
 * Values stay close to the bytes they came from: strings keep their raw bytes (§7.3.4, no decoding of
 * text encodings here), names their decoded bytes as a latin1 string (§7.3.5), streams a view of the
 * original file (§7.3.8), so an object read and written again changes only what the caller changed.
 */

/** §7.3.5: a name; `value` holds the bytes after #xx decoding, one latin1 char per byte. Interned. */
export class PdfName {
  private static readonly table = new Map<string, PdfName>();
  private constructor(readonly value: string) {}

  static of(value: string): PdfName {
    let name = PdfName.table.get(value);
    if (!name) {
      name = new PdfName(value);
      // The table only grows with names we meet; bound it so hostile input cannot make it grow forever.
      if (PdfName.table.size < 100_000) PdfName.table.set(value, name);
    }
    return name;
  }

  toString(): string {
    return `/${this.value}`;
  }
}

/** §7.3.4: a string; `bytes` are the string's bytes after escape / hex decoding. */
export class PdfString {
  constructor(
    readonly bytes: Buffer,
    /** Written as <hex> rather than (literal) when serialised again. */
    readonly hex = false,
  ) {}

  /** The bytes as latin1, for comparing short ASCII values such as field names. */
  get latin1(): string {
    return this.bytes.toString('latin1');
  }
}

/** §7.3.10: an indirect reference `num gen R`. */
export class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}

  toString(): string {
    return `${this.num} ${this.gen} R`;
  }
}

/** §7.3.7: a dictionary; keys are name values (without the slash), insertion order is kept. */
export class PdfDict {
  readonly entries: Map<string, PdfObject>;

  constructor(entries?: Iterable<[string, PdfObject]>) {
    this.entries = new Map(entries);
  }

  get(key: string): PdfObject | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: PdfObject): this {
    this.entries.set(key, value);
    return this;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** A shallow copy: the caller may change the copy's entries without touching the cached original. */
  clone(): PdfDict {
    return new PdfDict(this.entries);
  }
}

/**
 * §7.3.8: a stream. The data stays where it is in the file (`source[dataStart, dataEnd)`); decoding is
 * the reader's business (filters.ts).
 */
export class PdfStream {
  constructor(
    readonly dict: PdfDict,
    readonly source: Buffer,
    readonly dataStart: number,
    readonly dataEnd: number,
  ) {}

  get rawData(): Buffer {
    return this.source.subarray(this.dataStart, this.dataEnd);
  }
}

/** §7.3: null, boolean, numbers (integer and real alike), names, strings, arrays, dictionaries, streams, references. */
export type PdfObject = null | boolean | number | PdfName | PdfString | PdfObject[] | PdfDict | PdfStream | PdfRef;

export function isName(value: PdfObject | undefined, name?: string): value is PdfName {
  return value instanceof PdfName && (name === undefined || value.value === name);
}

export function isDict(value: PdfObject | undefined): value is PdfDict {
  return value instanceof PdfDict;
}

export function isRef(value: PdfObject | undefined): value is PdfRef {
  return value instanceof PdfRef;
}

export function isInteger(value: PdfObject | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** A name object, short to write: `name('Sig')` is `/Sig`. */
export function name(value: string): PdfName {
  return PdfName.of(value);
}

/**
 * §7.9.2.2: a text string. Printable ASCII is the same in PDFDocEncoding and is written as it is;
 * anything else is UTF-16BE with the byte order mark, which every reader accepts.
 */
export function textString(text: string): PdfString {
  if (/^[\x20-\x7e]*$/.test(text)) return new PdfString(Buffer.from(text, 'latin1'));
  const utf16 = Buffer.alloc(2 + text.length * 2);
  utf16[0] = 0xfe;
  utf16[1] = 0xff;
  for (let i = 0; i < text.length; i++) utf16.writeUInt16BE(text.charCodeAt(i), 2 + i * 2);
  return new PdfString(utf16, true);
}

/** §7.9.2.2: reads a text string back (UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0), else PDFDocEncoding as latin1). */
export function decodeTextString(value: PdfString): string {
  const bytes = value.bytes;
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    let text = '';
    for (let i = 2; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i));
    return text;
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return bytes.subarray(3).toString('utf8');
  }
  return bytes.toString('latin1');
}

/** §7.9.4: a date string `D:YYYYMMDDHHmmSSZ`, always in UTC. */
export function pdfDate(date: Date): PdfString {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid date');
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const text =
    `D:${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  return new PdfString(Buffer.from(text, 'latin1'));
}
