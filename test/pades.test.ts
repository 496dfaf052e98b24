import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { padesCmsFactory } from '../src/crypto/pdf/pades/pades-cms.js';
import { signPdf, signPdfDetailed, type SignPdfOptions } from '../src/crypto/pdf/pades/sign-pdf.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { SignetError } from '../src/errors/signet-error.js';
import { run } from './support/tools.js';
import { buildPdf, embeddedSignatures, type EmbeddedSignature } from './support/pdf-bytes.js';

/*
 * PAdES signing checked by tools that know nothing of our code: poppler's pdfsig (with the development
 * CA in an NSS database, so trust is checked too), MuPDF's `mutool sign -v`, `openssl cms -verify` over
 * the byte ranges, pdftoppm for the visible stamp. pdfsig exits 0 even on a digest mismatch: every
 * assertion is on what the tools print.
 */

const DATA = fileURLToPath(new URL('../../shared/testdata', import.meta.url));

/** MANIFEST.md: unsigned (or signed) inputs that must sign, with the signatures they already carry. */
const MUST_SIGN: Array<[string, number]> = [
  ['pdf/MustangBeispiel20221026.pdf', 0],
  ['pdf/doc.pdf', 0],
  ['pdf/minimal-hybrid-xref.pdf', 0],
  ['pdf/minimal-two-fields.pdf', 0],
  ['pdf/minimal.pdf', 0],
  ['pdf/not_signed_pdfa.pdf', 0],
  ['pdf/pades-with-old-style-signing-cert-attr.pdf', 1],
  ['pdf/pdf-2.0.pdf', 0],
  ['pdf/pdf-xref-streams.pdf', 0],
  ['pdf/pdfa2a-gray.pdf', 0],
  ['pdf/sample-certified-signingallowed256.pdf', 1],
  ['pdf/sample-with-empty-signature-fields.pdf', 0],
  ['pdf/sample.pdf', 0],
  ['pdf/uncompressed-objstream-sample.pdf', 0],
  // Tolerant case: startxref off by one.
  ['broken/minimal-startxref-obo1.pdf', 0],
];

/** MANIFEST.md: inputs that must be refused, with the code. */
const MUST_FAIL: Array<[string, string]> = [
  ['pdf/minimal-aes256.pdf', 'encrypted_pdf'],
  ['pdf/minimal-rc4.pdf', 'encrypted_pdf'],
  ['pdf/open_protected.pdf', 'encrypted_pdf'],
  ['pdf-signed/encrypted.pdf', 'encrypted_pdf'],
  // No code fixed by API.md; see docmdp.ts.
  ['pdf/sample-certified-nochangesallowed256.pdf', 'certified_no_changes_allowed'],
  ['broken/2catalogs.pdf', 'invalid_pdf'],
  ['broken/EmptyPage-corrupted.pdf', 'invalid_pdf'],
  ['broken/broken-objstream1.pdf', 'invalid_pdf'],
  ['broken/circular-page-tree.pdf', 'invalid_pdf'],
  ['broken/corrupt-factur-x-waytoosmall.pdf', 'invalid_pdf'],
  ['broken/malformed-pades.pdf', 'invalid_pdf'],
  // Tolerant case refused: its table rows are malformed, and an update has to chain to them.
  ['broken/minimal-badxref.pdf', 'invalid_pdf'],
  ['broken/minimal-illegal-header.pdf', 'invalid_pdf'],
  ['broken/minimal-startxref-hopeless.pdf', 'invalid_pdf'],
  ['broken/sample-truncated.pdf', 'invalid_pdf'],
];

