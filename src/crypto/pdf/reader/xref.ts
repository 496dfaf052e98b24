import { PdfDict, PdfStream, isInteger, isName, type PdfObject } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import { decodeStream } from './filters.js';
import { PdfParser, isWhitespace } from './parser.js';

/*
 * The cross-reference chain, ISO 32000-1 §7.5.4 (tables), §7.5.5 (trailer), §7.5.6 (incremental updates,
 * /Prev), §7.5.8 (cross-reference streams) and §7.5.8.4 (hybrid-reference files, /XRefStm).
 */

/** §7.5.4 / §7.5.8.3 Table 18: what the cross-reference says about one object number. */
export type XrefEntry =
  | { readonly type: 'free' }
  | { readonly type: 'offset'; readonly offset: number; readonly gen: number }
  | { readonly type: 'compressed'; readonly stream: number; readonly index: number };

export interface XrefSection {
  /** A classic `xref` table (possibly with /XRefStm) or a cross-reference stream. */
  kind: 'table' | 'stream';
  /** Byte offset of the section: of `xref`, or of the stream's `N G obj`. */
  offset: number;
  trailer: PdfDict;
}

export interface CrossReference {
  /** Every object number the chain knows, resolved newest section first. */
  entries: Map<number, XrefEntry>;
  /** The newest section (what `startxref` points to); its kind decides the kind of an update. */
  newest: XrefSection;
  /** Newest first. */
  sections: XrefSection[];
  /** One more than the largest object number the chain or the newest trailer's /Size mentions. */
  nextObjectNumber: number;
}

/** A chain longer than this is a loop or an attack, not a document history. */
const MAX_SECTIONS = 10_000;
/** `startxref` is at the end; we look this far back for it. */
const STARTXREF_WINDOW = 4096;

/** §7.5.5: the last `startxref` of the file gives the offset of the newest cross-reference section. */
export function findStartxref(buffer: Buffer): number {
  const searchFrom = Math.max(0, buffer.length - STARTXREF_WINDOW);
  const at = buffer.lastIndexOf('startxref', buffer.length, 'latin1');
  if (at < searchFrom) {
    throw invalidPdf('no "startxref" near the end of the file (truncated or not a PDF)');
  }
  const parser = new PdfParser(buffer, at + 9);
  const offset = parser.readUnsignedInteger();
  if (offset === undefined) throw invalidPdf(`"startxref" at byte ${at} is not followed by an offset`);
  return offset;
}

export function readCrossReference(buffer: Buffer): CrossReference {
  const entries = new Map<number, XrefEntry>();
  const sections: XrefSection[] = [];
  const visited = new Set<number>();
  const hybridStreams = new Set<number>();
  let maxNumber = -1;
  const add = (num: number, entry: XrefEntry) => {
    if (!entries.has(num)) entries.set(num, entry);
    if (num > maxNumber) maxNumber = num;
  };

  let next: number | undefined = findStartxref(buffer);
  let isNewest = true;
  while (next !== undefined) {
    if (sections.length >= MAX_SECTIONS) throw invalidPdf(`more than ${MAX_SECTIONS} cross-reference sections`);
    const offset = locateSection(buffer, next, isNewest ? 'startxref' : '/Prev');
    if (visited.has(offset)) throw invalidPdf(`the /Prev chain loops back to byte ${offset}`);
    visited.add(offset);
    const section = readSection(buffer, offset, add);
    if (section.kind === 'table') {
      // §7.5.8.4: in a hybrid file the table's entries come first, then the /XRefStm stream's, then /Prev.
      // (Tracked apart from the /Prev chain: a file may also reach that stream through /Prev.)
      const hybrid = section.trailer.get('XRefStm');
      if (isInteger(hybrid) && !hybridStreams.has(hybrid)) {
        hybridStreams.add(hybrid);
        readSection(buffer, locateSection(buffer, hybrid, '/XRefStm'), add, 'stream');
      }
    }
    sections.push(section);
    const prev = section.trailer.get('Prev');
    if (prev !== undefined && !isInteger(prev)) throw invalidPdf(`the trailer /Prev at byte ${offset} is not an offset`);
    next = prev as number | undefined;
    isNewest = false;
  }

  const newest = sections[0];
  const size = newest.trailer.get('Size');
  const nextObjectNumber = Math.max(maxNumber + 1, isInteger(size) ? size : 0);
  return { entries, newest, sections, nextObjectNumber };
}

