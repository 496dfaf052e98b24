import { PdfDict, PdfRef, PdfString, name, type PdfObject } from '../objects.js';
import type { PdfReader } from '../reader/pdf-reader.js';
import { randomIdentifierBytes } from '../../../util/random-identifier-bytes.js';
import { serializeObject } from './serialize.js';

/**
 * An object body already in PDF syntax, written as it is between `N G obj` and `endobj`. Lets a caller
 * lay out bytes it will patch later (it knows where they are from `IncrementalUpdateBytes.bodyOffset`).
 */
export class RawObject {
  constructor(readonly body: Buffer) {}
}

export interface IncrementalUpdateBytes {
  /** The bytes to append to the original file, starting right after its last byte. */
  bytes: Buffer;
  /** Length of the original file: absolute offset of `bytes[0]`. */
  start: number;
  /** Absolute offset (in original + update) of the first byte of object `num`'s body. */
  bodyOffset(num: number): number;
}

/** Trailer keys that describe the cross-reference section itself, not the document (§7.5.5, §7.5.8.2). */
const SECTION_KEYS = new Set(['Size', 'Prev', 'XRefStm', 'Type', 'W', 'Index', 'Filter', 'DecodeParms', 'Length', 'F', 'FFilter', 'FDecodeParms', 'DL']);

/**
 * An incremental update, ISO 32000-1 §7.5.6: new and changed objects appended after the original bytes,
 * then a cross-reference section of the same kind as the file's newest one (a table, §7.5.4, or a
 * stream, §7.5.8) whose trailer carries /Prev to it, and `startxref` / `%%EOF`. Not one byte of the
 * original is changed, so whatever the original's signatures cover stays as it was.
 *
 * The update knows nothing of what the objects mean; signing code sits above it.
 */
export class IncrementalUpdate {
  private readonly objects = new Map<number, { gen: number; value: PdfObject | RawObject }>();
  private nextNumber: number;

  constructor(private readonly reader: PdfReader) {
    // Trailer entries we carry over may point at numbers past /Size (seen in the wild); never reuse them.
    let next = reader.xref.nextObjectNumber;
    for (const value of reader.trailer.entries.values()) next = Math.max(next, highestReference(value, 0) + 1);
    this.nextNumber = next;
  }

  /** A fresh object number (generation 0) for a new object. */
  allocate(): PdfRef {
    return new PdfRef(this.nextNumber++, 0);
  }

  /** Writes `value` as object `ref.num`: a new object, or a new version of an existing one (same generation). */
  put(ref: PdfRef, value: PdfObject | RawObject): void {
    const gen = ref.num < this.reader.xref.nextObjectNumber ? this.reader.generationOf(ref.num) : ref.gen;
    this.objects.set(ref.num, { gen, value });
  }

  has(num: number): boolean {
    return this.objects.has(num);
  }

  /** Serialises the update; `idSuffix` is the second /ID element (§14.4; default: random). */
  build(options: { idSuffix?: Buffer } = {}): IncrementalUpdateBytes {
    const original = this.reader.buffer;
    const start = original.length;
    const chunks: Buffer[] = [];
    let length = 0;
    const push = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    };
    const pushText = (text: string) => push(Buffer.from(text, 'latin1'));

    // The update starts on a line of its own (§7.5.6: it follows the previous %%EOF).
    const last = original[original.length - 1];
    if (last !== 0x0a && last !== 0x0d) pushText('\n');

    const offsets = new Map<number, number>();
    const bodies = new Map<number, number>();
    const numbers = [...this.objects.keys()].sort((a, b) => a - b);
    for (const num of numbers) {
      const { gen, value } = this.objects.get(num)!;
      offsets.set(num, start + length);
      pushText(`${num} ${gen} obj\n`);
      bodies.set(num, start + length);
      if (value instanceof RawObject) push(value.body);
      else pushText(serializeObject(value));
      pushText('\nendobj\n');
    }

