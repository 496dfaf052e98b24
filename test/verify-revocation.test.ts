import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, listenOnLoopback, OpensslPki } from './support/openssl-pki.js';
import { OpensslTsa } from './support/openssl-tsa.js';
import { basicAuth, startTestService, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const testdata = path.join(import.meta.dirname, '../../shared/testdata');
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((candidate) => existsSync(candidate));

/**
 * POST /v1/verify's verdict (API.md §6, ETSI EN 319 102-1) for signatures whose revocation status must
 * be asked of their CA (issue 13): an openssl PKI whose certificates name an OCSP responder (`openssl
 * ocsp`, delegated, behind a relay that can be switched off) and a CRL distribution point on loopback.
 * Signatures are made by `openssl cms -sign` (not by Signet) and by Signet through the API; what the
 * verdict says of a certificate's status is checked against `openssl ocsp` and `openssl verify
 * -crl_check` asking the same CA. Proof of existence: a B-LTA whose signer certificate has expired
 * since is still TOTAL_PASSED, judged at a validationTime after the expiry; the same at B-B is not.
 */

const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
let service: TestService;
let offline: TestService;
/** Signs B-T with a TSA whose certificate is revoked during the tests. */
let stamping: TestService;
let tsa: OpensslTsa;
let laterRevokedTsa: OpensslTsa;
let caWeb: http.Server;
let relay: http.Server;
let responderUrl = '';
const up = { ocsp: true, crl: true };
/** Requests that reached the CA while it was down, by kind. */
const refused = { ocsp: 0, crl: 0 };
const auth = basicAuth('client-a', 'secret-a');
const signers = ['good', 'revoked-ocsp', 'revoked-crl', 'unreachable', 'short', 'offline'] as const;

before(async () => {
  const responderPort = await freePort();
  caWeb = http.createServer((request, response) => {
    if (!up.crl) {
      refused.crl++;
      return response.writeHead(503).end();
    }
    if (/^\/[\w-]+\.crl$/.test(request.url ?? '')) return response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(pki.crl());
    response.writeHead(404).end();
  });
  relay = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!up.ocsp) {
      refused.ocsp++;
      return response.writeHead(503).end();
    }
    const answer = await fetch(responderUrl, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.concat(chunks) });
    response.writeHead(answer.status, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  const web = `http://127.0.0.1:${await listenOnLoopback(caWeb)}`;
  const ocspUrl = `http://127.0.0.1:${await listenOnLoopback(relay)}/ocsp`;

  pki.createRoot('/CN=Verify Test Root');
  // The same CRL under two addresses: the service keeps a fetched CRL until its nextUpdate, so the
  // outage test needs a distribution point no earlier test has fetched.
  const endEntity = (usage: string, crl = 'ca') => `basicConstraints=CA:FALSE\n${usage}\nauthorityInfoAccess=OCSP;URI:${ocspUrl}\ncrlDistributionPoints=URI:${web}/${crl}.crl\n`;
  const seal = 'keyUsage=critical,digitalSignature,nonRepudiation';
  for (const name of signers) pki.issue(name, `/CN=Verify ${name}`, endEntity(seal, name === 'unreachable' ? 'outage' : 'ca'), 'ca', name === 'short' ? 1 : 30);
  pki.issue('tsa', '/CN=Verify TSA', endEntity('keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping'));
  // A second TSA, revoked during the tests, with a CRL address of its own (no earlier test has it cached).
  pki.issue('tsa-revoked', '/CN=Verify TSA revoked later', endEntity('keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping', 'tsa-revoked'));
  pki.issue('responder', '/CN=Verify OCSP Responder', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n');
  // Revoked a day ago, for key compromise: after the signatures below claim to have been made, and before any proof they existed.
  const yesterday = new Date(Date.now() - 24 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeIndex(yesterday);
  responderUrl = await pki.startResponder('responder', responderPort);

  tsa = new OpensslTsa(pki.folder, 'tsa');
  const tsaUrl = await tsa.start();
  laterRevokedTsa = new OpensslTsa(pki.folder, 'tsa-revoked');
  const laterRevokedTsaUrl = await laterRevokedTsa.start();
  const key = (name: string) => ({ type: 'pem', key: file(`${name}.key`), certificate: file(`${name}.pem`), chain: file('ca.pem') });
  const common = {
    clients: { 'client-a': { secret: 'secret-a', keys: ['short'] } },
    files: { 'signing-keys.json': JSON.stringify({ keys: { short: key('short') } }), 'root.pem': readFileSync(file('ca.pem')) },
  };
  service = await startTestService({ ...common, flags: [`--tsa-url=${tsaUrl}`, '--outbound-allow=127.0.0.1', '--trust-anchors=root.pem'] });
  offline = await startTestService({ ...common, flags: [`--tsa-url=${tsaUrl}`, '--outbound-allow=127.0.0.1', '--trust-anchors=root.pem', '--verify-offline'] });
  stamping = await startTestService({ ...common, flags: [`--tsa-url=${laterRevokedTsaUrl}`, '--outbound-allow=127.0.0.1', '--trust-anchors=root.pem'] });
});

after(async () => {
  await service?.stop();
  await offline?.stop();
  await stamping?.stop();
  await tsa?.stop();
  await laterRevokedTsa?.stop();
  caWeb?.close();
  relay?.close();
  pki.destroy();
});

const content = readFileSync(path.join(testdata, 'cms/hello-world.txt'));

/** The CA's database: two signers revoked at `revokedAt`, and the later-revoked TSA when `tsaRevokedAt` is given. */
function writeIndex(revokedAt: string, tsaRevokedAt?: string): void {
  pki.writeIndex({
    good: {
      good: '/CN=Verify good', unreachable: '/CN=Verify unreachable', short: '/CN=Verify short', offline: '/CN=Verify offline', tsa: '/CN=Verify TSA',
      responder: '/CN=Verify OCSP Responder', ...(!tsaRevokedAt && { 'tsa-revoked': '/CN=Verify TSA revoked later' }),
    },
    revoked: {
      'revoked-ocsp': { subject: '/CN=Verify revoked-ocsp', at: `${revokedAt},keyCompromise` },
      'revoked-crl': { subject: '/CN=Verify revoked-crl', at: `${revokedAt},keyCompromise` },
      ...(tsaRevokedAt && { 'tsa-revoked': { subject: '/CN=Verify TSA revoked later', at: `${tsaRevokedAt},keyCompromise` } }),
    },
  });
}

/** A detached CAdES made by openssl (not Signet) with the named certificate. */
function opensslCades(signer: string): Buffer {
  writeFileSync(file('content.txt'), content);
  pki.openssl('cms', '-sign', '-cades', '-binary', '-in', file('content.txt'), '-signer', file(`${signer}.pem`), '-inkey', file(`${signer}.key`), '-outform', 'DER',
    '-out', file(`${signer}.p7s`), '-nodetach', '-md', 'sha256');
  return readFileSync(file(`${signer}.p7s`));
}

async function verify(on: TestService, parts: { file: Buffer; name: string; signature?: Buffer; validationTime?: string }): Promise<any> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(parts.file)]), parts.name);
  if (parts.signature) form.append('signature', new Blob([new Uint8Array(parts.signature)]), 'signature.p7s');
  if (parts.validationTime) form.append('validationTime', parts.validationTime);
  const response = await fetch(`${on.url}/v1/verify`, { method: 'POST', body: form });
  const body = (await response.json()) as any;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