/**
 * Where a section really starts. Lenient readers accept an offset that lands on white space before the
 * section (an off-by-one `startxref`), so do we; anything else is not a section.
 */
function locateSection(buffer: Buffer, offset: number, what: string): number {
  if (!Number.isInteger(offset) || offset < 0 || offset >= buffer.length) {
    throw invalidPdf(`${what} offset ${offset} is outside the file (${buffer.length} bytes)`);
  }
  let pos = offset;
  while (pos < buffer.length && isWhitespace(buffer[pos])) pos++;
  if (startsWith(buffer, pos, 'xref')) return pos;
  if (buffer[pos] >= 0x30 && buffer[pos] <= 0x39) return pos; // `N G obj` of a cross-reference stream, checked by readSection
  throw invalidPdf(
    `${what} points to byte ${offset}, where there is no cross-reference section ` +
      `("${buffer.toString('latin1', offset, Math.min(buffer.length, offset + 16)).replace(/[^\x20-\x7e]/g, '.')}")`,
  );
}

function readSection(
  buffer: Buffer,
  offset: number,
  add: (num: number, entry: XrefEntry) => void,
  expect?: 'stream',
): XrefSection {
  if (startsWith(buffer, offset, 'xref') && expect !== 'stream') {
    return { kind: 'table', offset, trailer: readTable(buffer, offset, add) };
  }
  const parser = new PdfParser(buffer, offset);
  let value: PdfObject;
  try {
    value = parser.parseIndirectObject().value;
  } catch (error) {
    throw invalidPdf(`no cross-reference section at byte ${offset}: ${(error as Error).message}`, error);
  }
  if (!(value instanceof PdfStream) || !isName(value.dict.get('Type'), 'XRef')) {
    throw invalidPdf(`the object at byte ${offset} is not a cross-reference stream (/Type /XRef)`);
  }
  readStreamEntries(value, add);
  return { kind: 'stream', offset, trailer: value.dict };
}

/** §7.5.4: `xref`, subsections `first count` of 20-byte entries `nnnnnnnnnn ggggg n|f EOL`, then §7.5.5 `trailer`. */
function readTable(buffer: Buffer, offset: number, add: (num: number, entry: XrefEntry) => void): PdfDict {
  const parser = new PdfParser(buffer, offset + 4);
  for (;;) {
    const at = parser.pos;
    const first = parser.readUnsignedInteger();
    if (first === undefined) {
      parser.pos = at;
      parser.expectKeyword('trailer');
      const trailer = parser.parseObject();
      if (!(trailer instanceof PdfDict)) throw invalidPdf(`the trailer after byte ${parser.pos} is not a dictionary`);
      return trailer;
    }
    const count = parser.readUnsignedInteger();
    if (count === undefined) throw invalidPdf(`malformed cross-reference subsection header at byte ${at}`);
    if (count > buffer.length / 18) throw invalidPdf(`cross-reference subsection at byte ${at} claims ${count} entries`);
    // Skip to the end of the header line: entries start on the next line.
    while (parser.pos < buffer.length && buffer[parser.pos] !== 0x0a && buffer[parser.pos] !== 0x0d) parser.pos++;
    while (parser.pos < buffer.length && isWhitespace(buffer[parser.pos])) parser.pos++;
    readSubsection(buffer, parser, first, count, add);
  }
}

