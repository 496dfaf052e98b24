import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { jpegImage, jpegInfo } from '../src/crypto/pdf/pades/jpeg-image.js';
import { signPdf, type SignPdfOptions } from '../src/crypto/pdf/pades/sign-pdf.js';
import { findText } from '../src/crypto/pdf/reader/find-text.js';
import { PdfReader } from '../src/crypto/pdf/reader/pdf-reader.js';
import { SignetError } from '../src/errors/signet-error.js';
import { buildPdf, textPdf } from './support/pdf-bytes.js';
import { getToken, startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

/*
 * Visible stamps placed at a text of the page (PLACEHOLDER) and JPEG stamp images. Positions are
 * computed by hand for hand-made content streams (F1's glyphs are all 500/1000 em wide) and checked
 * against poppler's pdftotext -bbox on real files; signed files go through pdfsig and pdfimages.
 */

const DATA = join(import.meta.dirname, '../../shared/testdata');

let work: string;
let pki: DevelopmentPki;
let nssDir: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-placement-'));
  pki = await ensureDevelopmentPki(join(work, 'pki'));
  nssDir = join(work, 'nss');
  mkdirSync(nssDir);
  assert.equal(run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']).status, 0);
  assert.equal(run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', join(work, 'pki', 'ca.cert.pem')]).status, 0);
});
after(() => rmSync(work, { recursive: true, force: true }));

function save(name: string, bytes: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

function positionOf(pdf: Buffer, text: string) {
  const { position, pageCount, complete } = findText(PdfReader.open(pdf), text);
  return position && { pageIndex: position.pageIndex, x: round(position.x), y: round(position.y), pageCount, complete };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** pdftotext -bbox: each word with its box, top-left origin (poppler's own text extraction). */
function popplerWords(path: string): Array<{ page: number; pageHeight: number; word: string; xMin: number; yMin: number; yMax: number }> {
  const result = run('pdftotext', ['-bbox', path, '-']);
  assert.equal(result.status, 0, result.stderr);
  const words = [];
  let page = -1;
  let pageHeight = 0;
  for (const line of result.stdout.split('\n')) {
    const pageMatch = /<page width="[\d.]+" height="([\d.]+)">/.exec(line);
    if (pageMatch) {
      page++;
      pageHeight = Number(pageMatch[1]);
    }
    const word = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*)<\/word>/.exec(line);
    if (word) words.push({ page, pageHeight, word: word[4].replace(/&amp;/g, '&'), xMin: Number(word[1]), yMin: Number(word[2]), yMax: Number(word[3]) });
  }
  return words;
}

/** The place poppler draws a word: its x equals our x, and our baseline lies inside its box. */
function assertWherePopplerDrawsIt(path: string, word: string, found: { pageIndex: number; x: number; y: number } | undefined): void {
  assert.ok(found, `${word} found`);
  const box = popplerWords(path).find((w) => w.word === word);
  assert.ok(box, `pdftotext lists "${word}"`);
  assert.equal(found.pageIndex, box.page, word);
  assert.ok(Math.abs(found.x - box.xMin) < 0.5, `${word}: x ${found.x}, poppler ${box.xMin}`);
  const top = box.pageHeight - box.yMin;
  const bottom = box.pageHeight - box.yMax;
  assert.ok(found.y > bottom && found.y < top, `${word}: baseline ${found.y} inside poppler's box ${bottom}..${top}`);
}

// Line 1 at (72, 700) moved by `cm` to (122, 700); T* goes down 14; "Sign here: " is 11 glyphs of 6 pt,
// then the kerning -500 moves 6 pt right: the placeholder starts at 122 + 66 + 6 = 194, baseline 686.
const INVOICE = 'q 1 0 0 1 50 0 cm\nBT /F1 12 Tf 14 TL 72 700 Td (Invoice 2026-001) Tj T* [(Sign here: ) -500 ({{signature}})] TJ ET\nQ\n';

describe('finding a text in the page content', () => {
  test('uncompressed and FlateDecode content: cm, Td, TL/T*, TJ kerning; poppler draws it at the same place', () => {
    for (const flate of [false, true]) {
      const pdf = textPdf([INVOICE], { flate });
      assert.equal(pdf.includes(Buffer.from('{{signature}}')), !flate, 'the text is compressed in the Flate variant');
      const found = positionOf(pdf, '{{signature}}');
      assert.deepEqual(found, { pageIndex: 0, x: 194, y: 686, pageCount: 1, complete: true }, `flate=${flate}`);
      assertWherePopplerDrawsIt(save(`invoice-${flate}.pdf`, pdf), '{{signature}}', found);
    }
    assert.equal(positionOf(textPdf([INVOICE]), 'SIGN_HERE'), undefined);
  });

  test('the text matrix, q/Q, the \' and " operators, a match across TJ strings, later pages', () => {
    // Tm scales by 2: "ab" (2 × 0.5 × 10) moves 10 text units = 20 user units.
    assert.deepEqual(positionOf(textPdf(['BT /F1 10 Tf 2 0 0 2 100 200 Tm (ab) Tj ({{signature}}) Tj ET']), '{{signature}}')?.x, 120);
    // A transformation inside q … Q does not outlive Q.
    assert.deepEqual(positionOf(textPdf(['q 1 0 0 1 300 300 cm Q BT /F1 12 Tf 10 20 Td (SIGN_HERE) Tj ET']), 'SIGN_HERE'), {
      pageIndex: 0, x: 10, y: 20, pageCount: 1, complete: true,
    });
    // ": next line (leading 15), Tw 2 and Tc 1; "x" is 6 + 1 wide.
    assert.deepEqual(positionOf(textPdf(['BT /F1 12 Tf 15 TL 50 500 Td (first) Tj 2 1 (x{{signature}}) " ET']), '{{signature}}'), {
      pageIndex: 0, x: 57, y: 485, pageCount: 1, complete: true,
    });
    // ': next line; a space takes the word spacing set by Tw.
    assert.deepEqual(positionOf(textPdf(['BT /F1 12 Tf 3 Tw 20 TL 50 500 Td ( {{signature}}) \' ET']), '{{signature}}'), {
      pageIndex: 0, x: 59, y: 480, pageCount: 1, complete: true,
    });
    // The placeholder split by a kerning number inside it is still found; the number after its start does not move it.
    assert.deepEqual(positionOf(textPdf(['BT /F1 12 Tf 40 40 Td [(Sign: {{sig) -1000 (nature}})] TJ ET']), '{{signature}}')?.x, 76);
    // Hex strings are strings too; the first page that shows the text wins.
    const pages = ['BT /F1 12 Tf 10 10 Td (nothing here) Tj ET', 'BT /F1 12 Tf 30 40 Td <7B7B7369676E61747572657D7D> Tj ET', 'BT /F1 12 Tf 1 1 Td ({{signature}}) Tj ET'];
    assert.deepEqual(positionOf(textPdf(pages), '{{signature}}'), { pageIndex: 1, x: 30, y: 40, pageCount: 3, complete: true });
  });

  test('composite (Type0) fonts are stepped over, not searched; inline images and broken syntax do not derail the search', () => {
    assert.equal(positionOf(textPdf(['BT /F2 12 Tf 10 10 Td ({{signature}}) Tj ET']), '{{signature}}'), undefined, 'Type0 strings are glyph ids');
    // Two Identity-H glyphs of /DW 1000 at 12 pt move 24 pt.
    assert.equal(positionOf(textPdf(['BT /F2 12 Tf 100 100 Td <00010002> Tj /F1 12 Tf ({{signature}}) Tj ET']), '{{signature}}')?.x, 124);
    const inlineImage = 'q 10 0 0 10 0 0 cm BI /W 4 /H 1 /BPC 8 /CS /G ID \x28\x29\x5b\x3c EI Q BT /F1 12 Tf 70 80 Td ({{signature}}) Tj ET';
    assert.equal(positionOf(textPdf([inlineImage]), '{{signature}}')?.x, 70);
    const broken = positionOf(textPdf(['BT /F1 12 Tf 5 5 Td ({{signature}}) Tj ET (unterminated', 'BT ({{signature}}) Tj']), '{{signature}}');
    assert.deepEqual(broken, { pageIndex: 0, x: 5, y: 5, pageCount: 2, complete: true });
    const unreadable = findText(PdfReader.open(textPdf(['BT /F1 12 Tf (abc) Tj ET (unterminated'])), '{{signature}}');
    assert.equal(unreadable.position, undefined);
    assert.equal(unreadable.complete, false, 'the search says some content could not be read');
  });

  test('text in a form XObject is found where the form draws it (its /Matrix, the CTM at Do)', () => {
    const form = 'BT /F1 12 Tf 0 0 Td ({{signature}}) Tj ET';
    const page = 'q 1 0 0 1 100 50 cm /Fm1 Do Q';
    const pdf = buildPdf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>',
      '<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 6 0 R >> /XObject << /Fm1 5 0 R >> >> /Contents 4 0 R >>',
      `<< /Length ${page.length} >>\nstream\n${page}\nendstream`,
      `<< /Type /XObject /Subtype /Form /BBox [0 0 200 50] /Matrix [1 0 0 1 5 5] /Length ${form.length} >>\nstream\n${form}\nendstream`,
      '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ]);
    assert.deepEqual(positionOf(pdf, '{{signature}}'), { pageIndex: 0, x: 105, y: 55, pageCount: 1, complete: true });
  });

  test('real documents: the place matches poppler\'s for words in simple fonts', () => {
    for (const [file, word] of [
      ['pdf/sample.pdf', 'Nimbus'],
      ['pdf/doc.pdf', 'Date'],
      ['pdf/minimal.pdf', 'World'],
    ] as const) {
      const pdf = readFileSync(join(DATA, file));
      assertWherePopplerDrawsIt(join(DATA, file), word, positionOf(pdf, word));
    }
  });
});

function options(extra: Partial<SignPdfOptions> = {}): SignPdfOptions {
  return { signer: pki.signer, signingTime: new Date(), ...extra };
}

function pdfsigReport(path: string): string {
  const result = run('pdfsig', ['-nssdir', `sql:${nssDir}`, path]);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** The newest widget /Rect in the file's bytes (the one the update added). */
function lastRect(pdf: Buffer): number[] {
  const rects = [...pdf.toString('latin1').matchAll(/\/Rect\s*\[([^\]]*)\]/g)];
  assert.ok(rects.length > 0, 'a /Rect is written');
  return rects[rects.length - 1][1].trim().split(/\s+/).map(Number);
}

/** A real JPEG drawn by poppler from a PDF page (white, "Hello World" small at the bottom left); `-jpegcmyk` for CMYK. */
function popplerJpeg(name: string, format: '-jpeg' | '-jpegcmyk' = '-jpeg'): Buffer {
  const prefix = join(work, name);
  const result = run('pdftoppm', [format, '-scale-to-x', '40', '-scale-to-y', '20', '-singlefile', join(DATA, 'pdf/minimal.pdf'), prefix]);
  assert.equal(result.status, 0, result.stderr);
  return readFileSync(`${prefix}.jpg`);
}

describe('signing with a stamp at a placeholder', () => {
  test('the widget is at the text (also with a MediaBox that does not start at 0 0) and pdfsig validates', async () => {
    const signed = await signPdf(textPdf([INVOICE], { flate: true }), options({ visible: { placeholder: '{{signature}}', width: 155, height: 50, text: 'Signed' } }));
    assert.match(pdfsigReport(save('placeholder.pdf', signed)), /Signature is Valid\./);
    assert.deepEqual(lastRect(signed), [194, 686, 349, 736]);

    const shifted = await signPdf(textPdf(['BT /F1 12 Tf 150 700 Td (SIGN_HERE) Tj ET'], { mediaBox: [100, 100, 695, 942] }), options({ visible: { placeholder: 'SIGN_HERE', width: 100, height: 40 } }));
    assert.match(pdfsigReport(save('placeholder-shifted.pdf', shifted)), /Signature is Valid\./);
    assert.deepEqual(lastRect(shifted), [150, 700, 250, 740]);
  });

  test('not found: placeholder_not_found naming the text; placeholder with x/y or without a size is invalid_request', async () => {
    await assert.rejects(signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { placeholder: '{{signature}}', width: 10, height: 10 } })), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'placeholder_not_found');
      assert.equal(error.status, 422);
      assert.equal(error.field, 'visible.placeholder');
      assert.match(error.message, /"\{\{signature\}\}"/);
      assert.match(error.message, /1 page searched/);
      return true;
    });
    await assert.rejects(
      signPdf(textPdf([INVOICE]), options({ visible: { placeholder: '{{signature}}', x: 1, y: 1, width: 10, height: 10 } })),
      (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.placeholder',
    );
    await assert.rejects(
      signPdf(textPdf([INVOICE]), options({ visible: { placeholder: '{{signature}}', width: 0, height: 10 } })),
      (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.width',
    );
  });
});

