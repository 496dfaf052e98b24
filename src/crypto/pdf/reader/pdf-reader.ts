import { SignetError } from '../../../errors/signet-error.js';
import { PdfDict, PdfRef, PdfStream, isInteger, type PdfObject } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import { ObjectStream } from './object-stream.js';
import { PdfParser } from './parser.js';
import { recoverCrossReference } from './recovered-xref.js';
import { readCrossReference, type CrossReference, type XrefEntry } from './xref.js';

/**
 * A lazily read PDF (ISO 32000-1 §7.5): the header and the cross-reference chain are read when the
 * reader is opened; objects are parsed only when asked for and then cached. Signing a 5 MB file reads
 * its catalog, the page tree and the form, not its content streams or images.
 *
 * The reader never changes the buffer and never copies it; it knows nothing of signatures.
 */
export class PdfReader {
  /** The header version, e.g. "1.7" (§7.5.2). */
  readonly headerVersion: string;
  readonly xref: CrossReference;
  private readonly cache = new Map<number, PdfObject>();
  private readonly objectStreams = new Map<number, ObjectStream>();
  /** Objects being loaded right now: a /Length that refers back to its own stream must not recurse. */
  private readonly loading = new Set<number>();

  private constructor(
    readonly buffer: Buffer,
    options: { recover?: boolean } = {},
  ) {
    this.headerVersion = readHeader(buffer);
    let xref: CrossReference;
    try {
      xref = readCrossReference(buffer);
    } catch (error) {
      if (!options.recover || !(error instanceof SignetError)) throw error;
      xref = recoverCrossReference(buffer);
      this.recovered = error.message;
    }
    this.xref = xref;
  }

  /** Set when the cross-reference was rebuilt by scanning (openForValidation): why it had to be. */
  readonly recovered?: string;

  /**
   * Opens a PDF. Throws SignetError `invalid_pdf` (no header, no usable cross-reference chain, no
   * catalog) or `encrypted_pdf` (§7.6: the trailer has /Encrypt).
   */
  static open(buffer: Buffer): PdfReader {
    const reader = new PdfReader(buffer);
    if (reader.trailer.has('Encrypt')) {
      throw new SignetError('encrypted_pdf', 'The PDF is encrypted (its trailer has /Encrypt); remove the encryption before signing');
    }
    return reader;
  }

  /**
   * Opens a PDF to validate its signatures, encrypted or not: a signature's /Contents and /ByteRange
   * are never encrypted (ISO 32000-1 §7.6.1), and its structure is readable without the key. Other
   * strings of an encrypted file stay as stored (encrypted).
   */
  static openForValidation(buffer: Buffer): PdfReader {
    return new PdfReader(buffer, { recover: true });
  }

  /** Whether the trailer names an encryption dictionary (§7.6). */
  get encrypted(): boolean {
    return this.trailer.has('Encrypt');
  }

  /** §7.5.5: the newest trailer (for a cross-reference stream, its dictionary). */
  get trailer(): PdfDict {
    return this.xref.newest.trailer;
  }

  /** §7.7.2: the document catalog, /Root of the newest trailer. */
  get catalogRef(): PdfRef {
    const root = this.trailer.get('Root');
    if (!(root instanceof PdfRef)) throw invalidPdf('the trailer has no /Root reference to a catalog');
    return root;
  }

  catalog(): PdfDict {
    const catalog = this.getObject(this.catalogRef);
    if (!(catalog instanceof PdfDict)) throw invalidPdf(`the catalog (object ${this.catalogRef.num}) is not a dictionary`);
    return catalog;
  }

  /** The cross-reference entry of an object number, if the chain has one. */
  entry(num: number): XrefEntry | undefined {
    return this.xref.entries.get(num);
  }

  /** The generation an object number has now: what an update rewriting it must write (§7.5.6). */
  generationOf(num: number): number {
    const entry = this.entry(num);
    return entry?.type === 'offset' ? entry.gen : 0;
  }

