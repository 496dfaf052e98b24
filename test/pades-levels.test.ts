import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ValidationDataSource } from '../src/crypto/cms/cades-baseline-lt.js';
import { developmentCrlIssuer, type CrlIssuer } from '../src/crypto/devca/crl.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { PdfDict, PdfName } from '../src/crypto/pdf/objects.js';
import { readDss } from '../src/crypto/pdf/reader/document-security-store.js';
import { padesCmsFactory } from '../src/crypto/pdf/pades/pades-cms.js';
import { extendPadesLevel } from '../src/crypto/pdf/pades/pades-levels.js';
import { signPdfDetailed } from '../src/crypto/pdf/pades/sign-pdf.js';
import { PdfReader } from '../src/crypto/pdf/reader/pdf-reader.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { SignetError } from '../src/errors/signet-error.js';
import { crlValidationData } from './support/crl-validation-data.js';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';
import { embeddedSignatures } from './support/pdf-bytes.js';

/*
 * PAdES-B-LT (DSS) and B-LTA (document time-stamp) checked by tools that know nothing of our code:
 * pdfsig with the development CA in an NSS database, `mutool sign -v`, `openssl ts -verify` for the
 * document time-stamp over its byte ranges, `openssl crl` / `openssl x509` / `openssl cms -crl_check` for
 * what the DSS holds. The DSS is read back with the project's PDF reader; byte ranges and /Contents are
 * read from the bytes independently of it.
 *
 * What the reference tools make of a document time-stamp (/SubFilter /ETSI.RFC3161), as of poppler 22.12
 * and MuPDF 1.21: pdfsig lists it with "Signature Type: unknown" and "Signature has not yet been
 * verified." (and "Unable to validate this type of signature" on stderr) — it cannot check RFC 3161
 * signatures; MuPDF only counts /Type /Sig values as signed and says "Signature is not signed." for it.
 * So openssl ts -verify is the check of the time-stamp itself.
 */

const DATA = fileURLToPath(new URL('../../shared/testdata', import.meta.url));