describe('JPEG stamp images', () => {
  test('a JPEG\'s frame header is read: size, components; an Adobe CMYK JPEG gets /Decode [1 0 …]', () => {
    assert.deepEqual(jpegInfo(popplerJpeg('rgb')), { width: 40, height: 20, components: 3, adobe: false });
    assert.deepEqual(jpegInfo(popplerJpeg('cmyk', '-jpegcmyk')), { width: 40, height: 20, components: 4, adobe: true });
    assert.deepEqual(jpegInfo(syntheticJpeg({ components: 1 })), { width: 7, height: 5, components: 1, adobe: false });
    assert.equal((jpegImage(syntheticJpeg({ components: 1 })).xobject.dict.get('ColorSpace') as { value: string }).value, 'DeviceGray');
    const cmyk = syntheticJpeg({ components: 4, adobe: true });
    assert.deepEqual(jpegInfo(cmyk), { width: 7, height: 5, components: 4, adobe: true });
    const image = jpegImage(cmyk);
    assert.deepEqual(image.xobject.dict.get('Decode'), [1, 0, 1, 0, 1, 0, 1, 0]);
    assert.equal((image.xobject.dict.get('ColorSpace') as { value: string }).value, 'DeviceCMYK');
    assert.equal(jpegImage(syntheticJpeg({ components: 4, adobe: false })).xobject.dict.get('Decode'), undefined);
    assert.ok(image.xobject.rawData.equals(cmyk), 'the JPEG bytes are the stream data, unchanged');
  });

  test('malformed JPEGs are invalid_request naming the field and what is wrong', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('GIF89a'), /no SOI marker/],
      [Buffer.from('/9j/4AAQSkZJRg==', 'base64'), /overruns the file/],
      [syntheticJpeg({ components: 3, sof: 0xc3 }), /SOF3/],
      [syntheticJpeg({ components: 3, precision: 12 }), /12-bit samples/],
      [syntheticJpeg({ components: 2 }), /2 color components/],
      [syntheticJpeg({ components: 3, withoutFrame: true }), /scan comes before any frame header/],
      [syntheticJpeg({ components: 3 }).subarray(0, 30), /overruns|no image data|ends inside/],
    ];
    for (const [bytes, reason] of cases) {
      assert.throws(() => jpegInfo(bytes, 'stamp.image'), (error: unknown) => {
        assert.ok(error instanceof SignetError);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.field, 'stamp.image');
        assert.match(error.message, /^stamp\.image cannot be used: /);
        assert.match(error.message, reason);
        return true;
      });
    }
  });

  test('a signed stamp with a JPEG: embedded as DCT (pdfimages says jpeg), drawn with its colours, pdfsig validates', async () => {
    for (const [name, jpeg, color] of [['rgb', popplerJpeg('rgb2'), 'rgb'], ['cmyk', popplerJpeg('cmyk2', '-jpegcmyk'), 'cmyk']] as const) {
      // No text: the image alone, centred: 104 × 52 pt at (18, 14).
      const signed = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { page: 1, x: 10, y: 10, width: 120, height: 60, imageJpeg: jpeg.toString('base64') } }));
      const path = save(`jpeg-${name}.pdf`, signed);
      assert.match(pdfsigReport(path), /Signature is Valid\./);
      assert.match(run('pdfimages', ['-list', path]).stdout, new RegExp(`\\s40\\s+20\\s+${color}\\s+\\d\\s+8\\s+jpeg\\s`), name);
      // The picture is a mostly white page: drawn inverted (a wrong /Decode for Adobe CMYK) it would be mostly dark.
      const dark = darkShare(path, 22, 20, 118, 62);
      assert.ok(dark < 0.25, `${name}: ${Math.round(dark * 100)}% of the image area is dark`);
    }
    // The measure sees dark where there is: "Hello World" at the bottom left of the page.
    assert.ok(darkShare(join(DATA, 'pdf/minimal.pdf'), 1, 1, 90, 12) > 0.1);
    await assert.rejects(
      signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { page: 1, x: 10, y: 10, width: 120, height: 60, imageJpeg: Buffer.from('not a jpeg') } })),
      (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.imageJpeg',
    );
  });
});