let work: string;
let pki: DevelopmentPki;
let nssDir: string;
let caPath: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-pades-'));
  pki = await ensureDevelopmentPki(join(work, 'pki'));
  caPath = join(work, 'pki', 'ca.cert.pem');
  nssDir = join(work, 'nss');
  mkdirSync(nssDir);
  const init = run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']);
  assert.equal(init.status, 0, init.stderr);
  const add = run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', caPath]);
  assert.equal(add.status, 0, add.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

function options(extra: Partial<SignPdfOptions> = {}): SignPdfOptions {
  return { signer: pki.signer, signingTime: new Date(), reason: 'Approved', location: 'Zürich', ...extra };
}

function save(name: string, bytes: Buffer): string {
  const path = join(work, name.replace(/[/]/g, '_'));
  writeFileSync(path, bytes);
  return path;
}

interface PdfsigSignature {
  field: string;
  signed: boolean;
  validation?: string;
  certificate?: string;
  signerName?: string;
}

function pdfsig(path: string): PdfsigSignature[] {
  const result = run('pdfsig', ['-nssdir', `sql:${nssDir}`, path]);
  assert.equal(result.status, 0, `pdfsig failed: ${result.stderr}`);
  return result.stdout
    .split(/^Signature #\d+:\n/m)
    .slice(1)
    .map((block) => ({
      field: /Signature Field Name: (.*)/.exec(block)?.[1] ?? '',
      signed: !/form field is not signed/.test(block),
      validation: /Signature Validation: (.*)/.exec(block)?.[1],
      certificate: /Certificate Validation: (.*)/.exec(block)?.[1],
      signerName: /Signer Certificate Common Name: (.*)/.exec(block)?.[1],
    }));
}

/** `mutool sign -v`: one block per signature field, "Verifying signature N:" then its verdict lines. */
function mutoolVerdicts(path: string): string[] {
  const result = run('mutool', ['sign', '-v', path]);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split(/^Verifying signature \d+:\n/m).slice(1);
}

/**
 * Every signature is valid; ours chain to the development CA. pdfsig 22.12 reads NSS's sticky error code
 * after a successful CERT_PKIXVerifyCert, so the second signature made with the same certificate in one
 * file shows "Unknown issue with Certificate or corrupted data." even when its chain is good (it does so
 * with `-no-ocsp` for the first one too). pdfsig's trust verdict is therefore asserted for the first of
 * ours, and every one of ours is checked for trust with `openssl cms -verify -CAfile` over its ranges.
 */
function assertSignaturesValid(path: string, expectedSigned: number, label: string, tools = { mutool: true }): PdfsigSignature[] {
  const signatures = pdfsig(path).filter((signature) => signature.signed);
  assert.equal(signatures.length, expectedSigned, `${label}: pdfsig lists ${signatures.length} signatures`);
  for (const [index, signature] of signatures.entries()) {
    assert.equal(signature.validation, 'Signature is Valid.', `${label}: signature #${index + 1} (${signature.field})`);
  }
  const ours = signatures.filter((signature) => signature.signerName === 'Signet Development Signing');
  assert.ok(ours.length > 0, `${label}: our signature is listed`);
  assert.equal(ours[0].certificate, 'Certificate is Trusted.', label);
  for (const signature of ours.slice(1)) {
    assert.match(signature.certificate ?? '', /^(Certificate is Trusted\.|Unknown issue with Certificate or corrupted data\.)$/, label);
  }
  const embedded = embeddedSignatures(readFileSync(path));
  for (const [index, signature] of embedded.slice(embedded.length - ours.length).entries()) {
    const verify = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', save(`cms-${index}.p7s`, signature.der),
      '-content', save(`cms-${index}.ranges`, signature.signedBytes), '-CAfile', caPath, '-out', '/dev/null']);
    assert.equal(verify.status, 0, `${label}: openssl cms -verify of our signature ${index + 1}: ${verify.stderr}`);
  }

  if (!tools.mutool) return signatures;
  const verdicts = mutoolVerdicts(path).filter((block) => !/Signature is not signed/.test(block));
  assert.equal(verdicts.length, expectedSigned, `${label}: mutool sees ${verdicts.length} signatures`);
  for (const verdict of verdicts) {
    assert.doesNotMatch(verdict, /Digest error|not valid/i, `${label}: ${verdict}`);
    assert.match(verdict, /The document is unchanged since signing\.|The signature is valid but there have been edits since signing\./);
  }
  assert.match(verdicts[verdicts.length - 1], /The document is unchanged since signing\./, `${label}: newest signature covers the whole file`);
  return signatures;
}

