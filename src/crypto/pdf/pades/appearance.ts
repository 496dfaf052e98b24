import { PdfDict, PdfStream, name, type PdfRef } from '../objects.js';
import { serializeNumber } from '../writer/serialize.js';
import { standardFontWidths } from '../reader/standard-font-widths.js';

/**
 * The normal appearance of a signature widget (ISO 32000-1 §12.5.5, §12.7.4.5): a form XObject (§8.10)
 * the size of the widget, with a thin frame and the stamp text in Helvetica (a standard 14 font,
 * §9.6.2.2, so nothing is embedded), after an image when there is one (left of the text, or centred
 * alone; aspect ratio kept). Without frame, image and text it is empty, which is what an
 * invisible-looking but PDF/A-conformant widget with a non-zero rectangle needs.
 */
export interface AppearanceOptions {
  text?: string;
  frame?: boolean;
  /** An image XObject already written as an indirect object, with its size in pixels. */
  image?: { ref: PdfRef; width: number; height: number };
}

export function signatureAppearance(width: number, height: number, options: AppearanceOptions = {}): PdfStream {
  const { text, frame = false, image } = options;
  const lines = (text ?? '').split(/\r\n|\r|\n/).map((line) => line.trimEnd()).filter((line, i, all) => line || i < all.length - 1);
  const hasText = lines.some((line) => line.length > 0);
  const dict = new PdfDict([
    ['Type', name('XObject')],
    ['Subtype', name('Form')],
    ['BBox', [0, 0, width, height]],
  ]);
  const n = serializeNumber;
  let content = frame ? `q 0 G 0.5 w 0.25 0.25 ${n(width - 0.5)} ${n(height - 0.5)} re S Q\n` : '';
  const padding = Math.min(4, width / 10, height / 10);
  const resources = new PdfDict();
  let textLeft = padding;
  if (image) {
    // §8.9.5 / §8.3.4: an image fills the unit square; `cm` scales it to its box.
    const aspect = image.width / image.height;
    const boxWidth = hasText ? (width - 2 * padding) * 0.4 : width - 2 * padding;
    const boxHeight = height - 2 * padding;
    const drawWidth = Math.min(boxWidth, boxHeight * aspect);
    const drawHeight = drawWidth / aspect;
    const x = hasText ? padding : padding + (boxWidth - drawWidth) / 2;
    const y = padding + (boxHeight - drawHeight) / 2;
    resources.set('XObject', new PdfDict([['Im1', image.ref]]));
    content += `q ${n(drawWidth)} 0 0 ${n(drawHeight)} ${n(x)} ${n(y)} cm /Im1 Do Q\n`;
    textLeft = x + drawWidth + padding;
  }
  if (hasText) {
    resources.set(
      'Font',
      new PdfDict([['F1', new PdfDict([
        ['Type', name('Font')],
        ['Subtype', name('Type1')],
        ['BaseFont', name('Helvetica')],
        ['Encoding', name('WinAnsiEncoding')],
      ])]]),
    );
    const widest = Math.max(...lines.map(helveticaWidth), 1);
    const available = Math.max(1, width - textLeft - padding);
    const size = Math.max(1, Math.min(12, available / widest, (height - 2 * padding) / (lines.length * 1.2)));
    const leading = size * 1.2;
    content += `BT /F1 ${n(size)} Tf 0 g ${n(leading)} TL ${n(textLeft)} ${n(height - padding - size)} Td\n`;
    lines.forEach((line, i) => {
      content += `${i > 0 ? 'T* ' : ''}(${winAnsi(line)}) Tj\n`;
    });
    content += 'ET\n';
  }
  if (resources.entries.size > 0) dict.set('Resources', resources);
  const data = Buffer.from(content, 'latin1');
  return new PdfStream(dict, data, 0, data.length);
}

/** Annex D.2 WinAnsiEncoding for Latin-1 text; other characters become '?'. Escapes for a literal string. */
function winAnsi(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const byte = (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) ? char : '?';
    out += byte === '\\' || byte === '(' || byte === ')' ? `\\${byte}` : byte;
  }
  return out;
}

/** Helvetica's AFM widths (1/1000 em); other characters count as "n", about the Latin-1 average. */
const helveticaCharacterWidth = standardFontWidths('Helvetica')!;

/** Width of a line at font size 1, in points. */
function helveticaWidth(line: string): number {
  let width = 0;
  for (const char of line) {
    const code = char.codePointAt(0)!;
    width += helveticaCharacterWidth(code);
  }
  return width / 1000;
}