/** The share of dark pixels in a rectangle (PDF points from the lower-left corner) of page 1 drawn at 72 dpi by poppler. */
function darkShare(path: string, x0: number, y0: number, x1: number, y1: number): number {
  const prefix = join(work, `render-${Math.random().toString(36).slice(2)}`);
  const result = run('pdftoppm', ['-gray', '-r', '72', '-singlefile', path, prefix]);
  assert.equal(result.status, 0, result.stderr);
  const pgm = readFileSync(`${prefix}.pgm`);
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.toString('latin1', 0, 64));
  assert.ok(header, 'a binary PGM');
  const [width, height] = [Number(header[1]), Number(header[2])];
  const pixels = pgm.subarray(header[0].length);
  let dark = 0;
  let all = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      all++;
      if (pixels[(height - 1 - y) * width + x] < 128) dark++;
    }
  }
  return dark / all;
}

/** Markers only (no real entropy data): enough for the header reader, not for a decoder. */
function syntheticJpeg(options: { components: number; adobe?: boolean; sof?: number; precision?: number; withoutFrame?: boolean }): Buffer {
  const segment = (marker: number, body: Buffer) => {
    const head = Buffer.alloc(4);
    head[0] = 0xff;
    head[1] = marker;
    head.writeUInt16BE(body.length + 2, 2);
    return Buffer.concat([head, body]);
  };
  const parts = [Buffer.from([0xff, 0xd8])];
  if (options.adobe) parts.push(segment(0xee, Buffer.concat([Buffer.from('Adobe', 'latin1'), Buffer.from([0, 100, 0, 0, 0, 0, 2])])));
  const frame = Buffer.alloc(6 + 3 * options.components);
  frame[0] = options.precision ?? 8;
  frame.writeUInt16BE(5, 1);
  frame.writeUInt16BE(7, 3);
  frame[5] = options.components;
  for (let i = 0; i < options.components; i++) frame.set([i + 1, 0x11, 0], 6 + 3 * i);
  if (!options.withoutFrame) parts.push(segment(options.sof ?? 0xc0, frame));
  parts.push(segment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])), Buffer.from([0x00, 0x00, 0xff, 0xd9]));
  return Buffer.concat(parts);
}

