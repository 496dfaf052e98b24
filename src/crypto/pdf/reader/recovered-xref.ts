import { PdfDict, PdfRef, isName } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import { objectHeaderBefore } from './duplicate-objects.js';
import { PdfParser } from './parser.js';
import type { CrossReference, XrefEntry } from './xref.js';

/*
 * A cross-reference rebuilt by scanning the file for `N G obj` headers, as viewers do when `startxref`
 * or a section is damaged (ISO 32000-1 §7.5.4 leaves the repair to the reader; poppler, MuPDF and qpdf
 * all do it). Only for validating signatures: a damaged file is never signed (signing refuses it), but
 * its signatures must still get a verdict — usually "not intact" — rather than no answer.
 *
 * The last definition of an object number wins (a later update redefines it). The trailer is the last
 * `trailer` dictionary, else the last cross-reference stream's dictionary, else one naming the last
 * catalog found. Objects inside object streams are not recovered.
 */
export function recoverCrossReference(buffer: Buffer): CrossReference {
  const entries = new Map<number, XrefEntry>();
  let maxNumber = -1;
  let lastCatalog: number | undefined;
  let lastXrefStreamDict: PdfDict | undefined;
  for (let at = buffer.indexOf('obj', 0, 'latin1'); at >= 0; at = buffer.indexOf('obj', at + 3, 'latin1')) {
    const header = objectHeaderBefore(buffer, at);
    if (!header) continue;
    // Only the header and the object's first value are read, never stream data: looking for the
    // `endstream` of a stream without a usable /Length would make the scan quadratic in the file size.
    let gen: number | undefined;
    let value;
    try {
      const parser = new PdfParser(buffer, header.start);
      parser.readUnsignedInteger();
      gen = parser.readUnsignedInteger();
      if (gen === undefined || !parser.tryKeyword('obj')) continue;
      value = parser.parseObject();
    } catch {
      continue; // "obj" inside stream data or a damaged object
    }
    entries.set(header.num, { type: 'offset', offset: header.start, gen });
    maxNumber = Math.max(maxNumber, header.num);
    if (!(value instanceof PdfDict)) continue;
    if (isName(value.get('Type'), 'Catalog')) lastCatalog = header.num;
    if (isName(value.get('Type'), 'XRef')) lastXrefStreamDict = value;
  }
  const trailer = lastTrailer(buffer) ?? lastXrefStreamDict ?? (lastCatalog !== undefined ? new PdfDict([['Root', new PdfRef(lastCatalog, 0)]]) : undefined);
  if (!trailer || !(trailer.get('Root') instanceof PdfRef)) throw invalidPdf('no cross-reference, and no catalog could be found by scanning the file');
  const newest = { kind: 'table' as const, offset: buffer.length, trailer };
  return { entries, newest, sections: [newest], nextObjectNumber: maxNumber + 1 };
}

function lastTrailer(buffer: Buffer): PdfDict | undefined {
  for (let at = buffer.lastIndexOf('trailer', buffer.length, 'latin1'); at >= 0; at = buffer.lastIndexOf('trailer', at - 1, 'latin1')) {
    try {
      const parser = new PdfParser(buffer, at + 7);
      const value = parser.parseObject();
      if (value instanceof PdfDict && value.get('Root') instanceof PdfRef) return value;
    } catch {
      // not a trailer dictionary; look further back
    }
    if (at === 0) break;
  }
  return undefined;
}
