import { invalidPdf } from '../pdf-error.js';
import { countBefore, keywordPositions } from './keyword-positions.js';
import { PdfParser, isWhitespace, isRegular } from './parser.js';

/**
 * Refuses a file in which one revision defines the same object number twice (ISO 32000-1 §7.3.10: an
 * object identifier is unique within a file version; only a later incremental update may redefine it).
 * Which of the two a reader uses depends on the reader, so the same bytes can show different content
 * in different viewers — what SignServer's REFUSE_DOUBLE_INDIRECT_OBJECTS guards against, and what a
 * signature must not be put on.
 *
 * One pass of Buffer.indexOf over the file for `obj` keywords (native search; measured 9 µs for a
 * 200 KB PDF, 0.1 ms for the 2.8 MB pdfa2a-gray.pdf). Revisions are told apart by their `%%EOF`
 * markers, looked for only once an object number repeats: a file of one revision (most of them) is
 * read once, not twice. A candidate header inside stream data could only be a false alarm if it also
 * parses as a complete object, so a suspected duplicate is parsed before the file is refused.
 */
export function assertNoDuplicateObjects(buffer: Buffer): void {
  const latest = new Map<number, number>(); // object number -> offset of its newest header
  let revisionEnds: number[] | undefined;
  let pos = 0;
  for (;;) {
    const at = buffer.indexOf('obj', pos, 'latin1');
    if (at < 0) return;
    pos = at + 3;
    const header = objectHeaderBefore(buffer, at);
    if (header === undefined) continue;
    const previous = latest.get(header.num);
    if (previous === undefined) {
      latest.set(header.num, header.start);
      continue;
    }
    revisionEnds ??= keywordPositions(buffer, '%%EOF');
    // A later revision may redefine an object (§7.5.6); the same revision may not.
    if (countBefore(revisionEnds, previous) !== countBefore(revisionEnds, header.start)) {
      latest.set(header.num, header.start);
      continue;
    }
    // A header that does not parse (in stream data, a comment) is no definition: it neither counts as a
    // duplicate nor hides the one before it from the next.
    if (!parsesAsObject(buffer, header.start)) continue;
    if (!parsesAsObject(buffer, previous)) {
      latest.set(header.num, header.start);
      continue;
    }
    throw invalidPdf(
      `object ${header.num} is defined twice in the same revision (bytes ${previous} and ${header.start}); ` +
        'readers disagree on which one counts',
    );
  }
}

/** `num gen obj` ending at `obj` (at offset `at`), preceded by white space or the file start. */
export function objectHeaderBefore(buffer: Buffer, at: number): { num: number; start: number } | undefined {
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