function newestSignature(file: Buffer): EmbeddedSignature {
  const all = embeddedSignatures(file);
  return all[all.length - 1];
}

async function assertFailsWith(file: Buffer, code: string, label: string): Promise<void> {
  await assert.rejects(signPdf(file, options()), (error: unknown) => {
    assert.ok(error instanceof SignetError, `${label}: expected a SignetError, got ${String(error)}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    return true;
  });
}

// ─── the manifest ───────────────────────────────────────────────────────────────────────────────

test('every PDF the manifest says must sign is signed at B-B; pdfsig and mutool find every signature valid', async () => {
  for (const [name, existing] of MUST_SIGN) {
    const original = readFileSync(join(DATA, name));
    const signed = await signPdf(original, options());
    assert.ok(signed.subarray(0, original.length).equals(original), `${name}: output begins with the exact original bytes`);
    const path = save(`signed-${name}`, signed);
    assertSignaturesValid(path, existing + 1, name);
    const { byteRange } = newestSignature(signed);
    assert.equal(byteRange[0], 0, name);
    assert.equal(byteRange[2] + byteRange[3], signed.length, `${name}: the byte range runs to the end of the file`);
  }
});

test('every PDF the manifest says must fail is refused with its code, without a hang', async () => {
  for (const [name, code] of MUST_FAIL) {
    await assertFailsWith(readFileSync(join(DATA, name)), code, name);
  }
});

test('corrupted and truncated inputs fail with a SignetError code or sign; never another error, never a hang', async () => {
  // Deterministic pseudo-random mutations (xorshift32) of files of every structure kind.
  let seed = 0x5eed1234;
  const random = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const files = ['pdf/minimal.pdf', 'pdf/minimal-hybrid-xref.pdf', 'pdf/uncompressed-objstream-sample.pdf', 'pdf/doc.pdf', 'pdf/minimal-two-fields.pdf'];
  const codes = new Map<string, number>();
  for (const name of files) {
    const original = readFileSync(join(DATA, name));
    for (let round = 0; round < 60; round++) {
      const mutated = Buffer.from(original);
      const kind = round % 3;
      if (kind === 0) {
        for (let i = 0; i < 1 + random(4); i++) mutated[random(mutated.length)] = random(256);
      } else if (kind === 1) {
        // Damage the structure the reader relies on: the tail (trailer, startxref) or a digit run.
        const at = mutated.length - 1 - random(Math.min(200, mutated.length));
        mutated[at] = '0123456789 /<>[]()'.charCodeAt(random(18));
      }
      const input = kind === 2 ? mutated.subarray(0, random(mutated.length)) : mutated;
      try {
        await signPdf(input, options());
        codes.set('signed', (codes.get('signed') ?? 0) + 1);
      } catch (error) {
        assert.ok(error instanceof SignetError, `${name} round ${round}: ${String((error as Error)?.stack ?? error)}`);
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
  }
  assert.ok((codes.get('invalid_pdf') ?? 0) > 0 && (codes.get('signed') ?? 0) > 0, JSON.stringify([...codes]));
});

test('input that is no PDF at all is invalid_pdf', async () => {
  await assertFailsWith(Buffer.alloc(0), 'invalid_pdf', 'empty');
  await assertFailsWith(Buffer.from('%PDF-1.7\n' + 'x'.repeat(5000)), 'invalid_pdf', 'header and junk');
  await assertFailsWith(Buffer.from('<html>not a pdf</html>'), 'invalid_pdf', 'html');
});

// ─── the CMS ──────────────────────────────────────────────────────────────────────────────────────

test('the CMS is CAdES detached over the byte ranges: openssl verifies it; signingCertificateV2, no signingTime', async () => {
  const signed = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options());
  const { der: cms, signedBytes } = newestSignature(signed);
  const cmsPath = save('minimal.p7s', cms);
  const contentPath = save('minimal.ranges', signedBytes);
  const verify = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath, '-content', contentPath,
    '-CAfile', caPath, '-out', '/dev/null']);
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stderr, /Verification successful/);
  const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', cmsPath]).stdout;
  assert.match(printed, /id-smime-aa-signingCertificateV2/);
  assert.match(printed, /messageDigest/);
  assert.doesNotMatch(printed, /signingTime/, 'PAdES B-B: the signing time is /M, not a CMS attribute');
});

test('the signature dictionary: /Filter, /SubFilter ETSI.CAdES.detached, /M, /Reason, /Location', async () => {
  const signingTime = new Date(Date.UTC(2026, 10, 22, 9, 30, 15));
  const signed = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ signingTime, reason: 'Approved', location: 'Berne' }));
  const update = signed.subarray(readFileSync(join(DATA, 'pdf/minimal.pdf')).length).toString('latin1');
  assert.match(update, /\/Type \/Sig/);
  assert.match(update, /\/Filter \/Adobe\.PPKLite/);
  assert.match(update, /\/SubFilter \/ETSI\.CAdES\.detached/);
  assert.match(update, /\/M \(D:20261122093015Z\)/);
  assert.match(update, /\/Reason \(Approved\)/);
  assert.match(update, /\/Location \(Berne\)/);
  assert.match(update, /\/SigFlags 3/);
  const result = run('pdfsig', ['-nssdir', `sql:${nssDir}`, save('dict.pdf', signed)]).stdout;
  assert.match(result, /Signing Time: Nov 22 2026/);
});

// ─── several signatures, tampering ─────────────────────────────────────────────────────────────

test('signing a signed PDF keeps the first signature valid (pdfsig reports both)', async () => {
  const once = await signPdf(readFileSync(join(DATA, 'pdf/sample.pdf')), options({ reason: 'First' }));
  const twice = await signPdf(once, options({ reason: 'Second' }));
  assert.ok(twice.subarray(0, once.length).equals(once));
  const signatures = assertSignaturesValid(save('twice.pdf', twice), 2, 'sample.pdf signed twice');
  assert.deepEqual(signatures.map((signature) => signature.field), ['Signature1', 'Signature2']);

  // The same on an xref-stream file, where the second update chains to our own xref stream.
  const streamOnce = await signPdf(readFileSync(join(DATA, 'pdf/pdf-xref-streams.pdf')), options());
  const streamTwice = await signPdf(streamOnce, options());
  assertSignaturesValid(save('stream-twice.pdf', streamTwice), 2, 'pdf-xref-streams.pdf signed twice');
});

test('empty signature fields are filled before new ones are added', async () => {
  const original = readFileSync(join(DATA, 'pdf/minimal-two-fields.pdf'));
  const first = await signPdfDetailed(original, options());
  assert.equal(first.fieldName, 'Sig1');
  const second = await signPdfDetailed(Buffer.concat(first.parts), options());
  assert.equal(second.fieldName, 'Sig2');
  const third = await signPdfDetailed(Buffer.concat(second.parts), options());
  assert.equal(third.fieldName, 'Signature1');
  const signatures = assertSignaturesValid(save('three.pdf', Buffer.concat(third.parts)), 3, 'minimal-two-fields signed three times');
  assert.deepEqual(signatures.map((signature) => signature.field), ['Sig1', 'Sig2', 'Signature1']);

  const libreOffice = await signPdfDetailed(readFileSync(join(DATA, 'pdf/sample-with-empty-signature-fields.pdf')), options());
  assert.equal(libreOffice.fieldName, 'signature-test');
});

test('changing one byte inside a signed range makes pdfsig report the digest mismatch', async () => {
  const signed = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options());
  const tampered = Buffer.from(signed);
  const at = tampered.indexOf('Hello World');
  tampered[at] = 'J'.charCodeAt(0);
  const [signature] = pdfsig(save('tampered.pdf', tampered));
  assert.equal(signature.validation, 'Digest Mismatch.');
  const [verdict] = mutoolVerdicts(save('tampered.pdf', tampered));
  assert.match(verdict, /Digest error/);

  // A byte of the update itself (inside the second range) too.
  const tail = Buffer.from(signed);
  const reason = tail.lastIndexOf('/Reason (Approved)');
  tail[reason + 9] = 'a'.charCodeAt(0);
  assert.equal(pdfsig(save('tampered-tail.pdf', tail))[0].validation, 'Digest Mismatch.');
});

test('the embedded Factur-X XML survives and the PDF 2.0 header is kept', async () => {
  const invoice = save('invoice.pdf', await signPdf(readFileSync(join(DATA, 'pdf/MustangBeispiel20221026.pdf')), options()));
  assert.match(run('pdfdetach', ['-list', invoice]).stdout, /factur-x\.xml/);
  const pdf20 = save('pdf20.pdf', await signPdf(readFileSync(join(DATA, 'pdf/pdf-2.0.pdf')), options()));
  assert.match(run('pdfinfo', [pdf20]).stdout, /PDF version:\s+2\.0/);
});

test('an xref-stream file gets an xref-stream update chained to the original section', async () => {
  const original = readFileSync(join(DATA, 'pdf/pdf-xref-streams.pdf'));
  const signed = await signPdf(original, options());
  const update = signed.subarray(original.length).toString('latin1');
  assert.match(update, /\/Type \/XRef/);
  assert.match(update, /\/Prev 98612\b/, 'chains to the original startxref');
  assert.doesNotMatch(update, /^xref$/m);
});


const PAGE = '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R';
const CONTENT = '<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 100 Td (Form test) Tj ET    \nendstream';

test('a signature field below a parent field (inherited /FT) is filled, with its qualified name', async () => {
  const pdf = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>',
    '<< /Type /Pages /Count 1 /Kids [3 0 R] >>',
    `${PAGE} /Annots [6 0 R] >>`,
    CONTENT,
    '<< /FT /Sig /T (Approvals) /Kids [6 0 R] >>',
    '<< /T (Manager) /Parent 5 0 R /Type /Annot /Subtype /Widget /Rect [20 20 220 60] /F 4 /P 3 0 R >>',
  ]);
  const result = await signPdfDetailed(pdf, options());
  assert.equal(result.fieldName, 'Approvals.Manager');
  const [signature] = assertSignaturesValid(save('inherited.pdf', Buffer.concat(result.parts)), 1, 'inherited /FT');
  assert.equal(signature.field, 'Approvals.Manager');
});

test('indirect /Fields and /Annots arrays are extended as new versions of those arrays; a looping field tree does not hang', async () => {
  const pdf = buildPdf([
    '<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>',
    '<< /Type /Pages /Count 1 /Kids [3 0 R] >>',
    `${PAGE} /Annots 7 0 R >>`,
    CONTENT,
    '<< /Fields 6 0 R /DA (/Helv 0 Tf 0 g) >>',
    '[8 0 R]',
    '[]',
    '<< /FT /Tx /T (Loop) /Kids [9 0 R] >>',
    '<< /T (Back) /Parent 8 0 R /Kids [8 0 R] >>',
  ]);
  const signed = await signPdf(pdf, options());
  const update = signed.subarray(pdf.length).toString('latin1');
  assert.match(update, /^6 0 obj\n\[8 0 R \d+ 0 R\]/m, 'the /Fields array object gets the new field');
  assert.match(update, /^7 0 obj\n\[\d+ 0 R\]/m, 'the /Annots array object gets the widget');
  assert.doesNotMatch(update, /^3 0 obj/m, 'the page itself is not rewritten');
  // MuPDF 1.21 itself recurses forever on the looping field tree of the input (segfault), so only poppler here.
  assertSignaturesValid(save('indirect-arrays.pdf', signed), 1, 'indirect arrays', { mutool: false });
});

// ─── visible stamp, B-T, reservation ────────────────────────────────────────────────────────────

/** Renders page 1 as 8-bit grey (PGM) with poppler and answers its pixels. */
function renderGrey(path: string): { width: number; height: number; pixels: Buffer } {
  const prefix = join(work, `render-${Math.random().toString(36).slice(2)}`);
  const result = run('pdftoppm', ['-r', '72', '-gray', '-f', '1', '-l', '1', '-singlefile', path, prefix]);
  assert.equal(result.status, 0, result.stderr);
  const pgm = readFileSync(`${prefix}.pgm`);
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  assert.ok(header, 'PGM header');
  return { width: Number(header[1]), height: Number(header[2]), pixels: pgm.subarray(header[0].length) };
}

function darkPixels(image: { width: number; height: number; pixels: Buffer }, x0: number, y0: number, x1: number, y1: number): number {
  let dark = 0;
  // PDF y grows upwards, image rows downwards.
  for (let y = image.height - y1; y < image.height - y0; y++) {
    for (let x = x0; x < x1; x++) if (image.pixels[y * image.width + x] < 128) dark++;
  }
  return dark;
}

test('a visible stamp draws its text inside the rectangle and nowhere else; the signature stays valid', async () => {
  const originalPath = join(DATA, 'pdf/minimal.pdf');
  const stamp = { page: 1, x: 120, y: 50, width: 170, height: 60, text: 'Signed by Signet\nZürich, 2026-11-22' };
  const signed = await signPdf(readFileSync(originalPath), options({ visible: stamp }));
  const path = save('visible.pdf', signed);
  assertSignaturesValid(path, 1, 'visible stamp');
  const before = renderGrey(originalPath);
  const afterImage = renderGrey(path);
  assert.equal(darkPixels(before, stamp.x, stamp.y, stamp.x + stamp.width, stamp.y + stamp.height), 0);
  assert.ok(darkPixels(afterImage, stamp.x, stamp.y, stamp.x + stamp.width, stamp.y + stamp.height) > 100, 'the stamp is drawn');
  // Outside the stamp the page is unchanged.
  let changedOutside = 0;
  for (let y = 0; y < before.height; y++) {
    for (let x = 0; x < before.width; x++) {
      const pdfY = before.height - y;
      const inside = x >= stamp.x - 1 && x <= stamp.x + stamp.width + 1 && pdfY >= stamp.y - 1 && pdfY <= stamp.y + stamp.height + 1;
      if (!inside && before.pixels[y * before.width + x] !== afterImage.pixels[y * before.width + x]) changedOutside++;
    }
  }
  assert.equal(changedOutside, 0);
});

/** A PNG (no row filters) with the given IHDR fields and raw rows. */
function png(width: number, height: number, colorType: number, pixel: (x: number, y: number) => number[]): Buffer {
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(...pixel(x, y));
  }
  const chunk = (type: string, body: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = colorType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('a visible stamp with a PNG: opaque RGB embedded as it is, alpha composited onto white; pdfimages lists them', async () => {
  const stamp = { page: 1, x: 20, y: 20, width: 120, height: 60 };
  // Opaque dark red, 40×20: fills the stamp's height (52 pt after padding), 104 pt wide, centred.
  const rgb = png(40, 20, 2, () => [120, 0, 0]);
  const signed = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { ...stamp, imagePng: rgb.toString('base64') } }));
  const path = save('png-rgb.pdf', signed);
  assertSignaturesValid(path, 1, 'PNG stamp');
  assert.match(run('pdfimages', ['-list', path]).stdout, /\s40\s+20\s+rgb\s+3\s+8\s+image/);
  const image = renderGrey(path);
  const boxArea = 104 * 52;
  assert.ok(darkPixels(image, 28, 24, 132, 76) > boxArea * 0.8, 'the image covers its box');

  // RGBA 40×20: left half opaque black, right half fully transparent.
  const rgba = png(40, 20, 6, (x) => (x < 20 ? [0, 0, 0, 255] : [0, 0, 0, 0]));
  const withAlpha = await signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { ...stamp, imagePng: rgba } }));
  const alphaPath = save('png-rgba.pdf', withAlpha);
  assertSignaturesValid(alphaPath, 1, 'PNG stamp with alpha');
  assert.match(run('pdfimages', ['-list', alphaPath]).stdout, /\s40\s+20\s+rgb\s+3\s+8\s+image/, 'no soft mask: RGB only');
  const alphaImage = renderGrey(alphaPath);
  assert.ok(darkPixels(alphaImage, 30, 26, 78, 74) > 40 * 40, 'the opaque half is drawn');
  assert.equal(darkPixels(alphaImage, 84, 26, 128, 74), 0, 'the transparent half is white');

  await assert.rejects(
    signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { ...stamp, imagePng: 'not a png!' } })),
    (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.imagePng',
  );
  await assert.rejects(
    signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { ...stamp, imagePng: Buffer.from('GIF89a') } })),
    (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && /not a PNG/.test(error.message),
  );
});

test('a visible stamp on a page the document does not have is invalid_request', async () => {
  await assert.rejects(
    signPdf(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ visible: { page: 2, x: 0, y: 0, width: 10, height: 10 } })),
    (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.page',
  );
});

test('PDF/A: a stamp with text is refused (no embedded font yet), a framed stamp without text signs', async () => {
  const pdfa = readFileSync(join(DATA, 'pdf/not_signed_pdfa.pdf'));
  const stamp = { page: 1, x: 300, y: 40, width: 200, height: 50 };
  await assert.rejects(
    signPdf(pdfa, options({ visible: { ...stamp, text: 'Signed' } })),
    (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && error.field === 'visible.text',
  );
  const signed = await signPdf(pdfa, options({ visible: stamp }));
  const path = save('pdfa-framed.pdf', signed);
  assertSignaturesValid(path, 1, 'PDF/A framed stamp');
  assert.ok(darkPixels(renderGrey(path), stamp.x, stamp.y, stamp.x + stamp.width, stamp.y + stamp.height) > 100, 'the frame is drawn');
  assert.doesNotMatch(signed.subarray(pdfa.length).toString('latin1'), /Helvetica/, 'no unembedded font is introduced');
});

test('B-T: the CMS carries a signature timestamp from the built-in TSA and pdfsig still validates', async () => {
  const authority = new TimestampAuthority({
    keyPem: pki.tsa.keyPem,
    certificatePem: pki.tsa.certificatePem,
    chainPem: pki.caCertificatePem,
  });
  const createCms = padesCmsFactory(pki.signer, { timestampClient: new InProcessTimestampClient(authority) });
  const signed = await signPdf(readFileSync(join(DATA, 'pdf/sample.pdf')), options({ createCms }));
  assertSignaturesValid(save('b-t.pdf', signed), 1, 'B-T');
  const { der: cms, signedBytes } = newestSignature(signed);
  const cmsPath = save('b-t.p7s', cms);
  const verify = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath,
    '-content', save('b-t.ranges', signedBytes), '-CAfile', caPath, '-out', '/dev/null']);
  assert.equal(verify.status, 0, verify.stderr);
  const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', cmsPath]).stdout;
  assert.match(printed, /id-smime-aa-timeStampToken|1\.2\.840\.113549\.1\.9\.16\.2\.14/);
});

test('the signed file comes as the original buffer itself, unchanged, and the update after it', async () => {
  const original = readFileSync(join(DATA, 'pdf/sample.pdf'));
  const copy = Buffer.from(original);
  const { parts, byteRange } = await signPdfDetailed(original, options());
  assert.equal(parts.length, 2);
  assert.equal(parts[0], original, 'not copied');
  assert.ok(original.equals(copy), 'not a byte of the original written to');
  assert.equal(byteRange[2] + byteRange[3], original.length + parts[1].length);
  assertSignaturesValid(save('parts.pdf', Buffer.concat(parts)), 1, 'sample.pdf from its parts');
});

test('a CMS larger than the reserved /Contents is laid out again with room for it', async () => {
  const result = await signPdfDetailed(readFileSync(join(DATA, 'pdf/minimal.pdf')), options({ contentsCapacity: 256 }));
  const [, contentsStart, contentsEnd] = result.byteRange;
  assert.ok(contentsEnd - contentsStart > 2 * 1024, 'the placeholder grew');
  assertSignaturesValid(save('regrown.pdf', Buffer.concat(result.parts)), 1, 'regrown placeholder');
});
