import { isInteger, type PdfObject, type PdfStream } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import { decodeStream } from './filters.js';
import { PdfParser } from './parser.js';

/**
 * An object stream, ISO 32000-1 §7.5.7: /N pairs of integers `objnum offset` (offsets relative to
 * /First), then the objects themselves, none of them a stream. Decoded once, objects parsed on demand.
 */
export class ObjectStream {
  private readonly data: Buffer;
  private readonly first: number;
  private readonly numbers: number[] = [];
  private readonly offsets: number[] = [];

  constructor(
    readonly streamNumber: number,
    stream: PdfStream,
  ) {
    const n = stream.dict.get('N');
    const first = stream.dict.get('First');
    if (!isInteger(n) || n < 0 || !isInteger(first) || first < 0) {
      throw invalidPdf(`object stream ${streamNumber} has no valid /N and /First`);
    }
    this.data = decodeStream(stream);
    this.first = first;
    if (first > this.data.length) throw invalidPdf(`object stream ${streamNumber}: /First is past its data`);
    const header = new PdfParser(this.data, 0, first);
    for (let i = 0; i < n; i++) {
      const num = header.readUnsignedInteger();
      const offset = header.readUnsignedInteger();
      if (num === undefined || offset === undefined) break; // fewer pairs than /N: only those are available
      this.numbers.push(num);
      this.offsets.push(offset);
    }
  }

  /** The object `num`, expected at `index` (the cross-reference's second field, §7.5.8.3 Table 18). */
  get(num: number, index: number): PdfObject {
    let at = index < this.numbers.length && this.numbers[index] === num ? index : this.numbers.indexOf(num);
    if (at < 0) {
      throw invalidPdf(
        `object stream ${this.streamNumber} does not contain object ${num} ` +
          `(index ${index}; the stream lists ${this.numbers.length} objects)`,
      );
    }
    const start = this.first + this.offsets[at];
    if (start >= this.data.length) throw invalidPdf(`object stream ${this.streamNumber}: object ${num} is past its data`);
    return new PdfParser(this.data, start).parseObject();
  }
}
