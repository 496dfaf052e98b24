import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { OcspResponder } from '../src/crypto/devca/ocsp-responder.js';
import { readDss } from '../src/crypto/pdf/reader/document-security-store.js';
import { PdfReader } from '../src/crypto/pdf/reader/pdf-reader.js';
import { buildOcspRequest, ocspGetUrl } from '../src/crypto/revocation/ocsp-request.js';
import { verifyOcspResponse } from '../src/crypto/revocation/ocsp-response.js';
import { cmsOcspResponses } from './support/cms-ocsp.js';
import { freePort } from './support/openssl-pki.js';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const execFileAsync = promisify(execFile);
const testdata = path.join(import.meta.dirname, '../../shared/testdata');

/**
 * The development PKI like a real one (issue 12, API.md §6): its certificates name an OCSP responder
 * in their AIA, served at /pki/ocsp, which `openssl ocsp` (the client, over HTTP) asks and verifies;
 * development B-LT signatures carry its OCSP responses as production ones do.
 */
describe('the development CA OCSP responder at /pki/ocsp', () => {
  let service: TestService;
  let pki: string;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    // Certificates name the public address: a fixed port, so that it is known before the start.
    const port = await freePort();
    service = await startTestService({ flags: [`--port=${port}`, `--public-url=http://127.0.0.1:${port}`] });
    pki = path.join(service.workFolder, 'pki');
  });
  after(async () => service?.stop());

  test('its certificates name it in their AIA; openssl ocsp asks it over HTTP: good, and the response verifies against the CA', async () => {
    for (const name of ['signing.cert.pem', 'tsa.cert.pem']) {
      const text = run('openssl', ['x509', '-in', path.join(pki, name), '-noout', '-ocsp_uri']).stdout.trim();
      assert.equal(text, `${service.url}/pki/ocsp`);
      // Asynchronously: the service answers from this very process.
      const { stdout, stderr } = await execFileAsync('openssl', ['ocsp', '-issuer', path.join(pki, 'ca.cert.pem'), '-cert', path.join(pki, name), '-url', `${service.url}/pki/ocsp`,
        '-CAfile', path.join(pki, 'ca.cert.pem')]);
      assert.match(stderr + stdout, /Response verify OK/);
      assert.match(stdout, new RegExp(`${name.replace('.', '\\.')}: good`));
      assert.match(stdout, /Next Update:/);
    }
  });

  test('the GET form answers the same; a certificate of another CA is unauthorized; garbage is malformedRequest', async () => {
    const ca = readFileSync(path.join(pki, 'ca.cert.pem'));
    const caDer = new X509Certificate(ca).raw;
    const signing = new X509Certificate(readFileSync(path.join(pki, 'signing.cert.pem'))).raw;
    const url = ocspGetUrl(`${service.url}/pki/ocsp`, buildOcspRequest({ certificateDer: signing, issuerDer: caDer }).der)!;
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/ocsp-response');
    const der = Buffer.from(await response.arrayBuffer());
    assert.equal(verifyOcspResponse(der, { certificateDer: signing, issuerDer: caDer }).status, 'good');
    const scratch = mkdtempSync(path.join(tmpdir(), 'signet-dev-ocsp-'));
    try {
      writeFileSync(path.join(scratch, 'get.ocsp'), der);
      const read = run('openssl', ['ocsp', '-respin', path.join(scratch, 'get.ocsp'), '-issuer', path.join(pki, 'ca.cert.pem'), '-cert', path.join(pki, 'signing.cert.pem'),
        '-CAfile', path.join(pki, 'ca.cert.pem'), '-no_nonce']);
      assert.match(read.stderr + read.stdout, /Response verify OK/);

      const other = await ensureDevelopmentPki(path.join(scratch, 'other'));
      const foreign = buildOcspRequest({ certificateDer: other.signer.certificateDer, issuerDer: new X509Certificate(other.caCertificatePem).raw }).der;
      const refused = await fetch(`${service.url}/pki/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(foreign) });
      writeFileSync(path.join(scratch, 'foreign.ocsp'), Buffer.from(await refused.arrayBuffer()));
      assert.match(run('openssl', ['ocsp', '-respin', path.join(scratch, 'foreign.ocsp'), '-resp_text', '-noverify']).stdout, /Responder Error: unauthorized \(6\)/);

      const garbage = await fetch(`${service.url}/pki/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: 'not DER' });
      writeFileSync(path.join(scratch, 'garbage.ocsp'), Buffer.from(await garbage.arrayBuffer()));
      assert.match(run('openssl', ['ocsp', '-respin', path.join(scratch, 'garbage.ocsp'), '-resp_text', '-noverify']).stdout, /Responder Error: malformedrequest \(1\)/i);
      const wrongType = await fetch(`${service.url}/pki/ocsp`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(wrongType.status, 415);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('development B-LT carries OCSP responses from it (PAdES DSS, CAdES otherRevocationInfo) that openssl verifies', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'signet-dev-blt-'));
    try {
      for (const [format, name, content] of [
        ['PAdES', 'minimal.pdf', readFileSync(path.join(testdata, 'pdf/minimal.pdf'))],
        ['CAdES', 'note.txt', Buffer.from('development B-LT\n')],
      ] as const) {
        const response = await fetch(`${service.url}/v1/signatures`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
          body: JSON.stringify({ externalReference: `dev-blt-${format}`, signature: { format, level: 'B-LT' }, documents: [{ name, content: content.toString('base64') }] }),
        });
        const operation = (await response.json()) as any;
        assert.equal(operation.documents[0].status, 'SIGNED', JSON.stringify(operation));
        const signed = Buffer.from(await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: auth } })).arrayBuffer());
        const responses = format === 'PAdES' ? readDss(PdfReader.open(signed))!.ocsps : cmsOcspResponses(signed);
        assert.equal(responses.length, 2, `${format}: one response for the signer, one for the TSA`);
        const statuses = responses.map((der, index) => {
          const file = path.join(scratch, `${format}-${index}.ocsp`);
          writeFileSync(file, der);
          return run('openssl', ['ocsp', '-respin', file, '-CAfile', path.join(pki, 'ca.cert.pem'), '-issuer', path.join(pki, 'ca.cert.pem'),
            '-cert', path.join(pki, 'signing.cert.pem'), '-cert', path.join(pki, 'tsa.cert.pem'), '-no_nonce']);
        });
        for (const status of statuses) assert.match(status.stderr + status.stdout, /Response verify OK/);
        assert.ok(statuses.some((status) => /signing\.cert\.pem: good/.test(status.stdout)), `${format}: the signer is covered`);
        assert.ok(statuses.some((status) => /tsa\.cert\.pem: good/.test(status.stdout)), `${format}: the TSA is covered`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('OcspResponder', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'signet-ocsp-responder-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('a revoked certificate: revoked with time and reason, read alike by openssl and by crypto/revocation', async () => {
    const pki = await ensureDevelopmentPki(path.join(scratch, 'pki'));
    const caDer = new X509Certificate(pki.caCertificatePem).raw;
    const revokedAt = new Date('2026-11-30T12:00:00Z');
    const responder = new OcspResponder({
      caCertificatePem: pki.caCertificatePem,
      caKeyPem: pki.caKeyPem,
      issued: [pki.signer.certificateDer, pki.tsa.certificateDer],
      revoked: () => [{ serialNumber: new X509Certificate(pki.signer.certificateDer).serialNumber, revocationDate: revokedAt, reason: 1 }],
    });
    const der = await responder.responseFor(pki.signer.certificateDer);
    const verdict = verifyOcspResponse(der, { certificateDer: pki.signer.certificateDer, issuerDer: caDer });
    assert.equal(verdict.status, 'revoked');
    assert.equal(verdict.reason, 'keyCompromise');
    assert.equal(verdict.revokedAt?.toISOString(), revokedAt.toISOString());
    writeFileSync(path.join(scratch, 'revoked.ocsp'), der);
    writeFileSync(path.join(scratch, 'signer.pem'), new X509Certificate(pki.signer.certificateDer).toString());
    writeFileSync(path.join(scratch, 'ca.pem'), pki.caCertificatePem);
    const read = run('openssl', ['ocsp', '-respin', path.join(scratch, 'revoked.ocsp'), '-issuer', path.join(scratch, 'ca.pem'), '-cert', path.join(scratch, 'signer.pem'),
      '-CAfile', path.join(scratch, 'ca.pem'), '-no_nonce']);
    assert.match(read.stderr + read.stdout, /Response verify OK/);
    assert.match(read.stdout, /signer\.pem: revoked/);
    assert.match(read.stdout, /Reason: keyCompromise/);
    assert.match(read.stdout, /Revocation Time: Nov 30 12:00:00 2026 GMT/);
    // The TSA certificate it also issued stays good.
    assert.equal(verifyOcspResponse(await responder.responseFor(pki.tsa.certificateDer), { certificateDer: pki.tsa.certificateDer, issuerDer: caDer }).status, 'good');
  });

  test('a nonce is echoed: the nonce of a request openssl made comes back in the signed response', async () => {
    const pki = await ensureDevelopmentPki(path.join(scratch, 'nonce-pki'));
    const responder = new OcspResponder({ caCertificatePem: pki.caCertificatePem, caKeyPem: pki.caKeyPem, issued: [pki.signer.certificateDer] });
    const at = (name: string) => path.join(scratch, name);
    writeFileSync(at('n-ca.pem'), pki.caCertificatePem);
    writeFileSync(at('n-signer.pem'), new X509Certificate(pki.signer.certificateDer).toString());
    run('openssl', ['ocsp', '-issuer', at('n-ca.pem'), '-cert', at('n-signer.pem'), '-reqout', at('n.req')]);
    writeFileSync(at('n.resp'), await responder.respond(readFileSync(at('n.req'))));
    const nonceOf = (text: string) => /OCSP Nonce:\s*\n\s*([0-9A-F]+)/.exec(text)?.[1];
    const sent = nonceOf(run('openssl', ['ocsp', '-reqin', at('n.req'), '-req_text']).stdout);
    const read = run('openssl', ['ocsp', '-respin', at('n.resp'), '-resp_text', '-issuer', at('n-ca.pem'), '-cert', at('n-signer.pem'), '-CAfile', at('n-ca.pem'), '-no_nonce']);
    assert.match(read.stderr + read.stdout, /Response verify OK/);
    assert.match(read.stdout, /n-signer\.pem: good/);
    assert.ok(sent && sent.length > 16, 'openssl sent a nonce');
    assert.equal(nonceOf(read.stdout), sent);
  });
});