function readSubsection(
  buffer: Buffer,
  parser: PdfParser,
  first: number,
  count: number,
  add: (num: number, entry: XrefEntry) => void,
): void {
  let start = first;
  for (let i = 0; i < count; i++) {
    const pos = parser.pos;
    if (!isFixedEntry(buffer, pos)) {
      // Lenient readers guess at such rows, and disagree (qpdf warns, MuPDF rebuilds the whole table).
      // An update must chain to this table with /Prev, so the damage would stay in the signed file: refuse.
      throw invalidPdf(
        `cross-reference entry for object ${start + i} at byte ${pos} is not a 20-byte row (§7.5.4): ` +
          `"${buffer.toString('latin1', pos, Math.min(buffer.length, pos + 20)).replace(/[^\x20-\x7e]/g, '.')}"`,
      );
    }
    const offset = readDigits(buffer, pos, 10);
    const gen = readDigits(buffer, pos + 11, 5);
    const kind = buffer[pos + 17];
    parser.pos = pos + 20;
    // A known writer bug: a table meant to start at object 0 declared as starting at 1.
    if (i === 0 && first === 1 && kind === 0x66 && gen === 65535 && offset === 0) start = 0;
    const num = start + i;
    add(num, kind === 0x6e ? { type: 'offset', offset, gen } : { type: 'free' });
  }
}

function isFixedEntry(buffer: Buffer, pos: number): boolean {
  if (pos + 20 > buffer.length) return false;
  for (let i = 0; i < 10; i++) if (!isDigitAt(buffer, pos + i)) return false;
  if (buffer[pos + 10] !== 0x20) return false;
  for (let i = 11; i < 16; i++) if (!isDigitAt(buffer, pos + i)) return false;
  const kind = buffer[pos + 17];
  // The two-character end of line: SP CR, SP LF or CR LF.
  const eol1 = buffer[pos + 18];
  const eol2 = buffer[pos + 19];
  const eol = (eol1 === 0x20 && (eol2 === 0x0d || eol2 === 0x0a)) || (eol1 === 0x0d && eol2 === 0x0a);
  return buffer[pos + 16] === 0x20 && (kind === 0x6e || kind === 0x66) && eol;
}

function isDigitAt(buffer: Buffer, pos: number): boolean {
  return buffer[pos] >= 0x30 && buffer[pos] <= 0x39;
}

function readDigits(buffer: Buffer, pos: number, width: number): number {
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 10 + (buffer[pos + i] - 0x30);
  return value;
}

/** §7.5.8.2–7.5.8.3: /W field widths, /Index subsections (default `[0 Size]`), big-endian fields. */
function readStreamEntries(stream: PdfStream, add: (num: number, entry: XrefEntry) => void): void {
  const dict = stream.dict;
  const widths = dict.get('W');
  if (!Array.isArray(widths) || widths.length < 3 || !widths.every((w) => isInteger(w) && w >= 0 && w <= 8)) {
    throw invalidPdf('cross-reference stream has no valid /W');
  }
  const [w1, w2, w3] = widths as number[];
  const entryLength = w1 + w2 + w3;
  if (entryLength === 0) throw invalidPdf('cross-reference stream /W is all zero');
  const size = dict.get('Size');
  const index = dict.get('Index') ?? [0, isInteger(size) ? size : 0];
  if (!Array.isArray(index) || index.length % 2 !== 0 || !index.every((n) => isInteger(n) && n >= 0)) {
    throw invalidPdf('cross-reference stream /Index is malformed');
  }
  const data = decodeStream(stream);
  let pos = 0;
  for (let i = 0; i < index.length; i += 2) {
    const first = index[i] as number;
    const count = index[i + 1] as number;
    if (pos + count * entryLength > data.length) {
      throw invalidPdf(`cross-reference stream is shorter than its /Index declares (${data.length} bytes)`);
    }
    for (let n = 0; n < count; n++) {
      const type = w1 === 0 ? 1 : readField(data, pos, w1);
      const field2 = readField(data, pos + w1, w2);
      const field3 = readField(data, pos + w1 + w2, w3);
      pos += entryLength;
      const num = first + n;
      if (type === 0) add(num, { type: 'free' });
      else if (type === 1) add(num, { type: 'offset', offset: field2, gen: field3 });
      else if (type === 2) add(num, { type: 'compressed', stream: field2, index: field3 });
      // §7.5.8.3: other types are references to the null object; no entry is recorded for them.
    }
  }
}

function readField(data: Buffer, pos: number, width: number): number {
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + data[pos + i];
  return value;
}

function startsWith(buffer: Buffer, pos: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buffer[pos + i] !== text.charCodeAt(i)) return false;
  return true;
}
