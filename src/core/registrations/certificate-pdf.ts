import qrcode from 'qrcode-generator';
import { padesCmsFactory } from '../../crypto/pdf/pades/pades-cms.js';
import { signPdf } from '../../crypto/pdf/pades/sign-pdf.js';
import { parseTimeStampToken } from '../../crypto/tsp/parse-time-stamp-token.js';
import { SignetError } from '../../errors/signet-error.js';
import type { CoreContext } from '../core-context.js';
import type { Registration } from './registration.js';
import { publicBaseUrl } from './registration-settings.js';

export function certificateBlobKey(registration: Registration): string {
  return `cert/${registration.contentId}`;
}

/**
 * The registration certificate: made on first request, then kept, so every download (and the
 * evidence package) carries the same signed bytes. Two first requests at once both make a valid
 * certificate; the later write wins.
 */
export async function registrationCertificate(context: CoreContext, registration: Registration): Promise<Buffer> {
  const key = certificateBlobKey(registration);
  if (await context.store.blobs.exists(key)) return readAll(context.store.blobs.createReadStream(key));
  const pdf = await makeCertificate(context, registration);
  await context.store.blobs.write(key, pdf);
  return pdf;
}

/** A one-page PDF with the registration's facts and a QR code of its public page, PAdES B-T signed by the service. */
export async function makeCertificate(context: CoreContext, registration: Registration): Promise<Buffer> {
  const signer = context.keys.get('default') ?? context.keys.values().next().value;
  if (!signer) throw new SignetError('internal_error', 'No signing key is configured for registration certificates');
  const pageUrl = `${publicBaseUrl(context.registrations, context.host)}/r/${registration.rid}`;
  const token = parseTimeStampToken(Buffer.from(registration.timestampToken, 'base64'));
  const unsigned = certificateDocument(registration, pageUrl, token.serial);
  return signPdf(unsigned, {
    signer,
    signingTime: new Date(),
    reason: `Registration certificate ${registration.rid}`,
    location: publicBaseUrl(context.registrations, context.host),
    createCms: padesCmsFactory(signer, { timestampClient: context.timestamps }),
  });
}

/*
 * A minimal PDF 1.7 writer (ISO 32000-1 §7.5: header, objects, classic cross-reference table,
 * trailer): one A4 page, the standard 14 fonts in WinAnsiEncoding (no embedding needed), the QR code
 * drawn as filled squares, and a link annotation (§12.5.6.5) to the public page.
 */
export function certificateDocument(registration: Registration, pageUrl: string, tokenSerial: string): Buffer {
  const content = pageContent(registration, pageUrl, tokenSerial);
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R /Lang (en) >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> >> /Contents 7 0 R /Annots [8 0 R] >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>',
    `<< /Length ${content.length} >>\nstream\n${content.toString('latin1')}\nendstream`,
    `<< /Type /Annot /Subtype /Link /Rect [56 80 540 100] /Border [0 0 0] /A << /S /URI /URI ${pdfString(pageUrl)} >> >>`,
    `<< /Title ${pdfString(`Registration certificate ${registration.rid}`)} /Producer (Signet) /CreationDate ${pdfString(pdfDate(new Date()))} >>`,
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(offset);
    const bytes = Buffer.from(`${index + 1} 0 obj\n${body}\nendobj\n`, 'latin1');
    parts.push(bytes);
    offset += bytes.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

function pageContent(registration: Registration, pageUrl: string, tokenSerial: string): Buffer {
  const ops: string[] = [];
  const text = (font: string, size: number, x: number, y: number, value: string) =>
    ops.push(`BT /${font} ${size} Tf ${x} ${y} Td ${pdfString(value)} Tj ET`);
  text('F2', 22, 56, 770, 'Certificate of registration');
  text('F1', 11, 56, 748, 'Proof that the file described below existed at the time shown,');
  text('F1', 11, 56, 734, 'deposited by the user named.');
  text('F2', 28, 56, 690, registration.rid);
  const rows: Array<[string, string, string?]> = [
    ['Title', clip(registration.title ?? '-', 70)],
    ['Registered at', `${new Date(registration.registeredAt).toISOString().replace('T', ' ').replace('Z', '')} UTC (time-stamp token)`],
    ['Deposited by', clip(`${registration.userEmail} (user ${registration.userId})`, 70)],
    ['File', clip(registration.name, 70)],
    ...(registration.url ? [['Captured from', clip(registration.url, 70)] as [string, string]] : []),
    ['Type and size', `${clip(registration.contentType, 50)}, ${registration.size} bytes`],
    ['SHA-256', registration.sha256, 'F3'],
    ['SHA-1', registration.sha1, 'F3'],
    ['Time-stamping authority', clip(registration.tsa, 60)],
    ['Token serial number', tokenSerial, 'F3'],
  ];
  let y = 650;
  for (const [label, value, font] of rows) {
    text('F2', 10, 56, y, label);
    text(font ?? 'F1', font ? 8.5 : 10, 190, y, value);
    y -= 22;
  }
  text('F1', 10, 56, y - 10, 'How to check: download the evidence package; its README verifies the time-stamp with');
  text('F1', 10, 56, y - 24, '"openssl ts -verify" alone. This PDF is signed by the service (PAdES); check it with any PDF reader.');
  text('F2', 10, 56, 104, 'Public page');
  text('F1', 10, 56, 88, clip(pageUrl, 90));
  // The QR code of the public page, top right, 4 modules of quiet zone.
  const qr = qrcode(0, 'M');
  qr.addData(pageUrl);
  qr.make();
  const count = qr.getModuleCount();
  const size = 130;
  const cell = size / (count + 8);
  const left = 595 - 56 - size;
  const top = 800;
  ops.push('1 1 1 rg', `${left} ${top - size} ${size} ${size} re f`, '0 0 0 rg');
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (!qr.isDark(row, col)) continue;
      const x = left + (col + 4) * cell;
      const yy = top - (row + 5) * cell;
      ops.push(`${x.toFixed(3)} ${yy.toFixed(3)} ${cell.toFixed(3)} ${cell.toFixed(3)} re`);
    }
  }
  ops.push('f');
  return Buffer.from(ops.join('\n'), 'latin1');
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** WinAnsiEncoding's characters outside Latin-1 (ISO 32000-1 Annex D.2), at their code points. */
const WIN_ANSI_EXTRA = new Map([...'€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ'].map((char, i) => [char, 0x80 + i]));

/** A literal string (§7.3.4.2) in WinAnsi: characters it cannot show become "?". */
function pdfString(value: string): string {
  let out = '(';
  for (const char of value) {
    const code = WIN_ANSI_EXTRA.get(char) ?? (char.charCodeAt(0) >= 0x80 && char.charCodeAt(0) < 0xa0 ? 0x3f : char.charCodeAt(0));
    if (char.length > 1 || code > 0xff) out += '?';
    else if (char === '(' || char === ')' || char === '\\') out += `\\${char}`;
    else if (code < 0x20) out += ' ';
    else out += String.fromCharCode(code);
  }
  return `${out})`;
}

function pdfDate(date: Date): string {
  return `D:${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
