import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { SignetError } from '../src/errors/signet-error.js';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { signPdfDetailed } from '../src/crypto/pdf/pades/sign-pdf.js';
import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, isName, name, textString, type PdfObject } from '../src/crypto/pdf/objects.js';
import { assertNoDuplicateObjects } from '../src/crypto/pdf/reader/duplicate-objects.js';
import { decodeStream } from '../src/crypto/pdf/reader/filters.js';
import { eachPage, findPage } from '../src/crypto/pdf/reader/page-tree.js';
import { PdfParser } from '../src/crypto/pdf/reader/parser.js';
import { PdfReader } from '../src/crypto/pdf/reader/pdf-reader.js';
import { IncrementalUpdate } from '../src/crypto/pdf/writer/incremental-update.js';
import { serializeObject } from '../src/crypto/pdf/writer/serialize.js';
import { run } from './support/tools.js';
import { buildPdf } from './support/pdf-bytes.js';

const DATA = fileURLToPath(new URL('../../shared/testdata', import.meta.url));
const pdfFile = (name: string) => readFileSync(join(DATA, 'pdf', name));
const brokenFile = (name: string) => readFileSync(join(DATA, 'broken', name));

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'signet-pdf-reader-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function parse(text: string): PdfObject {
  return new PdfParser(Buffer.from(text, 'latin1')).parseObject();
}