    const trailer = this.trailer(options.idSuffix);
    const prev = this.reader.xref.newest.offset;
    const xrefOffset = start + length;
    if (this.reader.xref.newest.kind === 'table') {
      pushText(xrefTable(numbers, offsets, (num) => this.objects.get(num)!.gen));
      trailer.set('Size', this.size()).set('Prev', prev);
      pushText(`trailer\n${serializeObject(trailer)}\n`);
    } else {
      const streamRef = this.allocate();
      offsets.set(streamRef.num, xrefOffset);
      const all = [...numbers, streamRef.num];
      const gens = (num: number) => (num === streamRef.num ? 0 : this.objects.get(num)!.gen);
      const { data, widths, index } = xrefStreamData(all, offsets, gens);
      const dict = new PdfDict([
        ['Type', name('XRef')],
        ['Size', this.size()],
        ['W', widths],
        ['Index', index],
        ['Prev', prev],
        ...trailer.entries,
        ['Length', data.length],
      ]);
      pushText(`${streamRef.num} 0 obj\n${serializeObject(dict)}\nstream\n`);
      push(data);
      pushText('\nendstream\nendobj\n');
    }
    pushText(`startxref\n${xrefOffset}\n%%EOF\n`);

    const bytes = Buffer.concat(chunks, length);
    return {
      bytes,
      start,
      bodyOffset: (num) => {
        const offset = bodies.get(num);
        if (offset === undefined) throw new RangeError(`Object ${num} is not part of this update`);
        return offset;
      },
    };
  }

  private size(): number {
    const previous = this.reader.trailer.get('Size');
    return Math.max(this.nextNumber, typeof previous === 'number' ? previous : 0);
  }

  /**
   * §7.5.6: the update's trailer repeats the previous one's entries (except /Prev, set anew). /ID keeps
   * its first element, the file's permanent identifier; the second changes with every version (§14.4).
   */
  private trailer(idSuffix: Buffer = randomIdentifierBytes(16)): PdfDict {
    const trailer = new PdfDict();
    for (const [key, value] of this.reader.trailer.entries) if (!SECTION_KEYS.has(key)) trailer.set(key, value);
    const id = this.reader.resolve(trailer.get('ID'));
    const first = Array.isArray(id) && id[0] instanceof PdfString ? id[0] : new PdfString(randomIdentifierBytes(16), true);
    trailer.set('ID', [new PdfString(first.bytes, true), new PdfString(idSuffix, true)]);
    return trailer;
  }
}

/** §7.5.4: subsections of consecutive numbers, each entry exactly 20 bytes. */
function xrefTable(numbers: number[], offsets: Map<number, number>, gen: (num: number) => number): string {
  let out = 'xref\n';
  for (const [first, count] of runs(numbers)) {
    out += `${first} ${count}\n`;
    for (let num = first; num < first + count; num++) {
      out += `${String(offsets.get(num)).padStart(10, '0')} ${String(gen(num)).padStart(5, '0')} n \n`;
    }
  }
  return out;
}

/** §7.5.8.3: type 1 entries, /W [1 n 2] with n the bytes the largest offset needs; no filter. */
function xrefStreamData(
  numbers: number[],
  offsets: Map<number, number>,
  gen: (num: number) => number,
): { data: Buffer; widths: number[]; index: number[] } {
  const largest = Math.max(...numbers.map((num) => offsets.get(num)!));
  let offsetWidth = 1;
  while (offsetWidth < 8 && largest >= 2 ** (8 * offsetWidth)) offsetWidth++;
  const entryLength = 1 + offsetWidth + 2;
  const data = Buffer.alloc(numbers.length * entryLength);
  const index: number[] = [];
  let pos = 0;
  for (const [first, count] of runs(numbers)) {
    index.push(first, count);
    for (let num = first; num < first + count; num++) {
      data[pos] = 1;
      data.writeUIntBE(offsets.get(num)!, pos + 1, offsetWidth);
      data.writeUInt16BE(gen(num), pos + 1 + offsetWidth);
      pos += entryLength;
    }
  }
  return { data, widths: [1, offsetWidth, 2], index };
}

/** Sorted numbers as [first, count] runs of consecutive numbers. */
function runs(sorted: number[]): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (const num of sorted) {
    const last = result[result.length - 1];
    if (last && last[0] + last[1] === num) last[1]++;
    else result.push([num, 1]);
  }
  return result;
}

function highestReference(value: PdfObject, depth: number): number {
  if (value instanceof PdfRef) return value.num;
  if (depth > 4) return -1;
  if (Array.isArray(value)) return Math.max(-1, ...value.map((item) => highestReference(item, depth + 1)));
  if (value instanceof PdfDict) return Math.max(-1, ...[...value.entries.values()].map((item) => highestReference(item, depth + 1)));
  return -1;
}
