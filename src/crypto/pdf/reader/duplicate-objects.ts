import { invalidPdf } from '../pdf-error.js';
import { PdfParser, isWhitespace, isRegular } from './parser.js';

/**
 * Refuses a file in which one revision defines the same object number twice (ISO 32000-1 §7.3.10: an
 * object identifier is unique within a file version; only a later incremental update may redefine it).
 * Which of the two a reader uses depends on the reader, so the same bytes can show different content
 * in different viewers — what SignServer's REFUSE_DOUBLE_INDIRECT_OBJECTS guards against, and what a
 * signature must not be put on.
 *
 * One pass of Buffer.indexOf over the file for `obj` keywords (native search; measured 0.03 ms for the
 * 134 KB DSS sample.pdf, 0.6 ms for the 2.8 MB pdfa2a-gray.pdf); revisions are told apart by their
 * `%%EOF` markers. A candidate header inside stream data could only
 * be a false alarm if it also parses as a complete object, so a suspected duplicate is parsed before
 * the file is refused.
 */
export function assertNoDuplicateObjects(buffer: Buffer): void {
  const seen = new Map<number, number>(); // object number -> offset of its header in the current revision
  let nextEof = buffer.indexOf('%%EOF', 0, 'latin1');
  let pos = 0;
  for (;;) {
    const at = buffer.indexOf('obj', pos, 'latin1');
    if (at < 0) return;
    pos = at + 3;
    while (nextEof >= 0 && nextEof < at) {
      seen.clear(); // a new revision may redefine objects
      nextEof = buffer.indexOf('%%EOF', nextEof + 5, 'latin1');
    }
    const header = objectHeaderBefore(buffer, at);
    if (header === undefined) continue;
    const previous = seen.get(header.num);
    if (previous === undefined) {
      seen.set(header.num, header.start);
      continue;
    }
    if (parsesAsObject(buffer, previous) && parsesAsObject(buffer, header.start)) {
      throw invalidPdf(
        `object ${header.num} is defined twice in the same revision (bytes ${previous} and ${header.start}); ` +
          'readers disagree on which one counts',
      );
    }
  }
}

/** `num gen obj` ending at `obj` (at offset `at`), preceded by white space or the file start. */
function objectHeaderBefore(buffer: Buffer, at: number): { num: number; start: number } | undefined {
  if (at + 3 < buffer.length && isRegular(buffer[at + 3])) return undefined;
  let pos = at - 1;
  if (pos < 0 || !isWhitespace(buffer[pos])) return undefined;
  while (pos >= 0 && isWhitespace(buffer[pos])) pos--;
  const genEnd = pos;
  while (pos >= 0 && isDigit(buffer[pos])) pos--;
  if (pos === genEnd || pos < 0 || !isWhitespace(buffer[pos])) return undefined;
  while (pos >= 0 && isWhitespace(buffer[pos])) pos--;
  const numEnd = pos;
  while (pos >= 0 && isDigit(buffer[pos])) pos--;
  if (pos === numEnd || numEnd - pos > 10) return undefined;
  if (pos >= 0 && !isWhitespace(buffer[pos])) return undefined;
  let num = 0;
  for (let i = pos + 1; i <= numEnd; i++) num = num * 10 + (buffer[i] - 0x30);
  return { num, start: pos + 1 };
}

function parsesAsObject(buffer: Buffer, start: number): boolean {
  try {
    new PdfParser(buffer, start).parseIndirectObject();
    return true;
  } catch {
    return false;
  }
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}