/** What the CA itself says, asked by openssl: `good` or `revoked`. */
function opensslOcspStatus(signer: string): string {
  const result = run('openssl', ['ocsp', '-issuer', file('ca.pem'), '-cert', file(`${signer}.pem`), '-url', responderUrl, '-CAfile', file('ca.pem'), '-no_nonce']);
  return /: (good|revoked|unknown)/.exec(result.stdout)?.[1] ?? `no answer: ${result.stderr}`;
}

async function signThroughApi(reference: string, level: string, on = service): Promise<Buffer> {
  const response = await fetch(`${on.url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ externalReference: reference, signature: { format: 'PAdES', level, key: 'short' }, documents: [{ name: 'minimal.pdf', content: readFileSync(path.join(testdata, 'pdf/minimal.pdf')).toString('base64') }] }),
  });
  const { taskId } = (await response.json()) as { taskId: string };
  await waitUntilFinal(on.url, auth, taskId, 60_000);
  const operation = (await (await fetch(`${on.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
  assert.equal(operation.documents[0].status, 'SIGNED', JSON.stringify(operation));
  return Buffer.from(await (await fetch(`${on.url}${operation.documents[0].links.content}`, { headers: { authorization: auth } })).arrayBuffer());
}

describe('revocation and proof of existence in POST /v1/verify', () => {
  test('a good signer is TOTAL_PASSED, with its status fetched from its OCSP responder', async () => {
    const [signature] = (await verify(service, { file: opensslCades('good'), name: 'good.p7m' })).signatures;
    assert.deepEqual([signature.indication, signature.subIndication, signature.intact, signature.trusted], ['TOTAL_PASSED', undefined, true, true], JSON.stringify(signature));
    assert.deepEqual(signature.certificates.map((certificate: any) => [certificate.subject, certificate.trustAnchor]), [['CN=Verify good', false], ['CN=Verify Test Root', true]]);
    assert.deepEqual([signature.certificates[0].revocation.status, signature.certificates[0].revocation.source, signature.certificates[0].revocation.embedded], ['good', 'ocsp', false]);
    assert.equal(opensslOcspStatus('good'), 'good', 'the CA agrees');
  });

  test('a revoked signer (openssl cms -sign, then revoked) is not passed: REVOKED_NO_POE from OCSP', async () => {
    const signature = opensslCades('revoked-ocsp');
    // openssl itself, without revocation checking, calls it valid: that was the verifier's blind spot.
    assert.match(run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', file('revoked-ocsp.p7s'), '-CAfile', file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']).stderr, /Verification successful/);
    const [report] = (await verify(service, { file: signature, name: 'revoked.p7m' })).signatures;
    assert.deepEqual([report.indication, report.subIndication, report.intact, report.trusted], ['INDETERMINATE', 'REVOKED_NO_POE', true, false], JSON.stringify(report));
    assert.deepEqual([report.certificates[0].revocation.status, report.certificates[0].revocation.source, report.certificates[0].revocation.reason], ['revoked', 'ocsp', 'keyCompromise']);
    assert.ok(report.errors.some((error: string) => error.startsWith('certificate_revoked')), report.errors.join('\n'));
    assert.equal(opensslOcspStatus('revoked-ocsp'), 'revoked', 'the CA agrees');
  });

  test('with the OCSP responder down, the revocation comes from the CRL', async () => {
    const signature = opensslCades('revoked-crl');
    up.ocsp = false;
    try {
      const [report] = (await verify(service, { file: signature, name: 'revoked.p7m' })).signatures;
      assert.deepEqual([report.indication, report.subIndication], ['INDETERMINATE', 'REVOKED_NO_POE'], JSON.stringify(report));
      assert.deepEqual([report.certificates[0].revocation.status, report.certificates[0].revocation.source], ['revoked', 'crl']);
    } finally {
      up.ocsp = true;
    }
    writeFileSync(file('ca.crl'), pki.openssl('crl', '-inform', 'DER', '-in', file('ca.crl.der')));
    const crlCheck = run('openssl', ['verify', '-crl_check', '-CAfile', file('ca.pem'), '-CRLfile', file('ca.crl'), file('revoked-crl.pem')]);
    assert.match(crlCheck.stdout + crlCheck.stderr, /certificate revoked/, 'openssl agrees from the same CRL');
  });

  test('responder and CRL both down: INDETERMINATE/TRY_LATER, each asked once — no fetch loop', async () => {
    const signature = opensslCades('unreachable');
    up.ocsp = false;
    up.crl = false;
    refused.ocsp = 0;
    refused.crl = 0;
    try {
      const [report] = (await verify(service, { file: signature, name: 'unreachable.p7m' })).signatures;
      assert.deepEqual([report.indication, report.subIndication, report.intact], ['INDETERMINATE', 'TRY_LATER', true], JSON.stringify(report));
      assert.ok(report.errors.some((error: string) => error.startsWith('revocation_unknown')), report.errors.join('\n'));
      assert.equal(report.certificates[0].revocation, undefined);
      assert.deepEqual(refused, { ocsp: 1, crl: 1 });
    } finally {
      up.ocsp = true;
      up.crl = true;
    }
  });

  test('--verify-offline asks no one: a chain without embedded revocation data is TRY_LATER', async () => {
    refused.ocsp = 0;
    up.ocsp = false;
    try {
      const [report] = (await verify(offline, { file: opensslCades('offline'), name: 'offline.p7m' })).signatures;
      assert.deepEqual([report.indication, report.subIndication], ['INDETERMINATE', 'TRY_LATER'], JSON.stringify(report));
      assert.equal(refused.ocsp, 0);
    } finally {
      up.ocsp = true;
    }
  });

  test('proof of existence: after the signer certificate expired, a B-LTA is TOTAL_PASSED and a B-B is OUT_OF_BOUNDS_NO_POE', async () => {
    const lta = await signThroughApi('poe-lta', 'B-LTA');
    const bb = await signThroughApi('poe-bb', 'B-B');
    const expiry = new Date(new X509Certificate(readFileSync(file('short.pem'))).validTo);
    const later = new Date(expiry.getTime() + 24 * 3600_000).toISOString();

    const [now] = (await verify(service, { file: lta, name: 'lta.pdf' })).signatures;
    assert.deepEqual([now.level, now.indication], ['B-LTA', 'TOTAL_PASSED'], JSON.stringify(now));
    assert.equal(now.certificates[0].revocation.embedded, true, 'the DSS answers for the signer: nothing fetched');

    const [lateLta] = (await verify(service, { file: lta, name: 'lta.pdf', validationTime: later })).signatures;
    assert.deepEqual([lateLta.indication, lateLta.subIndication], ['TOTAL_PASSED', undefined], JSON.stringify(lateLta));
    const signatureTimestamp = lateLta.timestamps.find((timestamp: any) => timestamp.type === 'signature');
    assert.deepEqual([signatureTimestamp.intact, signatureTimestamp.trusted], [true, true]);
    assert.equal(lateLta.bestSignatureTime, signatureTimestamp.genTime, 'judged at the signature time-stamp');
    assert.ok(lateLta.timestamps.some((timestamp: any) => timestamp.type === 'document' && timestamp.trusted), 'the document time-stamp is one of its time-stamps');

    const [lateBb] = (await verify(service, { file: bb, name: 'bb.pdf', validationTime: later })).signatures;
    assert.deepEqual([lateBb.indication, lateBb.subIndication, lateBb.trusted], ['INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE', false], JSON.stringify(lateBb));
    assert.equal(lateBb.bestSignatureTime, later);
  });

  test('the /verify page shows the verdict first, then the chain with each status, then the time-stamps (headless Chromium)', { skip: chromiumPath ? false : 'no Chromium installed' }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${service.url}/verify`);
      /** Drops a file on the drop zone as a person would: a drop event carrying it. */
      const dropFile = async (name: string, bytes: Buffer) => {
        const transfer = await page.evaluateHandle(({ name, base64 }) => {
          const data = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
          const dataTransfer = new DataTransfer();
          dataTransfer.items.add(new File([data], name));
          return dataTransfer;
        }, { name, base64: bytes.toString('base64') });
        await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
        await page.waitForSelector('.sig');
      };

      await dropFile('good.p7m', opensslCades('good'));
      assert.equal((await page.textContent('.sig .verdict'))?.trim(), 'Passed');
      assert.match((await page.textContent('.sig .why')) ?? '', /intact, its signer chains to a trust anchor/);
      const goodChain = await page.$$eval('.sig table.chain tr', (rows) => rows.slice(1).map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)));
      assert.equal(goodChain[0]![0], 'CN=Verify good');
      assert.match(goodChain[0]![2]!, /^good — OCSP/);
      assert.match(goodChain[1]![0]!, /Verify Test Root \(trust anchor\)/);

      await dropFile('revoked.p7m', opensslCades('revoked-ocsp'));
      await page.waitForFunction(() => document.querySelector('.sig .verdict')?.textContent?.includes('REVOKED_NO_POE'));
      assert.equal((await page.textContent('.sig .verdict'))?.trim(), 'Indeterminate — REVOKED_NO_POE');
      assert.match((await page.textContent('.sig .why')) ?? '', /^"CN=Verify revoked-ocsp" was revoked at .* \(keyCompromise\)/);
      assert.match((await page.textContent('.sig table.chain')) ?? '', /revoked since .* \(keyCompromise\) — OCSP/);

      const lta = await signThroughApi('page-lta', 'B-LTA');
      await dropFile('lta.pdf', lta);
      await page.waitForFunction(() => document.querySelector('.sig table.timestamps') !== null);
      const stamps = await page.$$eval('.sig table.timestamps tr', (rows) => rows.slice(1).map((row) => row.querySelector('td')?.textContent));
      assert.deepEqual(stamps, ['signature', 'document']);
    } finally {
      await browser.close();
    }
  });

  test("a time-stamp whose TSA was revoked before it proves nothing: its status is asked of the TSA's CA too", async () => {
    const signed = await signThroughApi('tsa-revoked', 'B-T', stamping);
    // The TSA's key is compromised an hour before the token's time: the CA lists it from then (CRL; responder off).
    const anHourAgo = new Date(Date.now() - 3600_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    const yesterday = new Date(Date.now() - 24 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    writeIndex(yesterday, anHourAgo);
    up.ocsp = false;
    try {
      const [now] = (await verify(service, { file: signed, name: 'bt.pdf' })).signatures;
      assert.deepEqual([now.indication, now.timestamps.map((timestamp: any) => [timestamp.type, timestamp.intact, timestamp.trusted])], ['TOTAL_PASSED', [['signature', true, false]]], JSON.stringify(now));
      const expiry = new Date(new X509Certificate(readFileSync(file('short.pem'))).validTo);
      const later = new Date(expiry.getTime() + 24 * 3600_000).toISOString();
      const [afterExpiry] = (await verify(service, { file: signed, name: 'bt.pdf', validationTime: later })).signatures;
      assert.deepEqual([afterExpiry.indication, afterExpiry.subIndication], ['INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE'], 'no proof of existence left');
    } finally {
      up.ocsp = true;
    }
    writeFileSync(file('ca-now.crl'), pki.openssl('crl', '-inform', 'DER', '-in', file('ca.crl.der')));
    const crlCheck = run('openssl', ['verify', '-crl_check', '-CAfile', file('ca.pem'), '-CRLfile', file('ca-now.crl'), file('tsa-revoked.pem')]);
    assert.match(crlCheck.stdout + crlCheck.stderr, /certificate revoked/, 'openssl agrees');
  });

  test('validationTime must be an RFC 3339 date-time', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(content)]), 'a.txt');
    form.append('validationTime', 'yesterday');
    const response = await fetch(`${service.url}/v1/verify`, { method: 'POST', body: form });
    const body = (await response.json()) as any;
    assert.deepEqual([response.status, body.code], [400, 'invalid_request'], JSON.stringify(body));
    assert.match(body.detail, /validationTime/);
  });
});
