import type { PdfObject } from '../objects.js';
import { isRegular, isWhitespace, PdfParser } from './parser.js';

/*
 * Content streams, ISO 32000-1 §7.8.2: a sequence of operands (objects, §7.3) each run ended by an
 * operator (a bare keyword). The objects are read with the file parser; the only other syntax is the
 * inline image (§8.9.7), `BI <key value …> ID <binary data> EI`, whose data is skipped.
 */

/** One operator with the operands before it, in order. */
export type ContentVisitor = (operator: string, operands: PdfObject[]) => void | 'stop';

/** More operands than this before one operator is junk, not content; they are dropped. */
const MAX_OPERANDS = 4096;

/**
 * Calls `visit` for each operator of `data` until it answers 'stop' or the data ends. Reading stops
 * quietly at the first thing that is not content syntax (a viewer draws what came before it, too):
 * the answer says whether the whole stream was read.
 */
export function readContentStream(data: Buffer, visit: ContentVisitor): { complete: boolean } {
  const parser = new PdfParser(data);
  let operands: PdfObject[] = [];
  try {
    for (;;) {
      parser.skipWhitespace();
      if (parser.pos >= data.length) return { complete: true };
      const byte = data[parser.pos];
      if (startsObject(byte)) {
        if (operands.length >= MAX_OPERANDS) operands = [];
        operands.push(parser.parseObject());
        continue;
      }
      if (!isRegular(byte)) {
        // A stray delimiter (`]`, `>`, `)`, `{`, `}`): skipped, as viewers do.
        parser.pos++;
        continue;
      }
      const operator = parser.readKeyword();
      if (operator === 'true' || operator === 'false' || operator === 'null') {
        operands.push(operator === 'null' ? null : operator === 'true');
        continue;
      }
      if (operator === 'ID') {
        parser.pos = endOfInlineImage(data, parser.pos);
        operands = [];
        continue;
      }
      if (visit(operator, operands) === 'stop') return { complete: false };
      operands = [];
    }
  } catch {
    // Malformed syntax (an unterminated string, a bad number): the rest of the stream is unreadable.
    return { complete: false };
  }
}

/** §7.3: what can begin an operand: a name, string, hex string or dictionary, array, or number. */
function startsObject(byte: number): boolean {
  return (
    byte === 0x2f || byte === 0x28 || byte === 0x3c || byte === 0x5b ||
    (byte >= 0x30 && byte <= 0x39) || byte === 0x2b || byte === 0x2d || byte === 0x2e
  );
}

/**
 * §8.9.7: after `ID` and one white-space byte come the image bytes, then `EI`. The data length is not
 * given (without decoding the filters), so, as most readers do, the end is the first `EI` with white
 * space (or the start of the data) before it and white space or the end of the data after it.
 */
function endOfInlineImage(data: Buffer, afterId: number): number {
  let from = afterId + 1;
  for (;;) {
    const at = data.indexOf('EI', from, 'latin1');
    if (at < 0) return data.length;
    const before = at === afterId + 1 || isWhitespace(data[at - 1]);
    const after = at + 2 >= data.length || isWhitespace(data[at + 2]);
    if (before && after) return at + 2;
    from = at + 1;
  }
}