function assertPdfError(work: () => unknown, code: 'invalid_pdf' | 'encrypted_pdf', message?: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof SignetError, `expected a SignetError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

// ─── objects (ISO 32000-1 §7.3) ──────────────────────────────────────────────────────────────────

test('parser: literal strings with escapes, balanced parentheses, octal codes and line continuations', () => {
  const value = parse('(a\\(b\\)c (nested) \\101\\0612 \\\\ tab\\t line\\\ncontinued\r\nend)');
  assert.ok(value instanceof PdfString);
  assert.equal(value.bytes.toString('latin1'), 'a(b)c (nested) A12 \\ tab\t linecontinued\nend');
});

test('parser: hex strings ignore white space and pad an odd final digit', () => {
  const value = parse('<48 65 6c6C 6f7>');
  assert.ok(value instanceof PdfString && value.hex);
  assert.deepEqual([...value.bytes], [0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x70]);
});

test('parser: names with #xx escapes, numbers, booleans, null and references', () => {
  const value = parse('<< /A#20B 12 /Real -3.25 /Dot .5 /Ref 12 0 R /Arr [1 2 0 R 3 true false null] >>');
  assert.ok(value instanceof PdfDict);
  assert.equal(value.get('A B'), 12);
  assert.equal(value.get('Real'), -3.25);
  assert.equal(value.get('Dot'), 0.5);
  assert.deepEqual(value.get('Ref'), new PdfRef(12, 0));
  assert.deepEqual(value.get('Arr'), [1, new PdfRef(2, 0), 3, true, false, null]);
});

test('parser: hostile nesting fails as invalid_pdf instead of overflowing the stack', () => {
  assertPdfError(() => parse('['.repeat(100_000)), 'invalid_pdf', /nested/);
  assertPdfError(() => parse('<< /A (unterminated'), 'invalid_pdf', /unterminated/);
  assertPdfError(() => parse('<< 1 2 >>'), 'invalid_pdf', /not a name/);
});

test('serializer writes back what the parser reads (names, strings, numbers, nesting)', () => {
  const original = new PdfDict([
    ['Type', name('Sig')],
    ['Odd Name/#', name('a b(c)')],
    ['Literal', new PdfString(Buffer.from('par(en)s \\ and\rCR', 'latin1'))],
    ['Hex', new PdfString(Buffer.from([0, 1, 0xfe]), true)],
    ['Text', textString('Zürich ✓')],
    ['Numbers', [0, -1, 2.5, 0.000001, 1e-9, 595.275574]],
    ['Ref', new PdfRef(7, 2)],
    ['Nested', new PdfDict([['Flag', true], ['Nothing', null]])],
  ]);
  const reparsed = parse(serializeObject(original));
  assert.ok(reparsed instanceof PdfDict);
  assert.equal((reparsed.get('Odd Name/#') as PdfName).value, 'a b(c)');
  assert.equal((reparsed.get('Literal') as PdfString).bytes.toString('latin1'), 'par(en)s \\ and\rCR');
  assert.deepEqual([...(reparsed.get('Hex') as PdfString).bytes], [0, 1, 0xfe]);
  assert.deepEqual(reparsed.get('Numbers'), [0, -1, 2.5, 0.000001, 0, 595.275574]);
  assert.deepEqual(reparsed.get('Ref'), new PdfRef(7, 2));
  assert.equal((reparsed.get('Nested') as PdfDict).get('Flag'), true);
  const text = (reparsed.get('Text') as PdfString).bytes;
  assert.deepEqual([...text.subarray(0, 2)], [0xfe, 0xff], 'non-ASCII text strings are UTF-16BE with BOM');
});

// ─── streams (§7.4.4) ──────────────────────────────────────────────────────────────────────────────

test('FlateDecode with PNG Up predictor decodes rows against the row above', () => {
  const rows = [
    [1, 0, 16, 0],
    [1, 0, 32, 0],
    [2, 0, 5, 1],
  ];
  const encoded: number[] = [];
  rows.forEach((row, r) => {
    encoded.push(2); // PNG "Up"
    row.forEach((byte, i) => encoded.push((byte - (r > 0 ? rows[r - 1][i] : 0)) & 0xff));
  });
  const data = deflateSync(Buffer.from(encoded));
  const dict = new PdfDict([
    ['Filter', name('FlateDecode')],
    ['DecodeParms', new PdfDict([['Predictor', 12], ['Columns', 4]])],
  ]);
  assert.deepEqual([...decodeStream(new PdfStream(dict, data, 0, data.length))], rows.flat());
});

test('a FlateDecode stream that inflates past the bound fails instead of filling memory', () => {
  const bomb = deflateSync(Buffer.alloc(4 * 1024 * 1024));
  const dict = new PdfDict([['Filter', name('FlateDecode')]]);
  assertPdfError(() => decodeStream(new PdfStream(dict, bomb, 0, bomb.length), 1024 * 1024), 'invalid_pdf', /decompressed/);
});

// ─── cross-reference chains (§7.5.4–7.5.8) ─────────────────────────────────────────────────────────

test('classic table: catalog and page of minimal.pdf; only the objects asked for are parsed', () => {
  const reader = PdfReader.open(pdfFile('minimal.pdf'));
  assert.equal(reader.headerVersion, '1.7');
  assert.equal(reader.xref.newest.kind, 'table');
  assert.equal(reader.xref.newest.offset, 565);
  assert.ok(isName(reader.catalog().get('Type'), 'Catalog'));
  const { page, pageCount } = findPage(reader, 0);
  assert.equal(pageCount, 1);
  assert.equal(page?.ref.num, 3);
  assert.deepEqual(page?.mediaBox, [0, 0, 300, 144], 'MediaBox is inherited from the Pages node');
});


test('page tree: pages in document order through nested nodes, inherited MediaBox and Rotate', () => {
  // Root (Count 5) -> [node A (Count 2, MediaBox, Rotate 90) -> [p1, p2], p3, node B (Count 2) -> [p4, p5]]
  const pdf = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Count 5 /Kids [3 0 R 6 0 R 7 0 R] /MediaBox [0 0 100 100] >>',
    '<< /Type /Pages /Count 2 /Kids [4 0 R 5 0 R] /MediaBox [0 0 200 300] /Rotate 90 >>',
    '<< /Type /Page /Parent 3 0 R >>',
    '<< /Type /Page /Parent 3 0 R /Rotate -90 >>',
    '<< /Type /Page /Parent 2 0 R >>',
    '<< /Type /Pages /Count 2 /Kids [8 0 R 9 0 R] >>',
    '<< /Type /Page /Parent 7 0 R >>',
    '<< /Type /Page /Parent 7 0 R /MediaBox [0 0 10 20] >>',
  ]);
  const reader = PdfReader.open(pdf);
  const pages = [0, 1, 2, 3, 4].map((index) => findPage(reader, index).page!);
  assert.deepEqual(pages.map((page) => page.ref.num), [4, 5, 6, 8, 9]);
  assert.deepEqual(pages[0].mediaBox, [0, 0, 200, 300]);
  assert.equal(pages[0].rotate, 90);
  assert.equal(pages[1].rotate, 270);
  assert.deepEqual(pages[2].mediaBox, [0, 0, 100, 100]);
  assert.deepEqual(pages[4].mediaBox, [0, 0, 10, 20]);
  assert.equal(findPage(reader, 5).page, undefined);
  assert.equal(findPage(reader, 5).pageCount, 5);
  // eachPage walks once and answers the same pages, in order, with the same inheritance.
  const walked = [...eachPage(reader)];
  assert.deepEqual(
    walked.map(({ ref, index, mediaBox, rotate }) => ({ num: ref.num, index, mediaBox, rotate })),
    pages.map(({ ref, index, mediaBox, rotate }) => ({ num: ref.num, index, mediaBox, rotate })),
  );
  const shared = buildPdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 2 /Kids [3 0 R 3 0 R] >>', '<< /Type /Page /Parent 2 0 R >>']);
  assertPdfError(() => [...eachPage(PdfReader.open(shared))], 'invalid_pdf', /twice/);
});

test('page tree: a page listed twice, a lying /Count and a self-referencing node are invalid_pdf', () => {
  const shared = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Count 2 /Kids [3 0 R 3 0 R] >>',
    '<< /Type /Page /Parent 2 0 R >>',
  ]);
  assertPdfError(() => findPage(PdfReader.open(shared), 0), 'invalid_pdf', /twice/);
  const lying = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Count 1 /Kids [2 0 R] >>',
  ]);
  assertPdfError(() => findPage(PdfReader.open(lying), 0), 'invalid_pdf', /twice|not a page/);
  const selfish = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Count 7 /Kids [3 0 R 2 0 R] >>',
    '<< /Type /Page /Parent 2 0 R >>',
  ]);
  assertPdfError(() => findPage(PdfReader.open(selfish), 0), 'invalid_pdf', /twice/);
});

test('12-page PDF/A-2a: the last page is found, the one after it is not', () => {
  const reader = PdfReader.open(pdfFile('pdfa2a-gray.pdf'));
  const { page, pageCount } = findPage(reader, 11);
  assert.equal(pageCount, 12);
  assert.ok(page);
  assert.equal(findPage(reader, 12).page, undefined);
});

test('two revisions: the newest definition of an object wins (minimal-two-fields.pdf)', () => {
  const reader = PdfReader.open(pdfFile('minimal-two-fields.pdf'));
  assert.equal(reader.xref.sections.length, 2);
  assert.ok(reader.catalog().get('AcroForm') instanceof PdfRef, 'catalog comes from the update');
});

test('xref stream with PNG predictor and /Index, linearized file with object streams (doc.pdf)', () => {
  const reader = PdfReader.open(pdfFile('doc.pdf'));
  assert.equal(reader.xref.newest.kind, 'stream');
  assert.ok(reader.xref.sections.length >= 2, 'first-page section chains to the main one with /Prev');
  assert.ok(isName(reader.catalog().get('Type'), 'Catalog'));
  assert.ok(findPage(reader, 0).page);
});

test('xref stream only (pdf-xref-streams.pdf)', () => {
  const reader = PdfReader.open(pdfFile('pdf-xref-streams.pdf'));
  assert.equal(reader.xref.newest.kind, 'stream');
  assert.equal(findPage(reader, 0).pageCount, 1);
});

test('hybrid file: an object listed only in the /XRefStm stream is found (minimal-hybrid-xref.pdf)', () => {
  const reader = PdfReader.open(pdfFile('minimal-hybrid-xref.pdf'));
  assert.equal(reader.xref.newest.kind, 'table');
  const info = reader.getDict(reader.trailer, 'Info');
  const title = reader.resolve(info?.get('Title'));
  assert.ok(title instanceof PdfString);
  assert.equal(title.latin1, 'TestTest');
});

test('objects inside an object stream resolve (uncompressed-objstream-sample.pdf)', () => {
  const reader = PdfReader.open(pdfFile('uncompressed-objstream-sample.pdf'));
  assert.equal(reader.entry(4)?.type, 'compressed');
  const { page } = findPage(reader, 0);
  assert.equal(page?.ref.num, 5);
});

test('encrypted files are refused as encrypted_pdf', () => {
  for (const file of ['minimal-aes256.pdf', 'minimal-rc4.pdf', 'open_protected.pdf']) {
    assertPdfError(() => PdfReader.open(pdfFile(file)), 'encrypted_pdf');
  }
});

test('startxref off by one (landing on white space before "xref") is tolerated', () => {
  const reader = PdfReader.open(brokenFile('minimal-startxref-obo1.pdf'));
  assert.equal(reader.xref.newest.offset, 565, 'the section offset is where "xref" really is');
});

test('broken files fail with invalid_pdf and a message that says what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['EmptyPage-corrupted.pdf', /cross-reference/],
    ['corrupt-factur-x-waytoosmall.pdf', /startxref/],
    ['malformed-pades.pdf', /header/],
    ['minimal-illegal-header.pdf', /header/],
    ['minimal-startxref-hopeless.pdf', /byte 100/],
    ['sample-truncated.pdf', /startxref/],
    ['minimal-badxref.pdf', /20-byte row/],
  ];
  for (const [file, message] of cases) {
    assertPdfError(() => PdfReader.open(brokenFile(file)), 'invalid_pdf', message);
  }
});

test('for validation only, a damaged cross-reference is rebuilt by scanning for objects; a bad header still is not a PDF', () => {
  for (const file of ['minimal-startxref-hopeless.pdf', 'minimal-badxref.pdf', 'EmptyPage-corrupted.pdf']) {
    const reader = PdfReader.openForValidation(brokenFile(file));
    assert.ok(reader.recovered, `${file}: says it was repaired`);
    assert.ok(isName(reader.catalog().get('Type'), 'Catalog'), `${file}: the catalog is found`);
  }
  const intact = PdfReader.openForValidation(pdfFile('minimal.pdf'));
  assert.equal(intact.recovered, undefined);
  for (const file of ['malformed-pades.pdf', 'minimal-illegal-header.pdf']) {
    assertPdfError(() => PdfReader.openForValidation(brokenFile(file)), 'invalid_pdf', /header/);
  }
});

test('an object stream that lacks an object it should hold is invalid_pdf (broken-objstream1.pdf)', () => {
  const reader = PdfReader.open(brokenFile('broken-objstream1.pdf'));
  assertPdfError(() => findPage(reader, 0), 'invalid_pdf', /does not contain object 4/);
});

test('a circular page tree is detected (circular-page-tree.pdf)', () => {
  const reader = PdfReader.open(brokenFile('circular-page-tree.pdf'));
  assertPdfError(() => findPage(reader, 0), 'invalid_pdf', /twice/);
});

test('an object number defined twice in one revision is refused (2catalogs.pdf); later revisions may redefine', () => {
  assertPdfError(() => assertNoDuplicateObjects(brokenFile('2catalogs.pdf')), 'invalid_pdf', /object 5 is defined twice/);
  for (const file of ['minimal-two-fields.pdf', 'sample-with-empty-signature-fields.pdf', 'doc.pdf', 'pdfa2a-gray.pdf', 'sample.pdf']) {
    assert.doesNotThrow(() => assertNoDuplicateObjects(pdfFile(file)), file);
  }
});

test('duplicates are told apart by revision: an update may redefine an object, but not twice in itself', () => {
  const { output, reader } = appendInfo(pdfFile('minimal.pdf'));
  const catalogNum = reader.catalogRef.num;
  assert.doesNotThrow(() => assertNoDuplicateObjects(output), 'the catalog redefined by a later revision');
  // The same catalog written twice inside the update (a second copy just before its xref section).
  const text = output.toString('latin1');
  const header = `${catalogNum} 0 obj`;
  const start = text.lastIndexOf(header);
  const copy = text.slice(start, text.indexOf('endobj', start) + 'endobj'.length);
  const xref = text.indexOf('\nxref', start) + 1;
  const twice = Buffer.from(`${text.slice(0, xref)}${copy}\n${text.slice(xref)}`, 'latin1');
  assertPdfError(() => assertNoDuplicateObjects(twice), 'invalid_pdf', new RegExp(`object ${catalogNum} is defined twice`));
  // A header that is no object (here in a comment) between or before two real ones hides neither.
  for (const decoy of ['% 5 0 obj )\n', '']) {
    const bytes = Buffer.from(`%PDF-1.7\n${decoy}5 0 obj\n<< >>\nendobj\n% 5 0 obj )\n5 0 obj\n<< >>\nendobj\n%%EOF\n`, 'latin1');
    assertPdfError(() => assertNoDuplicateObjects(bytes), 'invalid_pdf', /object 5 is defined twice/);
  }
});

test('a /Prev chain that loops is invalid_pdf, not a hang', () => {
  const original = pdfFile('minimal.pdf').toString('latin1');
  // Make the trailer's /Prev point at its own section.
  const looped = Buffer.from(original.replace('/Size 5', '/Size 5 /Prev 565'), 'latin1');
  assertPdfError(() => PdfReader.open(looped), 'invalid_pdf', /loops/);
});

// ─── incremental updates (§7.5.6) ──────────────────────────────────────────────────────────────────

function appendInfo(file: Buffer): { output: Buffer; reader: PdfReader; infoRef: PdfRef } {
  const reader = PdfReader.open(file);
  const update = new IncrementalUpdate(reader);
  const infoRef = update.allocate();
  update.put(infoRef, new PdfDict([['Title', textString('Appended')]]));
  const catalog = reader.catalog().clone().set('Lang', textString('en'));
  update.put(reader.catalogRef, catalog);
  const { bytes } = update.build();
  return { output: Buffer.concat([file, bytes]), reader, infoRef };
}

test('an update appends after the original bytes and chains a classic table to the previous one', () => {
  const original = pdfFile('minimal.pdf');
  const { output, infoRef } = appendInfo(original);
  assert.ok(output.subarray(0, original.length).equals(original), 'original bytes untouched');
  const reread = PdfReader.open(output);
  assert.equal(reread.xref.sections.length, 2);
  assert.equal(reread.xref.newest.kind, 'table');
  assert.equal(reread.xref.newest.trailer.get('Prev'), 565);
  assert.equal((reread.resolve(reread.catalog().get('Lang')) as PdfString).latin1, 'en');
  assert.equal(((reread.getObject(infoRef) as PdfDict).get('Title') as PdfString).latin1, 'Appended');
  const path = join(work, 'appended-table.pdf');
  writeFileSync(path, output);
  const mutool = run('mutool', ['clean', path, join(work, 'clean.pdf')]);
  assert.equal(mutool.status, 0, mutool.stderr);
  assert.equal(mutool.stderr.trim(), '', `MuPDF reads the update without repairing: ${mutool.stderr}`);
  const poppler = run('pdfinfo', [path]);
  assert.equal(poppler.status, 0, poppler.stderr);
  assert.equal(poppler.stderr.trim(), '');
});

test('an update of an xref-stream file is an xref stream, keeps /ID[0] and changes /ID[1]', () => {
  for (const file of ['pdf-xref-streams.pdf', 'doc.pdf', 'uncompressed-objstream-sample.pdf']) {
    const original = pdfFile(file);
    const before = PdfReader.open(original);
    const { output } = appendInfo(original);
    const reread = PdfReader.open(output);
    assert.equal(reread.xref.newest.kind, 'stream', file);
    assert.equal(reread.xref.newest.trailer.get('Prev'), before.xref.newest.offset, file);
    const [oldFirst, oldSecond] = before.trailer.get('ID') as PdfString[];
    const [newFirst, newSecond] = reread.trailer.get('ID') as PdfString[];
    assert.ok(newFirst.bytes.equals(oldFirst.bytes), `${file}: /ID first element kept`);
    assert.ok(!newSecond.bytes.equals(oldSecond.bytes), `${file}: /ID second element changes`);
    const path = join(work, `appended-${file}`);
    writeFileSync(path, output);
    const mutool = run('mutool', ['clean', path, join(work, 'clean.pdf')]);
    assert.equal(mutool.stderr.trim(), '', `${file}: ${mutool.stderr}`);
    const poppler = run('pdfinfo', [path]);
    assert.equal(poppler.status, 0, `${file}: ${poppler.stderr}`);
  }
});

test('new object numbers never collide with objects the trailer already refers to', () => {
  // sample-with-empty-signature-fields.pdf: /Size 48 but /AdditionalStreams [… 48 0 R].
  const reader = PdfReader.open(pdfFile('sample-with-empty-signature-fields.pdf'));
  const update = new IncrementalUpdate(reader);
  assert.ok(update.allocate().num > 48);
});

/**
 * Objects 2 (the page tree root) and 3 (the page) live in an object stream whose header maps each
 * number to the other's offset: /Pages resolves to the page and the page to the page tree. qpdf reads
 * the same file; a viewer shows no page. Signing it must not produce such a document.
 */
function swappedObjectStreamPdf(): Buffer {
  const pages = '<< /Type /Pages /Kids [3 0 R] /Count 1 >>';
  const page = '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>';
  // Header pairs "object-number offset": 2 at the page's offset, 3 at the page tree's.
  const body = `${pages} ${page}`;
  const header = `2 ${pages.length + 1} 3 0 `;
  const streamData = header + body;
  let text = '%PDF-1.7\n';
  const offsets: number[] = [];
  offsets[1] = text.length;
  text += '1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n';
  offsets[4] = text.length;
  text += `4 0 obj\n<< /Type /ObjStm /N 2 /First ${header.length} /Length ${streamData.length} >>\nstream\n${streamData}\nendstream\nendobj\n`;
  const xrefOffset = text.length;
  // /W [1 4 2]: type, field 2 (offset or stream number), field 3 (generation or index).
  const row = (type: number, field2: number, field3: number) => {
    const bytes = Buffer.alloc(7);
    bytes[0] = type;
    bytes.writeUInt32BE(field2, 1);
    bytes.writeUInt16BE(field3, 5);
    return bytes;
  };
  const rows = Buffer.concat([row(0, 0, 65535), row(1, offsets[1]!, 0), row(2, 4, 0), row(2, 4, 1), row(1, offsets[4]!, 0), row(1, xrefOffset, 0)]);
  const head = Buffer.from(`${text}5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length ${rows.length} >>\nstream\n`, 'latin1');
  return Buffer.concat([head, rows, Buffer.from(`\nendstream\nendobj\nstartxref\n${xrefOffset}\n%%EOF\n`, 'latin1')]);
}

test('a page tree whose objects resolve to the wrong ones (object stream mapping swapped) is invalid_pdf, and is not signed', async () => {
  const pdf = swappedObjectStreamPdf();
  // qpdf reads the objects as mapped: object 2 is the page, so there is no page tree.
  const scratch = mkdtempSync(join(tmpdir(), 'signet-swapped-'));
  try {
    writeFileSync(join(scratch, 'swapped.pdf'), pdf);
    const shown = run('qpdf', ['--show-object=2', join(scratch, 'swapped.pdf')]);
    assert.match(shown.stdout, /\/Type \/Page\b/);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const reader = PdfReader.open(pdf);
  for (const walk of [() => findPage(reader, 0), () => [...eachPage(reader)]]) {
    assert.throws(walk, (error: unknown) => error instanceof SignetError && error.code === 'invalid_pdf' && /not a page tree node/.test(error.message));
  }
  const pki = await ensureDevelopmentPki(mkdtempSync(join(tmpdir(), 'signet-swapped-pki-')));
  await assert.rejects(signPdfDetailed(pdf, { signer: pki.signer, signingTime: new Date() }), (error: unknown) => error instanceof SignetError && error.code === 'invalid_pdf');
});
