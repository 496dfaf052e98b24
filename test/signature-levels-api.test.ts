import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { asn1parse, checkArchiveTimestamp } from './support/cades-archive.js';
import { cmsOcspResponses } from './support/cms-ocsp.js';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';

const testdata = path.join(import.meta.dirname, '../../shared/testdata');

/**
 * The formats and levels end to end: submitted over HTTP, signed by the engine, downloaded, and
 * checked by independent verifiers (openssl, pdfsig, xmlsec1).
 */
describe('signature formats and levels through the API', () => {
  let service: TestService;
  let scratch: string;
  let caFile: string;
  let nssDir: string;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    service = await startTestService();
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-levels-'));
    caFile = path.join(scratch, 'ca.pem');
    await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
    nssDir = path.join(scratch, 'nss');
    await import('node:fs/promises').then((fs) => fs.mkdir(nssDir));
    assert.equal(run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']).status, 0);
    assert.equal(run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', caFile]).status, 0);
  });
  after(async () => {
    await service.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function sign(reference: string, name: string, content: Buffer, signature: Record<string, unknown> = {}) {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({ externalReference: reference, signature, documents: [{ name, content: content.toString('base64') }] }),
    });
    const operation = (await response.json()) as any;
    assert.equal(response.status, 200, JSON.stringify(operation));
    const document = operation.documents[0];
    assert.equal(document.status, 'SIGNED', JSON.stringify(document));
    const signed = Buffer.from(await (await fetch(`${service.url}${document.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
    const file = path.join(scratch, `${reference}-${name}${document.format === 'CAdES' ? '.p7s' : ''}`);
    await writeFile(file, signed);
    return { document, signed, file };
  }

  test('defaults follow the content type at B-T: a PDF becomes PAdES-B-T that pdfsig validates, timestamp included', async () => {
    const pdf = await readFile(path.join(testdata, 'pdf/minimal.pdf'));
    const { document, signed, file } = await sign('default-pdf', 'minimal.pdf', pdf);
    assert.equal(document.format, 'PAdES');
    assert.equal(document.level, 'B-T');
    assert.ok(signed.subarray(0, pdf.length).equals(pdf), 'the original bytes are kept');
    const report = run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${nssDir}`, file]).stdout;
    assert.match(report, /Signature is Valid\./);
    assert.match(report, /Certificate is Trusted\./);
    assert.match(report, /Signature Type: ETSI\.CAdES\.detached/);
    // MuPDF has no trust store to give it; it checks the digest and that nothing changed since.
    const mutool = run('mutool', ['sign', '-v', file]).stdout;
    assert.doesNotMatch(mutool, /Digest error|not valid/i);
    assert.match(mutool, /The document is unchanged since signing\./);
    // The embedded signature carries a signature-time-stamp token (unsigned attribute 1.2.840.113549.1.9.16.2.14).
    const contents = /\/Contents\s*<([0-9A-Fa-f]+)>/.exec(signed.toString('latin1'))![1];
    assert.match(contents, /060b2a864886f70d010910020e/i);
  });

  test('PAdES-B-B of an already signed PDF keeps the first signature valid', async () => {
    const pdf = await readFile(path.join(testdata, 'pdf/minimal.pdf'));
    const first = await sign('twice-1', 'minimal.pdf', pdf, { level: 'B-B' });
    const second = await sign('twice-2', 'once-signed.pdf', first.signed, { level: 'B-B' });
    const report = run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${nssDir}`, second.file]).stdout;
    assert.equal(report.match(/Signature is Valid\./g)?.length, 2, report);
  });

  test('PAdES into a named empty field, XAdES into a named element', async () => {
    const pdf = await readFile(path.join(testdata, 'pdf/sample-with-empty-signature-fields.pdf'));
    const signedPdf = await sign('into-field', 'fields.pdf', pdf, { level: 'B-B', field: 'signature-test' });
    assert.match(run('pdfsig', ['-nssdir', `sql:${nssDir}`, signedPdf.file]).stdout, /Signature Field Name: signature-test/);

    const invoice = await readFile(path.join(testdata, 'xml/ubl-tc434-example1.xml'));
    const location = "/*/*[local-name()='AccountingSupplierParty']";
    const signedXml = await sign('into-element', 'invoice.xml', invoice, { level: 'B-B', signatureLocation: location });
    const text = signedXml.signed.toString('utf8');
    const at = text.indexOf('<ds:Signature');
    assert.ok(at > text.indexOf('<cac:AccountingSupplierParty>') && at < text.indexOf('</cac:AccountingSupplierParty>'));
    const verified = run('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', signedXml.file]);
    assert.equal(verified.status, 0, verified.stderr);
  });

  test('an encrypted or broken PDF fails only its document, with its code', async () => {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({
        externalReference: 'bad-pdfs',
        signature: { level: 'B-B' },
        documents: [
          { name: 'aes.pdf', content: (await readFile(path.join(testdata, 'pdf/minimal-aes256.pdf'))).toString('base64') },
          { name: 'junk.pdf', content: Buffer.from('%PDF-1.7 this is not a PDF').toString('base64') },
          { name: 'ok.pdf', content: (await readFile(path.join(testdata, 'pdf/minimal.pdf'))).toString('base64') },
        ],
      }),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.status, 'SUCCEEDED');
    assert.deepEqual(
      operation.documents.map((d: any) => [d.status, d.error?.code]),
      [['FAILED', 'encrypted_pdf'], ['FAILED', 'invalid_pdf'], ['SIGNED', undefined]],
    );
  });

  for (const level of ['B-B', 'B-T', 'B-LT', 'B-LTA'] as const) {
    test(`XAdES-${level} of a UBL invoice verifies with xmlsec1`, async () => {
      const invoice = await readFile(path.join(testdata, 'xml/ubl-tc434-example1.xml'));
      const { document, file, signed } = await sign(`xades-${level}`, 'invoice.xml', invoice, { level });
      assert.equal(document.format, 'XAdES');
      const result = run('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(signed.includes(Buffer.from('SignatureTimeStamp')), level !== 'B-B');
      assert.equal(signed.includes(Buffer.from('EncapsulatedOCSPValue')), level === 'B-LT' || level === 'B-LTA', 'the development CA answers by OCSP');
      assert.equal(signed.includes(Buffer.from('xades141:ArchiveTimeStamp')), level === 'B-LTA');
      if (level === 'B-LTA') {
        const recomputed = run('/usr/bin/python3', [path.join(import.meta.dirname, 'support/xades-archive-imprint.py')], signed);
        const [imprint, token] = recomputed.stdout.trim().split('\n');
        const tokenFile = path.join(scratch, 'xades-api-ats.tst');
        await writeFile(tokenFile, Buffer.from(token!, 'base64'));
        assert.match(run('openssl', ['ts', '-verify', '-digest', imprint!, '-in', tokenFile, '-token_in', '-CAfile', caFile]).stdout, /Verification: OK/);
      }
    });
  }

  for (const level of ['B-B', 'B-T', 'B-LT', 'B-LTA'] as const) {
    const longTerm = level === 'B-LT' || level === 'B-LTA';
    test(`CAdES-${level} verifies with openssl cms -verify${longTerm ? '; the embedded OCSP responses verify with openssl ocsp' : ''}`, async () => {
      const content = Buffer.from(`CAdES ${level}\n`);
      const { document, signed, file } = await sign(`cades-${level}`, 'note.txt', content, { format: 'CAdES', level });
      assert.equal(document.level, level);
      const contentFile = path.join(scratch, `cades-${level}.txt`);
      await writeFile(contentFile, content);
      const args = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file, '-content', contentFile, '-CAfile', caFile, '-out', '/dev/null'];
      const verified = run('openssl', args);
      assert.equal(verified.status, 0, verified.stderr);
      if (longTerm) {
        // The development CA answers by OCSP, as production CAs do: one response for the signer, one for the TSA.
        const responses = cmsOcspResponses(signed);
        assert.equal(responses.length, 2);
        const pki = path.join(service.workFolder, 'pki');
        for (const [index, response] of responses.entries()) {
          const respin = path.join(scratch, `cades-${level}-${index}.ocsp`);
          await writeFile(respin, response);
          const checked = run('openssl', ['ocsp', '-respin', respin, '-CAfile', caFile, '-issuer', caFile, '-cert', path.join(pki, 'signing.cert.pem'), '-cert', path.join(pki, 'tsa.cert.pem'), '-no_nonce']);
          assert.match(checked.stderr + checked.stdout, /Response verify OK/);
          assert.match(checked.stdout, /(signing|tsa)\.cert\.pem: good/);
        }
      }
      const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file]).stdout;
      assert.equal(/id-smime-aa-timeStampToken/.test(printed), level !== 'B-B');
      // B-LTA: the archive-time-stamp-v3 (0.4.0.1733.2.4) verifies with openssl ts over an imprint recomputed
      // in the test from asn1parse output and the content's own SHA-256; a changed signature value fails it.
      assert.equal(printed.includes('0.4.0.1733.2.4'), level === 'B-LTA');
      if (level !== 'B-LTA') return;
      const contentSha256 = createHash('sha256').update(content).digest();
      const archive = checkArchiveTimestamp(signed, contentSha256, { scratch, caFile, name: 'api-cades-blta' });
      assert.equal(archive.verify.status, 0, archive.verify.output);
      assert.match(archive.verify.output, /Verification: OK/);
      assert.deepEqual(archive.unmatchedEntries, []);
      assert.equal(archive.indexInToken.toString('hex'), archive.recomputedIndex.toString('hex'));
      assert.equal(archive.counts.crls, 2, 'the OCSP responses for the signer and the TSA');
      assert.equal(archive.counts.attributeValues, 1, 'the signature time-stamp');
      // Flip the last octet of the SignerInfo's signature value (found with asn1parse): the archive check fails.
      const signerInfo = asn1parse(signed).children[1].children[0].children.at(-1)!.children[0];
      const signatureValue = signerInfo.children.find((node) => node.tag === 'OCTET STRING')!.bytes;
      const tampered = Buffer.from(signed);
      tampered[signatureValue.byteOffset - signed.byteOffset + signatureValue.length - 1] ^= 0x01;
      const broken = checkArchiveTimestamp(tampered, contentSha256, { scratch, caFile, name: 'api-cades-blta-tampered' });
      assert.notEqual(broken.verify.status, 0);
      assert.match(broken.verify.output, /message imprint mismatch/);
    });
  }

  test('POST /tsa answers RFC 3161 queries that openssl ts -verify accepts; the CRL is published', async () => {
    const data = path.join(scratch, 'tsa-data.txt');
    const query = path.join(scratch, 'q.tsq');
    const reply = path.join(scratch, 'r.tsr');
    await writeFile(data, 'timestamp me');
    assert.equal(run('openssl', ['ts', '-query', '-data', data, '-sha256', '-cert', '-out', query]).status, 0);
    const response = await fetch(`${service.url}/tsa`, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body: await readFile(query),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/timestamp-reply');
    await writeFile(reply, Buffer.from(await response.arrayBuffer()));
    const verified = run('openssl', ['ts', '-verify', '-queryfile', query, '-in', reply, '-CAfile', caFile]);
    assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /Verification: OK/);

    const crl = await fetch(`${service.url}/pki/crl/signet-development-ca.crl`);
    assert.equal(crl.status, 200);
    const crlFile = path.join(scratch, 'dev.crl');
    await writeFile(crlFile, Buffer.from(await crl.arrayBuffer()));
    const checked = run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-noout']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stderr + checked.stdout, /verify OK/);
  });
});
