import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSignedData } from '../src/crypto/cms/signed-data-parts.js';
import { readDss } from '../src/crypto/pdf/reader/document-security-store.js';
import { PdfReader } from '../src/crypto/pdf/reader/pdf-reader.js';
import { asn1parse, checkArchiveTimestamp } from './support/cades-archive.js';
import { cmsOcspResponses } from './support/cms-ocsp.js';
import { embeddedSignatures } from './support/pdf-bytes.js';
import { freePort, listenOnLoopback, OpensslPki } from './support/openssl-pki.js';
import { OpensslTsa } from './support/openssl-tsa.js';
import { basicAuth, startTestService, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const testdata = path.join(import.meta.dirname, '../../shared/testdata');

/**
 * Long-term levels with a key from another CA (issue 12), end to end through the API. The PKI is made
 * with openssl: a root, an intermediate the key's configured chain leaves out (its certificate is only
 * reachable through the signer's AIA caIssuers), signer and TSA certificates naming an OCSP responder
 * (`openssl ocsp` behind a counting relay) and CRL distribution points on loopback, a revoked signer.
 * The TSA is external: `openssl ts -reply` behind an HTTP wrapper. What Signet embeds is checked from
 * the output bytes by openssl (cms -verify, ocsp -respin) and pdfsig.
 */

const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
let service: TestService;
let tsa: OpensslTsa;
let caWeb: http.Server;
let relay: http.Server;
let caUp = true;
let tsaUrl = '';
/** A key of signing-keys.json: its configured chain is the root only; the intermediate comes from AIA. */
const key = (name: string) => ({ type: 'pem', key: file(`${name}.key`), certificate: file(`${name}.pem`), chain: file('ca.pem') });
/** Every request that reached the CA, by what it asked: an OCSP request's bytes (no nonce: one per certificate) or a URL path. */
const asked: string[] = [];
const auth = basicAuth('client-a', 'secret-a');

before(async () => {
  const responderPort = await freePort();
  // The CA's web presence: issuer certificates and CRLs (generated at each request, as a CA publishes them).
  caWeb = http.createServer((request, response) => {
    if (!caUp) return response.writeHead(503).end();
    asked.push(request.url ?? '');
    if (request.url === '/intermediate.cer') {
      return response.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(pki.der('intermediate.pem'));
    }
    const crl = /^\/(ca|intermediate)\.crl$/.exec(request.url ?? '');
    if (crl) {
      return response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(pki.crl(crl[1]));
    }
    response.writeHead(404).end();
  });
  relay = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!caUp) return response.writeHead(503).end();
    asked.push(`ocsp:${Buffer.concat(chunks).toString('base64')}`);
    const answer = await fetch(`http://127.0.0.1:${responderPort}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.concat(chunks) });
    response.writeHead(answer.status, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  const web = `http://127.0.0.1:${await listenOnLoopback(caWeb)}`;
  const ocspUrl = `http://127.0.0.1:${await listenOnLoopback(relay)}/ocsp`;

  pki.createRoot('/CN=LT Test Root');
  pki.issue('intermediate', '/CN=LT Test Issuing CA', `basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\ncrlDistributionPoints=URI:${web}/ca.crl\n`);
  const endEntity = (usage: string) =>
    `basicConstraints=CA:FALSE\n${usage}\nauthorityInfoAccess=OCSP;URI:${ocspUrl},caIssuers;URI:${web}/intermediate.cer\ncrlDistributionPoints=URI:${web}/intermediate.crl\n`;
  const seal = endEntity('keyUsage=critical,digitalSignature,nonRepudiation');
  for (const name of ['seal', 'seal-outage', 'seal-batch', 'revoked']) pki.issue(name, `/CN=LT ${name}`, seal, 'intermediate');
  pki.issue('tsa', '/CN=LT External TSA', endEntity('keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping'), 'intermediate');
  pki.issue('responder', '/CN=LT OCSP Responder', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n', 'intermediate');
  pki.writeIndex({ good: { intermediate: '/CN=LT Test Issuing CA' } });
  pki.writeIndex(
    {
      good: { seal: '/CN=LT seal', 'seal-outage': '/CN=LT seal-outage', 'seal-batch': '/CN=LT seal-batch', tsa: '/CN=LT External TSA', responder: '/CN=LT OCSP Responder' },
      revoked: { revoked: { subject: '/CN=LT revoked', at: '261201000000Z,keyCompromise' } },
    },
    'intermediate',
  );
  await pki.startResponder('responder', responderPort, 'intermediate');
  // Root and intermediate together: what a relying party trusts plus what it finds in the signature.
  writeFileSync(file('root-and-intermediate.pem'), readFileSync(file('ca.pem'), 'utf8') + readFileSync(file('intermediate.pem'), 'utf8'));

  // The token carries the TSA's certificate only: its issuer is found through AIA as well.
  tsa = new OpensslTsa(pki.folder, 'tsa');
  tsaUrl = await tsa.start();
  service = await startTestService({
    clients: { 'client-a': { secret: 'secret-a', keys: ['seal', 'seal-outage', 'seal-batch', 'revoked'] } },
    flags: [`--tsa-url=${tsaUrl}`, '--outbound-allow=127.0.0.1'],
    files: {
      'signing-keys.json': JSON.stringify({ keys: { seal: key('seal'), 'seal-outage': key('seal-outage'), 'seal-batch': key('seal-batch'), revoked: key('revoked') } }),
    },
  });
});

after(async () => {
  await service?.stop();
  await tsa?.stop();
  caWeb?.close();
  relay?.close();
  pki.destroy();
});

async function submit(reference: string, documents: Array<{ name: string; content: Buffer }>, signature: Record<string, unknown>, on = service): Promise<string> {
  const response = await fetch(`${on.url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ externalReference: reference, signature, documents: documents.map((document) => ({ name: document.name, content: document.content.toString('base64') })) }),
  });
  const body = (await response.json()) as { taskId: string };
  assert.equal(response.status, 202, JSON.stringify(body));
  return body.taskId;
}

async function operation(taskId: string, on = service): Promise<any> {
  return (await fetch(`${on.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json();
}

async function signOne(reference: string, name: string, content: Buffer, signature: Record<string, unknown>): Promise<{ document: any; signed: Buffer; path: string }> {
  const taskId = await submit(reference, [{ name, content }], signature);
  await waitUntilFinal(service.url, auth, taskId, 60_000);
  const [document] = (await operation(taskId)).documents;
  assert.equal(document.status, 'SIGNED', JSON.stringify(document));
  const signed = Buffer.from(await (await fetch(`${service.url}${document.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
  const saved = file(`${reference}-${name}${document.format === 'CAdES' ? '.p7s' : ''}`);
  writeFileSync(saved, signed);
  return { document, signed, path: saved };
}

/** `openssl ocsp -respin`: the response verifies against the root (the intermediate given as untrusted) and says `certificate` is good. */
function assertGoodOcsp(response: Buffer, certificate: string, label: string): void {
  const respin = file(`${label}.ocsp`);
  writeFileSync(respin, response);
  const result = run('openssl', ['ocsp', '-respin', respin, '-issuer', file('intermediate.pem'), '-cert', file(`${certificate}.pem`), '-CAfile', file('ca.pem'),
    '-verify_other', file('intermediate.pem'), '-no_nonce']);
  assert.match(result.stderr + result.stdout, /Response verify OK/, `${label}: ${result.stderr}`);
  assert.match(result.stdout, new RegExp(`${certificate}\\.pem: good`), `${label}: ${result.stdout}`);
}

/** Which of the embedded OCSP responses answer for `certificate` (openssl's reading). */
function responsesFor(responses: Buffer[], certificate: string, label: string): Buffer[] {
  return responses.filter((response, index) => {
    const respin = file(`${label}-${index}.ocsp`);
    writeFileSync(respin, response);
    const result = run('openssl', ['ocsp', '-respin', respin, '-issuer', file('intermediate.pem'), '-cert', file(`${certificate}.pem`), '-noverify', '-no_nonce']);
    return result.stdout.includes(`${certificate}.pem: good`);
  });
}

describe('B-LT and B-LTA with a key and a TSA of another CA', () => {
  const pdf = readFileSync(path.join(testdata, 'pdf/minimal.pdf'));
  const text = Buffer.from('an invoice from another CA\n');

  for (const level of ['B-LT', 'B-LTA'] as const) {
    test(`PAdES ${level}: pdfsig accepts it; the DSS holds the intermediate and OCSP responses for signer and TSA that openssl verifies`, async () => {
      const { signed, path: saved } = await signOne(`pades-${level}`, 'minimal.pdf', pdf, { format: 'PAdES', level, key: 'seal' });
      const report = run('pdfsig', [saved]).stdout;
      assert.match(report.split('Signature #2')[0]!, /Signature is Valid\./, report);
      if (level === 'B-LTA') {
        // pdfsig does not verify document time-stamps; openssl ts does, over the bytes the time-stamp covers.
        const timestamp = embeddedSignatures(signed).at(-1)!;
        writeFileSync(file('doc-ts.data'), timestamp.signedBytes);
        writeFileSync(file('doc-ts.tst'), timestamp.der);
        const verified = run('openssl', ['ts', '-verify', '-data', file('doc-ts.data'), '-in', file('doc-ts.tst'), '-token_in', '-CAfile', file('root-and-intermediate.pem')]);
        assert.match(verified.stdout, /Verification: OK/, verified.stderr);
      }
      const dss = readDss(PdfReader.open(signed))!;
      assert.ok(dss, 'a DSS');
      assert.ok(dss.certificates.some((der) => der.equals(pki.der('intermediate.pem'))), 'the intermediate found through AIA');
      assert.ok(dss.certificates.some((der) => der.equals(pki.der('responder.pem'))), "the delegated responder's certificate");
      assertGoodOcsp(responsesFor(dss.ocsps, 'seal', `pades-${level}-seal`)[0]!, 'seal', `pades-${level}-seal`);
      assertGoodOcsp(responsesFor(dss.ocsps, 'tsa', `pades-${level}-tsa`)[0]!, 'tsa', `pades-${level}-tsa`);
      // The intermediate's status comes from the root's CRL (it names no responder); openssl verifies that CRL.
      assert.equal(dss.crls.length, 1);
      writeFileSync(file(`pades-${level}.crl`), dss.crls[0]!);
      assert.match(run('openssl', ['crl', '-inform', 'DER', '-in', file(`pades-${level}.crl`), '-CAfile', file('ca.pem'), '-noout']).stderr, /verify OK/);
    });

    test(`CAdES ${level}: openssl cms -verify accepts it from the root alone; OCSP responses for signer and TSA inside verify`, async () => {
      const { signed, path: saved } = await signOne(`cades-${level}`, 'invoice.txt', text, { format: 'CAdES', level, key: 'seal' });
      writeFileSync(file(`cades-${level}.txt`), text);
      const verify = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', saved, '-content', file(`cades-${level}.txt`), '-CAfile', file('ca.pem'),
        '-purpose', 'any', '-out', '/dev/null']);
      assert.match(verify.stderr, /Verification successful/, verify.stderr);
      const parts = readSignedData(signed);
      assert.ok(parts.certificates.some((der) => der.equals(pki.der('intermediate.pem'))), 'the intermediate found through AIA');
      const responses = cmsOcspResponses(signed);
      assertGoodOcsp(responsesFor(responses, 'seal', `cades-${level}-seal`)[0]!, 'seal', `cades-${level}-seal`);
      assertGoodOcsp(responsesFor(responses, 'tsa', `cades-${level}-tsa`)[0]!, 'tsa', `cades-${level}-tsa`);
      if (level === 'B-LTA') {
        const types = parts.signerInfos[0]!.unsignedAttributes.map((attribute) => asn1parse(attribute).children[0]!.value);
        assert.ok(types.includes('0.4.0.1733.2.4'), `an archive-time-stamp-v3 (ETSI 0.4.0.1733.2.4) among ${types}`);
      }
    });
  }

  for (const level of ['B-LT', 'B-LTA'] as const) {
    test(`XAdES ${level}: xmlsec1 verifies it; CertificateValues and RevocationValues hold the intermediate and OCSP responses that openssl verifies`, async () => {
      const xml = readFileSync(path.join(testdata, 'xml/factur-x.xml'));
      const { signed, path: saved } = await signOne(`xades-${level}`, 'invoice.xml', xml, { format: 'XAdES', level, key: 'seal' });
      const verified = run('xmlsec1', ['--verify', '--trusted-pem', file('ca.pem'), '--untrusted-pem', file('intermediate.pem'),
        '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', saved]);
      assert.equal(verified.status, 0, verified.stderr);
      assert.match(verified.stderr + verified.stdout, /SignedInfo References \(ok\/all\): 2\/2/);
      const text = signed.toString('utf8');
      const values = (tag: string) => [...text.matchAll(new RegExp(`<xades:${tag}>([^<]+)</xades:${tag}>`, 'g'))].map((match) => Buffer.from(match[1]!, 'base64'));
      assert.ok(values('EncapsulatedX509Certificate').some((der) => der.equals(pki.der('intermediate.pem'))), 'the intermediate found through AIA');
      const ocsps = values('EncapsulatedOCSPValue');
      assertGoodOcsp(responsesFor(ocsps, 'seal', `xades-${level}-seal`)[0]!, 'seal', `xades-${level}-seal`);
      assertGoodOcsp(responsesFor(ocsps, 'tsa', `xades-${level}-tsa`)[0]!, 'tsa', `xades-${level}-tsa`);
      assert.equal(values('EncapsulatedCRLValue').length, 1, "the intermediate's status, from the root's CRL");
      if (level !== 'B-LTA') {
        assert.doesNotMatch(text, /ArchiveTimeStamp/);
        return;
      }
      // The archive time-stamp's imprint, recomputed by lxml (test/support/xades-archive-imprint.py), is what the TSA signed.
      const recomputed = run('/usr/bin/python3', [path.join(import.meta.dirname, 'support/xades-archive-imprint.py')], signed);
      assert.equal(recomputed.status, 0, recomputed.stderr);
      const [imprint, token] = recomputed.stdout.trim().split('\n');
      writeFileSync(file('xades-ats.tst'), Buffer.from(token!, 'base64'));
      const checked = run('openssl', ['ts', '-verify', '-digest', imprint!, '-in', file('xades-ats.tst'), '-token_in', '-CAfile', file('root-and-intermediate.pem')]);
      assert.match(checked.stdout, /Verification: OK/, checked.stderr);
      // Changing a covered byte (the signature time-stamp's base64) breaks the match: the check can fail.
      const tampered = Buffer.from(text.replace(/(<xades:SignatureTimeStamp[^>]*>[\s\S]*?<xades:EncapsulatedTimeStamp>)(.)/, (_all, head: string, first: string) => head + (first === 'A' ? 'B' : 'A')), 'utf8');
      const [otherImprint] = run('/usr/bin/python3', [path.join(import.meta.dirname, 'support/xades-archive-imprint.py')], tampered).stdout.trim().split('\n');
      assert.notEqual(otherImprint, imprint);
      assert.doesNotMatch(run('openssl', ['ts', '-verify', '-digest', otherImprint!, '-in', file('xades-ats.tst'), '-token_in', '-CAfile', file('root-and-intermediate.pem')]).stdout, /Verification: OK/);
      // Signet's own verifier recomputes the same imprint: B-LTA, the archive time-stamp intact — and not once a covered byte changed.
      const verify = async (bytes: Buffer) => {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(bytes)]), 'invoice.xml');
        return ((await (await fetch(`${service.url}/v1/verify`, { method: 'POST', body: form })).json()) as any).signatures[0];
      };
      const report = await verify(signed);
      assert.deepEqual([report.level, report.indication, report.timestamps.map((timestamp: any) => [timestamp.type, timestamp.intact, timestamp.trusted])],
        ['B-LTA', 'TOTAL_PASSED', [['signature', true, true], ['archive', true, true]]], JSON.stringify(report.errors));
      const broken = await verify(tampered);
      assert.notEqual(broken.level, 'B-LTA');
      assert.ok(broken.timestamps.some((timestamp: any) => timestamp.type === 'archive' && !timestamp.intact), JSON.stringify(broken.timestamps));
    });
  }

  test('a revoked signer (keyCompromise) signs nothing: B-B, B-T and B-LT fail certificate_revoked', async () => {
    for (const level of ['B-B', 'B-T', 'B-LT']) {
      const taskId = await submit(`revoked-${level}`, [{ name: 'x.txt', content: text }], { format: 'CAdES', level, key: 'revoked' });
      const finished = await waitUntilFinal(service.url, auth, taskId, 60_000);
      assert.equal(finished.status, 'FAILED', level);
      const [document] = (await operation(taskId)).documents;
      assert.equal(document.error.code, 'certificate_revoked', JSON.stringify(document));
      assert.match(document.error.message, /keyCompromise/);
    }
  });

  test("/metrics shows each key's certificate expiry, state and last revocation check", async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(metrics, /signet_signing_key_state\{key="revoked",state="revoked"\} 1/);
    assert.match(metrics, /signet_signing_key_state\{key="seal",state="good"\} 1/);
    const notAfter = Number(/signet_signing_key_not_after_seconds\{key="seal"\} (\d+)/.exec(metrics)?.[1]);
    const expected = new Date(run('openssl', ['x509', '-in', file('seal.pem'), '-noout', '-enddate']).stdout.trim().split('=')[1]!).getTime() / 1000;
    assert.equal(notAfter, expected);
    const checked = Number(/signet_signing_key_revocation_checked_seconds\{key="seal"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(checked > Date.now() / 1000 - 600 && checked <= Date.now() / 1000 + 1, String(checked));
  });

  test('a new instance started while the CA is down: documents wait; back up, they are signed with revocation data, each source asked once', async () => {
    // A fresh instance (own work folder and store): nothing is cached, not even its keys' status.
    caUp = false;
    let fresh: TestService | undefined;
    try {
      fresh = await startTestService({
        clients: { 'client-a': { secret: 'secret-a', keys: ['seal-outage', 'seal-batch'] } },
        flags: [`--tsa-url=${tsaUrl}`, '--outbound-allow=127.0.0.1'],
        files: { 'signing-keys.json': JSON.stringify({ keys: { 'seal-outage': key('seal-outage'), 'seal-batch': key('seal-batch') } }) },
      });
      const outage = await submit('outage', [{ name: 'x.txt', content: text }], { format: 'CAdES', level: 'B-LT', key: 'seal-outage' }, fresh);
      const documents = Array.from({ length: 60 }, (_, index) => ({ name: `doc-${index}.txt`, content: Buffer.from(`document ${index}\n`) }));
      const batch = await submit('batch', documents, { format: 'CAdES', level: 'B-LT', key: 'seal-batch' }, fresh);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const taskId of [outage, batch]) {
        const waiting = await operation(taskId, fresh);
        assert.ok(!['SUCCEEDED', 'FAILED'].includes(waiting.status), `still waiting, not ${waiting.status}`);
      }
      const from = asked.length;
      caUp = true;
      for (const taskId of [outage, batch]) {
        const finished = await waitUntilFinal(fresh.url, auth, taskId, 90_000);
        assert.equal(finished.status, 'SUCCEEDED', JSON.stringify(finished));
        const failed: unknown[] = (await operation(taskId, fresh)).documents.filter((document: any) => document.status !== 'SIGNED');
        assert.deepEqual(failed, []);
      }
      const [document] = (await operation(outage, fresh)).documents;
      const signed = Buffer.from(await (await fetch(`${fresh.url}${document.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
      assertGoodOcsp(responsesFor(cmsOcspResponses(signed), 'seal-outage', 'outage')[0]!, 'seal-outage', 'outage');
      // 61 documents, two keys, one TSA: each OCSP request (one per certificate), CRL and issuer certificate asked once.
      const during = asked.slice(from);
      assert.ok(during.filter((request) => request.startsWith('ocsp:')).length >= 3, `signers and TSA asked: ${during.length} requests`);
      assert.equal(new Set(during).size, during.length, `no source asked twice: ${during.map((request) => request.slice(0, 40))}`);
    } finally {
      caUp = true;
      await fresh?.stop();
    }
  });
});

describe('extending signatures made by other tools (B-LT, B-LTA, renewal)', () => {
  const pdf = readFileSync(path.join(testdata, 'pdf/minimal.pdf'));

  async function extend(reference: string, name: string, content: Buffer, level: 'B-LT' | 'B-LTA'): Promise<any> {
    const taskId = await submit(reference, [{ name, content }], { extend: true, level });
    await waitUntilFinal(service.url, auth, taskId, 60_000);
    return (await operation(taskId)).documents[0];
  }

  async function download(document: any): Promise<Buffer> {
    return Buffer.from(await (await fetch(`${service.url}${document.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
  }

  /** Every document time-stamp of `signed` verifies with openssl ts over the bytes it covers. */
  function assertDocumentTimestamps(signed: Buffer, label: string): number {
    // A document time-stamp's /Contents is a TimeStampToken: its encapsulated content type, near the start, is id-ct-TSTInfo.
    const tstInfo = Buffer.from('060b2a864886f70d0109100104', 'hex');
    const stamps = embeddedSignatures(signed).filter((signature) => signature.der.subarray(0, 80).includes(tstInfo));
    for (const [index, stamp] of stamps.entries()) {
      writeFileSync(file(`${label}-${index}.data`), stamp.signedBytes);
      writeFileSync(file(`${label}-${index}.tst`), stamp.der);
      const verified = run('openssl', ['ts', '-verify', '-data', file(`${label}-${index}.data`), '-in', file(`${label}-${index}.tst`), '-token_in', '-CAfile', file('root-and-intermediate.pem')]);
      assert.match(verified.stdout, /Verification: OK/, `${label} time-stamp ${index}: ${verified.stderr}`);
    }
    return stamps.length;
  }

  test('a PDF signed by pdfsig (no time-stamp) becomes B-LTA: still valid for pdfsig, DSS with OCSP for its signer, document time-stamps; again: renewed', async () => {
    // pdfsig signs with the seal's key from an NSS database: another tool, another CMS encoder.
    const nss = file('nss-signer');
    mkdirSync(nss, { recursive: true });
    assert.equal(run('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']).status, 0);
    pki.openssl('pkcs12', '-export', '-inkey', file('seal.key'), '-in', file('seal.pem'), '-certfile', file('intermediate.pem'), '-name', 'seal', '-out', file('seal.p12'), '-passout', 'pass:p12');
    const imported = run('pk12util', ['-i', file('seal.p12'), '-d', `sql:${nss}`, '-W', 'p12', '-K', '']);
    assert.equal(imported.status, 0, imported.stderr + imported.stdout);
    writeFileSync(file('unsigned.pdf'), pdf);
    const added = run('pdfsig', ['-add-signature', '-nssdir', `sql:${nss}`, '-nick', 'seal', '-reason', 'signed elsewhere', file('unsigned.pdf'), file('by-pdfsig.pdf')]);
    assert.equal(added.status, 0, added.stderr + added.stdout);
    const byPdfsig = readFileSync(file('by-pdfsig.pdf'));

    const document = await extend('extend-pdf', 'by-pdfsig.pdf', byPdfsig, 'B-LTA');
    assert.equal(document.status, 'SIGNED', JSON.stringify(document));
    const extended = await download(document);
    assert.ok(extended.subarray(0, byPdfsig.length).equals(byPdfsig), 'the signed bytes are kept');
    writeFileSync(file('extended.pdf'), extended);
    const report = run('pdfsig', ['-no-ocsp', file('extended.pdf')]).stdout;
    assert.match(report.split('Signature #2')[0]!, /Signer Certificate Common Name: LT seal[\s\S]*Signature is Valid\./, report);
    // One document time-stamp gives the pdfsig signature its time (B-T), the other archives it all (B-LTA).
    assert.equal(assertDocumentTimestamps(extended, 'extended'), 2);
    const dss = readDss(PdfReader.open(extended))!;
    assertGoodOcsp(responsesFor(dss.ocsps, 'seal', 'extended-seal')[0]!, 'seal', 'extended-seal');
    assertGoodOcsp(responsesFor(dss.ocsps, 'tsa', 'extended-tsa')[0]!, 'tsa', 'extended-tsa');
    assert.ok(dss.certificates.some((der) => der.equals(pki.der('intermediate.pem'))));

    const renewed = await download(await extend('renew-pdf', 'extended.pdf', extended, 'B-LTA'));
    assert.ok(renewed.subarray(0, extended.length).equals(extended));
    writeFileSync(file('renewed.pdf'), renewed);
    assert.match(run('pdfsig', ['-no-ocsp', file('renewed.pdf')]).stdout.split('Signature #2')[0]!, /Signature is Valid\./);
    assert.equal(assertDocumentTimestamps(renewed, 'renewed'), 3, 'a fresh document time-stamp over the earlier ones');
  });

  test('a .p7s made by openssl cms -sign becomes B-LT, then B-LTA; openssl cms -verify accepts each; the OCSP responses inside verify', async () => {
    const content = Buffer.from('content signed by openssl\n');
    writeFileSync(file('openssl-content.txt'), content);
    pki.openssl('cms', '-sign', '-binary', '-in', file('openssl-content.txt'), '-signer', file('seal.pem'), '-inkey', file('seal.key'), '-certfile', file('intermediate.pem'),
      '-outform', 'DER', '-out', file('openssl.p7s'));
    const p7s = readFileSync(file('openssl.p7s'));
    const verify = (name: string) =>
      run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file(name), '-content', file('openssl-content.txt'), '-CAfile', file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);

    const blt = await download(await extend('extend-p7s-lt', 'openssl.p7s', p7s, 'B-LT'));
    writeFileSync(file('openssl-blt.p7s'), blt);
    assert.match(verify('openssl-blt.p7s').stderr, /Verification successful/);
    assertGoodOcsp(responsesFor(cmsOcspResponses(blt), 'seal', 'p7s-seal')[0]!, 'seal', 'p7s-seal');
    assertGoodOcsp(responsesFor(cmsOcspResponses(blt), 'tsa', 'p7s-tsa')[0]!, 'tsa', 'p7s-tsa');

    const blta = await download(await extend('extend-p7s-lta', 'openssl-blt.p7s', blt, 'B-LTA'));
    writeFileSync(file('openssl-blta.p7s'), blta);
    assert.match(verify('openssl-blta.p7s').stderr, /Verification successful/);
    const archive = checkArchiveTimestamp(blta, createHash('sha256').update(content).digest(), { scratch: pki.folder, caFile: file('root-and-intermediate.pem'), name: 'p7s-blta' });
    assert.match(archive.verify.output, /Verification: OK/);
    assert.deepEqual(archive.unmatchedEntries, []);
  });

  test('an XAdES-B-B signature becomes B-LT, then B-LTA twice (renewal): xmlsec1 still verifies it; the new time-stamps cover what lxml canonicalizes; the OCSP values verify', async () => {
    const xml = readFileSync(path.join(testdata, 'xml/factur-x.xml'));
    const { signed: bb } = await signOne('xades-to-extend', 'invoice.xml', xml, { format: 'XAdES', level: 'B-B', key: 'seal' });
    const document = await extend('extend-xades', 'invoice.xml', bb, 'B-LT');
    assert.equal(document.status, 'SIGNED', JSON.stringify(document));
    const extended = await download(document);
    writeFileSync(file('xades-extended.xml'), extended);
    const verified = run('xmlsec1', ['--verify', '--trusted-pem', file('ca.pem'), '--untrusted-pem', file('intermediate.pem'),
      '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file('xades-extended.xml')]);
    assert.equal(verified.status, 0, verified.stderr);
    // Only an insertion: the original bytes are all there, in order, around the new UnsignedProperties.
    const inserted = extended.length - bb.length;
    const at = [...bb.keys()].find((index) => bb[index] !== extended[index]) ?? bb.length;
    assert.ok(bb.subarray(at).equals(extended.subarray(at + inserted)), 'nothing but an insertion');
    const text = extended.toString('utf8');
    const token = Buffer.from(/<xades:SignatureTimeStamp[^>]*>[\s\S]*?<xades:EncapsulatedTimeStamp>([^<]+)</.exec(text)![1]!, 'base64');
    writeFileSync(file('xades-extended.tst'), token);
    const canonical = run('/usr/bin/python3', ['-c', [
      'import hashlib, sys', 'from lxml import etree',
      'root = etree.fromstring(sys.stdin.buffer.read())',
      "value = root.find('.//{http://www.w3.org/2000/09/xmldsig#}SignatureValue')",
      "print(hashlib.sha256(etree.tostring(value, method='c14n', exclusive=True)).hexdigest())"].join('\n')], extended);
    assert.equal(canonical.status, 0, canonical.stderr);
    const checked = run('openssl', ['ts', '-verify', '-digest', canonical.stdout.trim(), '-in', file('xades-extended.tst'), '-token_in', '-CAfile', file('root-and-intermediate.pem')]);
    assert.match(checked.stdout, /Verification: OK/, checked.stderr);
    const ocsps = [...text.matchAll(/<xades:EncapsulatedOCSPValue>([^<]+)</g)].map((match) => Buffer.from(match[1]!, 'base64'));
    assertGoodOcsp(responsesFor(ocsps, 'seal', 'xades-extended-seal')[0]!, 'seal', 'xades-extended-seal');
    assertGoodOcsp(responsesFor(ocsps, 'tsa', 'xades-extended-tsa')[0]!, 'tsa', 'xades-extended-tsa');

    // B-LTA, then again (renewal): each archive time-stamp's imprint, recomputed by lxml, is what its TSA signed.
    const imprintScript = path.join(import.meta.dirname, 'support/xades-archive-imprint.py');
    let current = extended;
    for (const round of [1, 2]) {
      const archived = await extend(`extend-xades-lta-${round}`, 'invoice.xml', current, 'B-LTA');
      assert.equal(archived.status, 'SIGNED', JSON.stringify(archived));
      current = await download(archived);
      writeFileSync(file(`xades-lta-${round}.xml`), current);
      const stillValid = run('xmlsec1', ['--verify', '--trusted-pem', file('ca.pem'), '--untrusted-pem', file('intermediate.pem'),
        '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file(`xades-lta-${round}.xml`)]);
      assert.equal(stillValid.status, 0, stillValid.stderr);
      assert.equal(current.toString('utf8').match(/ArchiveTimeStamp /g)?.length, round);
      for (const which of round === 1 ? [[]] : [[], ['last']]) {
        const recomputed = run('/usr/bin/python3', [imprintScript, ...which], current);
        assert.equal(recomputed.status, 0, recomputed.stderr);
        const [imprint, archiveToken] = recomputed.stdout.trim().split('\n');
        writeFileSync(file('xades-lta.tst'), Buffer.from(archiveToken!, 'base64'));
        const stamped = run('openssl', ['ts', '-verify', '-digest', imprint!, '-in', file('xades-lta.tst'), '-token_in', '-CAfile', file('root-and-intermediate.pem')]);
        assert.match(stamped.stdout, /Verification: OK/, `round ${round} ${which.join('')}: ${stamped.stderr}`);
      }
    }
  });

  test('an unsigned PDF or a file that is no CMS fails not_signed; extend asks for B-LT or B-LTA', async () => {
    assert.equal((await extend('extend-unsigned', 'plain.pdf', pdf, 'B-LT')).error?.code, 'not_signed');
    assert.equal((await extend('extend-not-cms', 'plain.p7s', Buffer.from('not a signature'), 'B-LT')).error?.code, 'not_signed');
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ externalReference: 'extend-bt', signature: { extend: true, level: 'B-T' }, documents: [{ name: 'x.pdf', content: pdf.toString('base64') }] }),
    });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as any).detail, /B-LT or B-LTA/);

    // A .p7s with its `original`: the right content is accepted, another one refused.
    const p7s = readFileSync(file('openssl.p7s'));
    for (const [original, expected] of [[readFileSync(file('openssl-content.txt')), 'SIGNED'], [Buffer.from('other content'), 'FAILED']] as const) {
      const posted = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
        body: JSON.stringify({
          externalReference: `extend-original-${expected}`,
          signature: { extend: true, level: 'B-LT' },
          documents: [{ name: 'openssl.p7s', content: p7s.toString('base64'), original: original.toString('base64') }],
        }),
      });
      const [document] = ((await posted.json()) as any).documents;
      assert.equal(document.status, expected, JSON.stringify(document));
      if (expected === 'FAILED') assert.equal(document.error.code, 'invalid_request');
    }
  });
});