let work: string;
let pki: DevelopmentPki;
let caPath: string;
let nssDir: string;
let crlIssuer: CrlIssuer;
let timestamps: InProcessTimestampClient;
let source: ValidationDataSource;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-pades-levels-'));
  // Certificates name a CRL distribution point; nothing needs to serve it here (the issuer is asked directly).
  pki = await ensureDevelopmentPki(join(work, 'pki'), { crlBaseUrl: 'http://127.0.0.1:9' });
  caPath = join(work, 'pki', 'ca.cert.pem');
  crlIssuer = developmentCrlIssuer(pki);
  const authority = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem });
  timestamps = new InProcessTimestampClient(authority);
  source = crlValidationData([new X509Certificate(pki.caCertificatePem).raw], crlIssuer);
  nssDir = join(work, 'nss');
  mkdirSync(nssDir);
  assert.equal(run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']).status, 0);
  const add = run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', caPath]);
  assert.equal(add.status, 0, add.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

let saved = 0;
function save(name: string, bytes: Buffer): string {
  const path = join(work, `${saved++}-${name.replace(/[/]/g, '_')}`);
  writeFileSync(path, bytes);
  return path;
}

async function signBT(pdf: Buffer): Promise<{ pdf: Buffer; fieldName: string }> {
  const signed = await signPdfDetailed(pdf, { signer: pki.signer, signingTime: new Date(), createCms: padesCmsFactory(pki.signer, { timestampClient: timestamps }) });
  return { pdf: Buffer.concat(signed.parts), fieldName: signed.fieldName };
}

interface PdfsigBlock {
  field: string;
  type?: string;
  validation?: string;
  certificate?: string;
  total: boolean;
}

function pdfsig(path: string): { blocks: PdfsigBlock[]; stderr: string } {
  const result = run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${nssDir}`, path]);
  assert.equal(result.status, 0, `pdfsig failed: ${result.stderr}`);
  const blocks = result.stdout
    .split(/^Signature #\d+:\n/m)
    .slice(1)
    .map((block) => ({
      field: /Signature Field Name: (.*)/.exec(block)?.[1] ?? '',
      type: /Signature Type: (.*)/.exec(block)?.[1],
      validation: /Signature Validation: (.*)/.exec(block)?.[1],
      certificate: /Certificate Validation: (.*)/.exec(block)?.[1],
      total: /Total document signed/.test(block),
    }));
  return { blocks, stderr: result.stderr };
}

function mutool(path: string): string[] {
  const result = run('mutool', ['sign', '-v', path]);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split(/^Verifying signature \d+:\n/m).slice(1);
}

function openssl(args: string[]): string {
  const result = run('openssl', args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout + result.stderr;
}

/** What every B-LT file must show; returns the DSS read back. */
function assertLongTerm(file: Buffer, label: string, options: { signatures: number } = { signatures: 1 }) {
  const path = save(`${label}.pdf`, file);
  const { blocks } = pdfsig(path);
  const cades = blocks.filter((block) => block.type === 'ETSI.CAdES.detached');
  assert.equal(cades.length, options.signatures, `${label}: ${JSON.stringify(blocks)}`);
  for (const block of cades) assert.equal(block.validation, 'Signature is Valid.', `${label}: ${block.field}`);
  assert.equal(cades[0].certificate, 'Certificate is Trusted.', label);

  const verdicts = mutool(path).filter((block) => !/Signature is not signed/.test(block));
  assert.equal(verdicts.length, options.signatures, `${label}: ${verdicts.join('|')}`);
  for (const verdict of verdicts) {
    assert.doesNotMatch(verdict, /Digest error|not valid/i, `${label}: ${verdict}`);
    // The DSS (and time-stamp) come after the signature: valid, and later edits seen.
    assert.match(verdict, /The signature is valid but there have been edits since signing\./, `${label}: ${verdict}`);
  }

  const reader = PdfReader.open(file);
  const dss = readDss(reader);
  assert.ok(dss, `${label}: the catalog has a /DSS`);
  const der = (pem: string) => new X509Certificate(pem).raw;
  for (const [name, certificate] of [
    ['signer', pki.signer.certificateDer],
    ['CA', der(pki.caCertificatePem)],
    ['TSA', pki.tsa.certificateDer],
  ] as const) {
    assert.ok(dss.certificates.some((stored) => stored.equals(certificate)), `${label}: the DSS holds the ${name} certificate`);
  }
  assert.equal(dss.certificates.length, 3, `${label}: each certificate once`);
  for (const [index, certificate] of dss.certificates.entries()) {
    const subject = openssl(['x509', '-inform', 'DER', '-in', save(`${label}-cert-${index}.der`, certificate), '-noout', '-subject']);
    assert.match(subject, /Signet Development (Signing|CA|TSA)/);
  }
  assert.equal(dss.crls.length, 1, `${label}: one CRL (one CA issues every certificate)`);
  const crlPath = save(`${label}-crl.der`, dss.crls[0]);
  assert.match(openssl(['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', caPath, '-noout']), /verify OK/);

  // /VRI is keyed by the uppercase SHA-1 of each signature's whole /Contents value.
  const signatures = embeddedSignatures(file).filter((item) => !isTimestampToken(item.der));
  for (const signature of signatures) {
    const key = createHash('sha1').update(signature.contents).digest('hex').toUpperCase();
    const vri = dss.vri.get(key);
    assert.ok(vri, `${label}: VRI entry ${key}`);
    assert.equal(vri.certificates.length, 3);
    assert.equal(vri.crls.length, 1);
    // The signature verifies with revocation checking from the DSS's CRL alone.
    const crlPem = save(`${label}-crl.pem`, Buffer.from(openssl(['crl', '-inform', 'DER', '-in', crlPath, '-outform', 'PEM'])));
    openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', save(`${label}.p7s`, signature.der), '-content', save(`${label}.ranges`, signature.signedBytes),
      '-CAfile', caPath, '-CRLfile', crlPem, '-crl_check', '-out', '/dev/null']);
  }

  // ETSI EN 319 142-1 §5.4.1: a PDF 1.x document using the DSS declares the ESIC extension.
  const extensions = reader.getDict(reader.catalog(), 'Extensions');
  const esic = extensions && reader.getDict(extensions, 'ESIC');
  assert.ok(esic instanceof PdfDict, `${label}: /Extensions /ESIC`);
  assert.equal((esic.get('BaseVersion') as PdfName).value, '1.7');
  return { dss, path };
}

/** id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4) as eContentType: a time-stamp token rather than a signature. */
function isTimestampToken(der: Buffer): boolean {
  return der.includes(Buffer.from('060b2a864886f70d0109100104', 'hex'));
}

/** The document time-stamp: last in the file, covering all of it, and `openssl ts -verify` accepts it. */
function assertDocumentTimestamp(file: Buffer, label: string, path: string): void {
  const all = embeddedSignatures(file);
  const timestamp = all[all.length - 1];
  assert.ok(isTimestampToken(timestamp.der), `${label}: the newest /Contents is a time-stamp token`);
  assert.equal(timestamp.byteRange[2] + timestamp.byteRange[3], file.length, `${label}: it covers the whole file`);
  const text = file.toString('latin1');
  const dictionaryStart = text.lastIndexOf('obj', timestamp.byteRange[1]);
  const dictionary = text.slice(dictionaryStart, timestamp.byteRange[1]);
  assert.match(dictionary, /\/Type \/DocTimeStamp/);
  assert.match(dictionary, /\/SubFilter \/ETSI\.RFC3161/);
  const verified = openssl(['ts', '-verify', '-data', save(`${label}-ts.data`, timestamp.signedBytes), '-in', save(`${label}.tst`, timestamp.der), '-token_in', '-CAfile', caPath]);
  assert.match(verified, /Verification: OK/);
  // The DSS was written before the time-stamp, so the time-stamp covers it.
  const dssAt = text.indexOf('/Type /DSS');
  assert.ok(dssAt > 0 && dssAt < timestamp.byteRange[1], `${label}: the DSS precedes the document time-stamp`);

  const { blocks, stderr } = pdfsig(path);
  const block = blocks[blocks.length - 1];
  assert.equal(block.field, 'DocumentTimestamp1');
  assert.equal(block.type, 'unknown', 'poppler 22.12 has no name for ETSI.RFC3161');
  assert.equal(block.validation, 'Signature has not yet been verified.');
  assert.ok(block.total, `${label}: pdfsig says "Total document signed"`);
  assert.match(stderr, /Unable to validate this type of signature/);
  const verdicts = mutool(path);
  assert.match(verdicts[verdicts.length - 1], /Signature is not signed\./, 'MuPDF 1.21 counts only /Type /Sig values as signed');
}

for (const name of ['sample.pdf', 'minimal.pdf']) {
  test(`${name} at B-LT: a DSS with the chains and the CRL; pdfsig and mutool find the signature valid`, async () => {
    const original = readFileSync(join(DATA, 'pdf', name));
    const signed = await signBT(original);
    const extended = await extendPadesLevel(signed.pdf, { level: 'B-LT', validationData: source, fieldName: signed.fieldName });
    assert.ok(extended.pdf.subarray(0, signed.pdf.length).equals(signed.pdf), 'the B-T file is kept byte for byte');
    assert.ok(extended.pdf.subarray(0, original.length).equals(original), 'the original bytes are unchanged');
    assert.equal(extended.documentTimestampField, undefined);
    assert.equal(embeddedSignatures(extended.pdf).length, 1, 'no time-stamp at B-LT');
    assertLongTerm(extended.pdf, `${name}-B-LT`);
  });

  test(`${name} at B-LTA: B-LT plus a document time-stamp that openssl ts -verify accepts`, async () => {
    const original = readFileSync(join(DATA, 'pdf', name));
    const signed = await signBT(original);
    const extended = await extendPadesLevel(signed.pdf, { level: 'B-LTA', validationData: source, timestampClient: timestamps, fieldName: signed.fieldName });
    assert.ok(extended.pdf.subarray(0, signed.pdf.length).equals(signed.pdf), 'the B-T file is kept byte for byte');
    assert.ok(extended.pdf.subarray(0, original.length).equals(original), 'the original bytes are unchanged');
    assert.equal(extended.documentTimestampField, 'DocumentTimestamp1');
    const { path } = assertLongTerm(extended.pdf, `${name}-B-LTA`);
    assertDocumentTimestamp(extended.pdf, `${name}-B-LTA`, path);
  });
}

/** MANIFEST.md: every input that must sign (B-B … B-LTA), with the signatures it already carries. */
const MUST_SIGN: Array<[string, number]> = [
  ['pdf/MustangBeispiel20221026.pdf', 0],
  ['pdf/doc.pdf', 0],
  ['pdf/minimal-hybrid-xref.pdf', 0],
  ['pdf/minimal-two-fields.pdf', 0],
  ['pdf/not_signed_pdfa.pdf', 0],
  ['pdf/pades-with-old-style-signing-cert-attr.pdf', 1],
  ['pdf/pdf-2.0.pdf', 0],
  ['pdf/pdf-xref-streams.pdf', 0],
  ['pdf/pdfa2a-gray.pdf', 0],
  ['pdf/sample-certified-signingallowed256.pdf', 1],
  ['pdf/sample-with-empty-signature-fields.pdf', 0],
  ['pdf/uncompressed-objstream-sample.pdf', 0],
  ['broken/minimal-startxref-obo1.pdf', 0],
];

test('every other PDF the manifest says must sign reaches B-LTA: all signatures valid, the time-stamp verifies, earlier bytes kept', async () => {
  for (const [file, earlier] of MUST_SIGN) {
    const original = readFileSync(join(DATA, file));
    const signed = await signBT(original);
    const { pdf } = await extendPadesLevel(signed.pdf, { level: 'B-LTA', validationData: source, timestampClient: timestamps });
    assert.ok(pdf.subarray(0, signed.pdf.length).equals(signed.pdf), `${file}: earlier bytes unchanged`);
    const path = save(`all-${file}`, pdf);
    const { blocks } = pdfsig(path);
    const cades = blocks.filter((block) => block.validation === 'Signature is Valid.');
    assert.equal(cades.length, earlier + 1, `${file}: ${JSON.stringify(blocks)}`);
    assert.equal(blocks[blocks.length - 1].field, 'DocumentTimestamp1', file);
    assert.ok(blocks[blocks.length - 1].total, `${file}: the time-stamp covers the whole file`);
    const dss = readDss(PdfReader.open(pdf));
    assert.equal(dss?.certificates.length, 3, file);
    assert.equal(dss?.crls.length, 1, file);
    const all = embeddedSignatures(pdf);
    const timestamp = all[all.length - 1];
    const verified = openssl(['ts', '-verify', '-data', save(`all-${file}.data`, timestamp.signedBytes), '-in', save(`all-${file}.tst`, timestamp.der), '-token_in', '-CAfile', caPath]);
    assert.match(verified, /Verification: OK/, file);
    for (const verdict of mutool(path)) assert.doesNotMatch(verdict, /Digest error|not valid/i, `${file}: ${verdict}`);
  }
});

test('a document time-stamp from another TSA gets its own chain and CRL in one more DSS update', async () => {
  const other = await ensureDevelopmentPki(join(work, 'pki-other'), { crlBaseUrl: 'http://127.0.0.1:9' });
  const otherCa = new X509Certificate(other.caCertificatePem).raw;
  const otherCrls = developmentCrlIssuer(other);
  const otherTsa = new InProcessTimestampClient(
    new TimestampAuthority({ keyPem: other.tsa.keyPem, certificatePem: other.tsa.certificatePem, chainPem: other.caCertificatePem }),
  );
  const both: ValidationDataSource = crlValidationData([...source.certificates, otherCa], crlIssuer, otherCrls);
  const signed = await signBT(readFileSync(join(DATA, 'pdf/minimal.pdf')));
  const { pdf } = await extendPadesLevel(signed.pdf, { level: 'B-LTA', validationData: both, timestampClient: otherTsa });
  const dss = readDss(PdfReader.open(pdf))!;
  assert.equal(dss.certificates.length, 5, 'signer, CA, TSA, other TSA, other CA');
  assert.ok(dss.certificates.some((der) => der.equals(otherCa)));
  assert.ok(dss.certificates.some((der) => der.equals(other.tsa.certificateDer)));
  assert.equal(dss.crls.length, 2);
  const all = embeddedSignatures(pdf);
  const timestamp = all[all.length - 1];
  assert.ok(timestamp.byteRange[2] + timestamp.byteRange[3] < pdf.length, 'the second DSS update follows the time-stamp');
  const timestampKey = createHash('sha1').update(timestamp.contents).digest('hex').toUpperCase();
  assert.equal(dss.vri.get(timestampKey)?.certificates.length, 2, 'the time-stamp has a VRI entry with its chain');
  const verified = openssl(['ts', '-verify', '-data', save('other-ts.data', timestamp.signedBytes), '-in', save('other.tst', timestamp.der), '-token_in',
    '-CAfile', save('other-ca.pem', Buffer.from(other.caCertificatePem))]);
  assert.match(verified, /Verification: OK/);
  const { blocks } = pdfsig(save('other-tsa.pdf', pdf));
  assert.equal(blocks[0].validation, 'Signature is Valid.');
});

test('a missing CRL makes B-LT and B-LTA fail with validation_data_unavailable, writing nothing', async () => {
  const signed = await signBT(readFileSync(join(DATA, 'pdf/minimal.pdf')));
  const noCrl = crlValidationData(source.certificates);
  for (const level of ['B-LT', 'B-LTA'] as const) {
    await assert.rejects(extendPadesLevel(signed.pdf, { level, validationData: noCrl, timestampClient: timestamps }), (error: unknown) => {
      assert.ok(error instanceof SignetError, String(error));
      assert.equal(error.code, 'validation_data_unavailable', error.message);
      return true;
    });
  }
});

test('B-LT needs B-T: a B-B signature is refused', async () => {
  const signed = await signPdfDetailed(readFileSync(join(DATA, 'pdf/minimal.pdf')), { signer: pki.signer, signingTime: new Date() });
  await assert.rejects(extendPadesLevel(Buffer.concat(signed.parts), { level: 'B-LT', validationData: source }), (error: unknown) => {
    assert.ok(error instanceof SignetError, String(error));
    assert.equal(error.code, 'invalid_request');
    return true;
  });
});

test('a second B-LT signature extends the existing DSS without storing anything twice', async () => {
  const first = await extendPadesLevel((await signBT(readFileSync(join(DATA, 'pdf/sample.pdf')))).pdf, { level: 'B-LT', validationData: source });
  const second = await signBT(first.pdf);
  // The default is the newest signature.
  const extended = await extendPadesLevel(second.pdf, { level: 'B-LT', validationData: source });
  assert.ok(extended.pdf.subarray(0, second.pdf.length).equals(second.pdf));
  const { dss } = assertLongTerm(extended.pdf, 'twice-B-LT', { signatures: 2 });
  assert.equal(dss.vri.size, 2, 'one VRI entry per signature');
});

describe('through the HTTP API', () => {
  let service: TestService;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    service = await startTestService();
  });
  after(async () => {
    await service?.stop();
  });

  test('PAdES-B-LT and B-LTA of minimal.pdf: valid in pdfsig, DSS with the service CA’s OCSP responses, document time-stamp verifies', async () => {
    const caPem = await (await fetch(`${service.url}/pki/ca.pem`)).text();
    const serviceCa = save('service-ca.pem', Buffer.from(caPem));
    const serviceNss = join(work, 'service-nss');
    mkdirSync(serviceNss);
    assert.equal(run('certutil', ['-N', '-d', `sql:${serviceNss}`, '--empty-password']).status, 0);
    assert.equal(run('certutil', ['-A', '-d', `sql:${serviceNss}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', serviceCa]).status, 0);
    const pdf = readFileSync(join(DATA, 'pdf/minimal.pdf'));
    for (const level of ['B-LT', 'B-LTA']) {
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
        body: JSON.stringify({ externalReference: `pades-${level}`, signature: { level }, documents: [{ name: 'minimal.pdf', content: pdf.toString('base64') }] }),
      });
      const operation = (await response.json()) as any;
      assert.equal(response.status, 200, JSON.stringify(operation));
      const document = operation.documents[0];
      assert.equal(document.status, 'SIGNED', JSON.stringify(document));
      assert.equal(document.format, 'PAdES');
      assert.equal(document.level, level);
      const signed = Buffer.from(await (await fetch(`${service.url}${document.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
      assert.ok(signed.subarray(0, pdf.length).equals(pdf));
      const path = save(`api-${level}.pdf`, signed);
      const report = run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${serviceNss}`, path]).stdout;
      assert.match(report, /Signature Type: ETSI\.CAdES\.detached[\s\S]*Signature is Valid\.\n\s*- Certificate Validation: Certificate is Trusted\./, report);
      const dss = readDss(PdfReader.open(signed));
      assert.ok(dss && dss.ocsps.length === 2 && dss.crls.length === 0 && dss.certificates.length === 3, `${level}: DSS`);
      // The service's own CA answers by OCSP (its /pki/ocsp responder), for the signer and for the TSA.
      const pkiFolder = join(service.workFolder, 'pki');
      const statuses = dss.ocsps.map((response, index) => {
        const checked = run('openssl', ['ocsp', '-respin', save(`api-${level}-${index}.ocsp`, response), '-CAfile', serviceCa, '-issuer', serviceCa,
          '-cert', join(pkiFolder, 'signing.cert.pem'), '-cert', join(pkiFolder, 'tsa.cert.pem'), '-no_nonce']);
        assert.match(checked.stderr + checked.stdout, /Response verify OK/, `${level}: OCSP response ${index}`);
        return checked.stdout;
      });
      assert.ok(statuses.some((text) => /signing\.cert\.pem: good/.test(text)) && statuses.some((text) => /tsa\.cert\.pem: good/.test(text)), statuses.join('\n'));
      if (level === 'B-LTA') {
        assert.match(report, /Signature Field Name: DocumentTimestamp1/);
        const all = embeddedSignatures(signed);
        const timestamp = all[all.length - 1];
        assert.equal(timestamp.byteRange[2] + timestamp.byteRange[3], signed.length);
        const verified = openssl(['ts', '-verify', '-data', save('api-ts.data', timestamp.signedBytes), '-in', save('api.tst', timestamp.der), '-token_in', '-CAfile', serviceCa]);
        assert.match(verified, /Verification: OK/);
      } else {
        assert.doesNotMatch(report, /DocumentTimestamp/);
      }
    }
  });
});