describe('the native API: visible.placeholder and visible.imageJpeg', () => {
  let service: TestService;
  let auth: string;

  before(async () => {
    service = await startTestService();
    auth = `Bearer ${await getToken(service.url, 'client-a', 'secret-a')}`;
  });
  after(async () => service.stop());

  async function post(body: unknown) {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  test('a stamp at a placeholder with a JPEG signs; a document without the text fails alone with placeholder_not_found', async () => {
    const visible = { placeholder: '{{signature}}', width: 155, height: 50, text: 'Signed', imageJpeg: popplerJpeg('native').toString('base64') };
    const { status, body } = await post({
      externalReference: 'native-placeholder-1',
      signature: { format: 'PAdES', level: 'B-B', visible },
      documents: [
        { name: 'with.pdf', content: textPdf([INVOICE], { flate: true }).toString('base64') },
        { name: 'without.pdf', content: readFileSync(join(DATA, 'pdf/minimal.pdf')).toString('base64') },
      ],
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.documents.map((d: any) => d.status), ['SIGNED', 'FAILED']);
    assert.equal(body.documents[1].error.code, 'placeholder_not_found');
    assert.match(body.documents[1].error.message, /\{\{signature\}\}/);
    const content = await fetch(`${service.url}${body.documents[0].links.content}`, { headers: { authorization: auth } });
    const signed = Buffer.from(await content.arrayBuffer());
    const path = save('native-placeholder.pdf', signed);
    assert.match(pdfsigReport(path), /Signature is Valid\./);
    assert.deepEqual(lastRect(signed), [194, 686, 349, 736]);
    assert.match(run('pdfimages', ['-list', path]).stdout, /\sjpeg\s/);
  });

  test('visible needs page, x and y or a placeholder', async () => {
    const { status, body } = await post({
      externalReference: 'native-placeholder-2',
      signature: { format: 'PAdES', visible: { width: 10, height: 10 } },
      documents: [{ name: 'a.pdf', content: textPdf([INVOICE]).toString('base64') }],
    });
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.code, 'invalid_request');
    assert.match(body.detail, /visible/);
    // Both a placeholder and a position: refused at submission, before anything is staged or signed.
    const both = await post({
      externalReference: 'native-placeholder-3',
      signature: { format: 'PAdES', visible: { placeholder: '{{signature}}', page: 1, x: 10, y: 10, width: 10, height: 10 } },
      documents: [{ name: 'a.pdf', content: textPdf([INVOICE]).toString('base64') }],
    });
    assert.equal(both.status, 400, JSON.stringify(both.body));
    assert.equal(both.body.code, 'invalid_request');
    assert.match(both.body.detail, /visible/);
    // The same rules for a multipart upload's request part.
    for (const visible of [{ width: 10, height: 10 }, { placeholder: '{{signature}}', x: 10, y: 10, page: 1, width: 10, height: 10 }]) {
      const form = new FormData();
      form.append('request', JSON.stringify({ externalReference: `multipart-${visible.width}-${'x' in visible}`, signature: { format: 'PAdES', visible }, documents: [{ name: 'a.pdf' }] }));
      form.append('files', new Blob([new Uint8Array(textPdf([INVOICE]))], { type: 'application/pdf' }), 'a.pdf');
      const response = await fetch(`${service.url}/v1/signatures`, { method: 'POST', headers: { authorization: auth }, body: form });
      const answer = (await response.json()) as any;
      assert.equal(response.status, 400, JSON.stringify(answer));
      assert.equal(answer.code, 'invalid_request');
      assert.match(answer.detail, /visible/);
    }
  });
});