  /**
   * §7.3.10: the object a reference points to; a reference to a free or unknown object is null. Objects
   * are cached: treat the result as read-only and clone before changing it.
   */
  getObject(ref: PdfRef | number): PdfObject {
    const num = typeof ref === 'number' ? ref : ref.num;
    const cached = this.cache.get(num);
    if (cached !== undefined) return cached;
    const entry = this.xref.entries.get(num);
    if (!entry || entry.type === 'free') return null;
    if (this.loading.has(num)) throw invalidPdf(`object ${num} refers to itself while being read`);
    this.loading.add(num);
    try {
      const value = entry.type === 'offset' ? this.loadAt(num, entry.offset) : this.loadCompressed(num, entry.stream, entry.index);
      this.cache.set(num, value);
      return value;
    } finally {
      this.loading.delete(num);
    }
  }

  /** Follows references until a direct value (a reference may point to another reference). */
  resolve(value: PdfObject | undefined): PdfObject | undefined {
    for (let hops = 0; value instanceof PdfRef; hops++) {
      if (hops > 32) throw invalidPdf(`reference chain starting at object ${value.num} is too long`);
      value = this.getObject(value);
    }
    return value;
  }

  /** `dict[key]` resolved, as a dictionary or undefined. */
  getDict(dict: PdfDict, key: string): PdfDict | undefined {
    const value = this.resolve(dict.get(key));
    return value instanceof PdfDict ? value : value instanceof PdfStream ? value.dict : undefined;
  }

  private loadAt(num: number, offset: number): PdfObject {
    if (offset >= this.buffer.length) throw invalidPdf(`object ${num} is listed at byte ${offset}, past the end of the file`);
    const parser = new PdfParser(this.buffer, offset);
    let object;
    try {
      object = parser.parseIndirectObject((lengthRef) => {
        // An unreadable /Length is not fatal: the parser then looks for `endstream` (§7.3.8.1 readers do).
        if (this.loading.has(lengthRef.num)) return undefined;
        try {
          const length = this.getObject(lengthRef);
          return isInteger(length) ? length : undefined;
        } catch {
          return undefined;
        }
      });
    } catch (error) {
      if (error instanceof SignetError) {
        throw invalidPdf(`object ${num} at byte ${offset} cannot be read (${error.message.replace(/^Not a readable PDF: /, '')})`, error);
      }
      throw error;
    }
    if (object.num !== num) {
      throw invalidPdf(`the cross-reference lists object ${num} at byte ${offset}, where object ${object.num} starts`);
    }
    return object.value;
  }

  private loadCompressed(num: number, streamNumber: number, index: number): PdfObject {
    let objectStream = this.objectStreams.get(streamNumber);
    if (!objectStream) {
      const entry = this.xref.entries.get(streamNumber);
      if (entry?.type !== 'offset') {
        throw invalidPdf(`object ${num} is in object stream ${streamNumber}, which is not a stored object`);
      }
      const stream = this.getObject(streamNumber);
      if (!(stream instanceof PdfStream)) throw invalidPdf(`object ${streamNumber} should be an object stream`);
      objectStream = new ObjectStream(streamNumber, stream);
      this.objectStreams.set(streamNumber, objectStream);
    }
    return objectStream.get(num, index);
  }
}

/**
 * §7.5.2: the file begins with `%PDF-1.n` or `%PDF-2.n`. Readers tolerate a few bytes of junk before it
 * (§7.5.2 note; Acrobat looks in the first 1024 bytes), but a file whose header is missing or garbled
 * is not taken for a PDF: signing it would put a valid signature on bytes no reader opens the same way.
 */
function readHeader(buffer: Buffer): string {
  const window = buffer.toString('latin1', 0, Math.min(buffer.length, 1024));
  const match = /%PDF-([12]\.\d)/.exec(window);
  if (!match) {
    const start = buffer.toString('latin1', 0, Math.min(buffer.length, 16)).replace(/[^\x20-\x7e]/g, '.');
    throw invalidPdf(`no "%PDF-x.y" header (the file starts with "${start}")`);
  }
  return match[1];
}
