import { randomBytes } from 'node:crypto';

/**
 * A one-page PDF of about 200 KB (classic xref table, ISO 32000-1 §7.5): a page showing a 450×450 grey
 * image of random bytes (incompressible, like the photos and scans that make real PDFs large).
 */
export function generatedPdf(targetSize = 200 * 1024): Buffer {
  const side = Math.ceil(Math.sqrt(targetSize - 1500));
  const image = randomBytes(side * side);
  const content = Buffer.from(`q ${side / 2} 0 0 ${side / 2} 50 200 cm /Im1 Do Q BT /F1 18 Tf 50 150 Td (Benchmark document) Tj ET`);
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = parts[0].length;
  const add = (num: number, head: string, stream?: Buffer) => {
    offsets[num] = length;
    const chunk = stream
      ? Buffer.concat([Buffer.from(`${num} 0 obj\n${head}\nstream\n`), stream, Buffer.from('\nendstream\nendobj\n')])
      : Buffer.from(`${num} 0 obj\n${head}\nendobj\n`);
    parts.push(chunk);
    length += chunk.length;
  };
  add(1, '<< /Type /Catalog /Pages 2 0 R >>');
  add(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  add(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>');
  add(4, `<< /Length ${content.length} >>`, content);
  add(5, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  add(6, `<< /Type /XObject /Subtype /Image /Width ${side} /Height ${side} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length ${image.length} >>`, image);
  add(7, '<< /Producer (Signet bench) >>');
  const xref = ['xref', '0 8', '0000000000 65535 f ', ...offsets.slice(1).map((offset) => `${String(offset).padStart(10, '0')} 00000 n `)];
  parts.push(Buffer.from(`${xref.join('\n')}\ntrailer\n<< /Size 8 /Root 1 0 R /Info 7 0 R >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}

