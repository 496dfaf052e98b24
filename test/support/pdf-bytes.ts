import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';

/** One signature (or document time-stamp) as the file's bytes show it. */
export interface EmbeddedSignature {
  byteRange: number[];
  /** The /Contents string's bytes, padding included. */
  contents: Buffer;
  /** The DER inside (CMS or time-stamp token), without the padding. */
  der: Buffer;
  /** The bytes the byte range covers. */
  signedBytes: Buffer;
}

/**
 * Every /ByteRange with its /Contents, in file order, read from the raw bytes — independently of
 * the project's PDF reader, so tests do not check the reader with itself.
 */
export function embeddedSignatures(file: Buffer): EmbeddedSignature[] {
  const text = file.toString('latin1');
  return [...text.matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)].map((match) => {
    const byteRange = match.slice(1, 5).map(Number);
    const [start1, length1, start2, length2] = byteRange;
    assert.equal(text[start1 + length1], '<');
    assert.equal(text[start2 - 1], '>');
    const contents = Buffer.from(text.slice(start1 + length1 + 1, start2 - 1), 'hex');
    // The placeholder is longer than the DER: read its length from the outer SEQUENCE header.
    assert.equal(contents[0], 0x30);
    const lengthOctets = contents[1] & 0x7f;
    let length = 0;
    for (let i = 0; i < lengthOctets; i++) length = length * 256 + contents[2 + i];
    const der = contents.subarray(0, 2 + lengthOctets + length);
    const signedBytes = Buffer.concat([file.subarray(start1, start1 + length1), file.subarray(start2, start2 + length2)]);
    return { byteRange, contents, der, signedBytes };
  });
}

/** A classic-xref PDF whose object n+1 has body `bodies[n]`; the trailer names the catalog by default. */
export function buildPdf(bodies: string[], trailer = '/Root 1 0 R'): Buffer {
  let text = '%PDF-1.7\n';
  const offsets = bodies.map((body, index) => {
    const offset = text.length;
    text += `${index + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = text.length;
  text += `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) text += `${String(offset).padStart(10, '0')} 00000 n \n`;
  text += `trailer\n<< /Size ${bodies.length + 1} ${trailer} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(text, 'latin1');
}

/**
 * A PDF whose pages show the given content streams (one per page, A4, MediaBox from `mediaBox`), with
 * /F1 a simple font whose every glyph is 500/1000 em wide (so text positions can be computed by
 * hand) and /F2 a Type0 Identity-H font. `flate` compresses the content streams (FlateDecode).
 */
export function textPdf(pages: string[], options: { flate?: boolean; mediaBox?: number[] } = {}): Buffer {
  const pageCount = pages.length;
  // Objects: 1 catalog, 2 pages, 3 F1, 4 F2, 5 its CIDFont, then per page: page, contents.
  const pageRefs = pages.map((_, i) => `${6 + 2 * i} 0 R`);
  const widths = new Array(95).fill(500).join(' ');
  const bodies = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageRefs.join(' ')}] /Count ${pageCount} /MediaBox [${(options.mediaBox ?? [0, 0, 595, 842]).join(' ')}] >>`,
    `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 126 /Widths [${widths}] >>`,
    '<< /Type /Font /Subtype /Type0 /BaseFont /Identity /Encoding /Identity-H /DescendantFonts [5 0 R] >>',
    '<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Identity /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>',
  ];
  pages.forEach((content, i) => {
    bodies.push(`<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${7 + 2 * i} 0 R >>`);
    const data = options.flate ? deflateSync(Buffer.from(content, 'latin1')) : Buffer.from(content, 'latin1');
    bodies.push(`<< /Length ${data.length}${options.flate ? ' /Filter /FlateDecode' : ''} >>\nstream\n${data.toString('latin1')}\nendstream`);
  });
  return buildPdf(bodies);
}
