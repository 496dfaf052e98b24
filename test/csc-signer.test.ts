import assert from 'node:assert/strict';
import { constants, createPrivateKey, privateEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEcdsaDigestSigner } from '../src/crypto/keys/ecdsa-digest-signature.js';
import { listenOnLoopback, OpensslPki } from './support/openssl-pki.js';
import { textPdf } from './support/pdf-bytes.js';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';

/**
 * Remote keys over the CSC API v2 (API.md §9 `"type": "csc"`, issue 15): a CSC service written here
 * holds the key (an openssl CA issued its certificate) and records every call. Signet must send only
 * hashes, batch them (multisign), authorize explicitly with the PIN, and wait out an outage.
 */

const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const AUTH = basicAuth('client-a', 'secret-a');

class CscTestService {
  readonly calls: Array<{ path: string; body: any; bytes: number }> = [];
  signHashDown = false;
  /** The token the service accepts; changing it is a restart that forgot every issued token. */
  validToken = 'token-1';
  /** A second credential with a P-256 key, answering ECDSA as r‖s (IEEE P1363), as some services do. */
  ec?: { keyPem: string; chainDer: Buffer[] };
  readonly #server = http.createServer((request, response) => void this.#answer(request, response));
  port = 0;

  constructor(
    private readonly keyPem: string,
    private readonly chainDer: Buffer[],
  ) {}

  async start(): Promise<string> {
    this.port = await listenOnLoopback(this.#server);
    return `http://127.0.0.1:${this.port}/csc/v2`;
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  signHashCalls() {
    return this.calls.filter((call) => call.path.endsWith('/signatures/signHash'));
  }

  async #answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = request.url ?? '';
    const body = request.headers['content-type']?.startsWith('application/json') ? JSON.parse(raw || '{}') : Object.fromEntries(new URLSearchParams(raw));
    this.calls.push({ path: url, body, bytes: raw.length });
    const send = (status: number, answer: object): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    };
    if (url === '/csc/v2/oauth2/token') {
      if (body.grant_type !== 'client_credentials' || body.client_id !== 'signet' || body.client_secret !== 'csc-client-secret') return send(401, { error: 'invalid_client' });
      return send(200, { access_token: this.validToken, token_type: 'Bearer', expires_in: '3600' });
    }
    if (request.headers.authorization !== `Bearer ${this.validToken}`) return send(401, { error: 'invalid_token' });
    if (body.credentialID === 'seal-ec' && this.ec) return this.#answerEc(url, body, send);
    if (url === '/csc/v2/credentials/info') {
      if (body.credentialID !== 'seal-1') return send(400, { error: 'invalid_request', error_description: 'unknown credentialID' });
      return send(200, {
        key: { status: 'enabled', algo: ['1.2.840.113549.1.1.1', '1.2.840.113549.1.1.11'], len: 2048 },
        cert: { status: 'valid', certificates: this.chainDer.map((der) => der.toString('base64')) },
        authMode: 'explicit',
        SCAL: '1',
        multisign: 50,
      });
    }
    if (url === '/csc/v2/credentials/authorize') {
      if (body.PIN !== '4711') return send(400, { error: 'invalid_pin', error_description: 'The PIN is wrong' });
      if (body.numSignatures !== body.hashes?.length) return send(400, { error: 'invalid_request' });
      return send(200, { SAD: `sad-${this.calls.length}`, expiresIn: 60 });
    }
    if (url === '/csc/v2/signatures/signHash') {
      if (this.signHashDown) return send(503, { error: 'temporarily_unavailable' });
      if (typeof body.SAD !== 'string' || !body.SAD.startsWith('sad-')) return send(400, { error: 'invalid_request', error_description: 'SAD missing' });
      if (body.hashAlgorithmOID !== '2.16.840.1.101.3.4.2.1' || body.signAlgo !== '1.2.840.113549.1.1.1') return send(400, { error: 'invalid_request' });
      const key = createPrivateKey(this.keyPem);
      const signatures = (body.hashes as string[]).map((hash) =>
        privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(hash, 'base64')])).toString('base64'),
      );
      return send(200, { signatures });
    }
    send(404, { error: 'invalid_request' });
  }

  /** The EC credential: implicit authorization (no SAD), ecdsa-with-SHA256, signatures as r‖s. */
  #answerEc(url: string, body: any, send: (status: number, answer: object) => void): void {
    const { keyPem, chainDer } = this.ec!;
    if (url === '/csc/v2/credentials/info') {
      return send(200, {
        key: { status: 'enabled', algo: ['1.2.840.10045.4.3.2'], len: 256 },
        cert: { status: 'valid', certificates: chainDer.map((der) => der.toString('base64')) },
        authMode: 'implicit',
        multisign: 10,
      });
    }
    if (url === '/csc/v2/signatures/signHash' && body.signAlgo === '1.2.840.10045.4.3.2' && body.SAD === undefined) {
      const sign = createEcdsaDigestSigner(createPrivateKey(keyPem));
      return send(200, { signatures: (body.hashes as string[]).map((hash) => derToP1363(sign(Buffer.from(hash, 'base64')), 32).toString('base64')) });
    }
    send(400, { error: 'invalid_request' });
  }
}

/** DER Ecdsa-Sig-Value → r‖s, each `size` bytes. */
function derToP1363(der: Buffer, size: number): Buffer {
  let at = 2;
  const integer = () => {
    const length = der[at + 1]!;
    const value = der.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    const trimmed = value[0] === 0 ? value.subarray(1) : value;
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([integer(), integer()]);
}

describe('a remote key over the CSC API v2', () => {
  const pki = new OpensslPki();
  let csc: CscTestService;
  let baseUrl: string;
  let service: TestService;
  let scratch: string;
  const signingKeys = (pin: string) =>
    JSON.stringify({
      keys: {
        default: { type: 'csc', baseUrl, clientId: 'signet', clientSecret: 'env:SIGNET_TEST_CSC_SECRET', credentialId: 'seal-1', pin },
        ec: { type: 'csc', baseUrl, clientId: 'signet', clientSecret: 'env:SIGNET_TEST_CSC_SECRET', credentialId: 'seal-ec' },
      },
    });
  const clients = { 'client-a': { secret: 'secret-a', keys: ['default', 'ec'] } };

  before(async () => {
    pki.createRoot('/CN=CSC Test Root');
    pki.issue('seal', '/CN=Remote Qualified Seal', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
    csc = new CscTestService(readFileSync(pki.file('seal.key'), 'utf8'), [pki.der('seal.pem'), pki.der('ca.pem')]);
    // An EC seal: its key and request made by openssl, signed by the same root.
    pki.openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki.file('ec.key'));
    pki.openssl('req', '-new', '-key', pki.file('ec.key'), '-subj', '/CN=Remote EC Seal', '-out', pki.file('ec.csr'));
    pki.openssl('x509', '-req', '-in', pki.file('ec.csr'), '-CA', pki.file('ca.pem'), '-CAkey', pki.file('ca.key'), '-CAcreateserial', '-days', '30', '-out', pki.file('ec.pem'));
    csc.ec = { keyPem: readFileSync(pki.file('ec.key'), 'utf8'), chainDer: [pki.der('ec.pem'), pki.der('ca.pem')] };
    baseUrl = await csc.start();
    process.env.SIGNET_TEST_CSC_SECRET = 'csc-client-secret';
    service = await startTestService({ clients, files: { 'signing-keys.json': signingKeys('literal-pin-is-wrong') }, flags: ['--outbound-allow=127.0.0.1'] }).then(
      () => assert.fail('a wrong PIN must stop the start'),
      (error: Error) => {
        assert.match(error.message, /invalid_pin|PIN is wrong/, error.message);
        return undefined as unknown as TestService;
      },
    );
    process.env.SIGNET_TEST_CSC_PIN = '4711';
    csc.calls.length = 0;
    service = await startTestService({ clients, files: { 'signing-keys.json': signingKeys('env:SIGNET_TEST_CSC_PIN') }, flags: ['--outbound-allow=127.0.0.1'] });
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-csc-'));
  });
  after(async () => {
    await service?.stop();
    csc.close();
    pki.destroy();
    await rm(scratch, { recursive: true, force: true });
  });

  test('a csc key without its credentialId, or with a baseUrl that is no URL, stops the start naming the line', async () => {
    await assert.rejects(
      startTestService({ files: { 'signing-keys.json': '{\n  "keys": {\n    "r": { "type": "csc", "baseUrl": "https://rssp.example/csc/v2", "clientId": "a", "clientSecret": "env:X" }\n  }\n}' } }),
      /signing-keys\.json line 3: keys\.r\.credentialId is missing/,
    );
    await assert.rejects(
      startTestService({ files: { 'signing-keys.json': JSON.stringify({ keys: { r: { type: 'csc', baseUrl: 'rssp.example', clientId: 'a', clientSecret: 'env:X', credentialId: 'c' } } }) } }),
      /keys\.r\.baseUrl must be a URL/,
    );
    await assert.rejects(
      startTestService({ files: { 'signing-keys.json': JSON.stringify({ keys: { r: { type: 'csc', baseUrl: 'http://rssp.example/csc/v2', clientId: 'a', clientSecret: 'env:X', credentialId: 'c' } } }) } }),
      /keys\.r\.baseUrl must be https \(http only on loopback\)/,
    );
  });

  test('the start-up test signature went through token, credentials/info, authorize and signHash', () => {
    assert.deepEqual(
      csc.calls.filter((call) => call.body.credentialID !== 'seal-ec').map((call) => call.path),
      ['/csc/v2/oauth2/token', '/csc/v2/credentials/info', '/csc/v2/credentials/authorize', '/csc/v2/signatures/signHash', '/csc/v2/oauth2/token'],
    );
  });

  test('50 PDFs at PAdES B-T: pdfsig finds them valid, the service saw only 32-byte hashes, in a few signHash calls', { timeout: 120_000 }, async () => {
    const before = csc.calls.length;
    const pdfs = Array.from({ length: 50 }, (_, i) => textPdf([`BT /F1 12 Tf 72 720 Td (Invoice ${i}) Tj ET`]));
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=60' },
      body: JSON.stringify({
        externalReference: 'csc-50',
        signature: { format: 'PAdES', level: 'B-T' },
        documents: pdfs.map((pdf, i) => ({ name: `invoice-${i}.pdf`, content: pdf.toString('base64') })),
      }),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.status, 'SUCCEEDED', JSON.stringify(operation).slice(0, 2000));
    assert.ok(operation.documents.every((doc: any) => doc.status === 'SIGNED'));
    for (const index of [0, 17, 49]) {
      const signed = await fetch(`${service.url}${operation.documents[index].links.content}`, { headers: { authorization: AUTH } });
      const file = path.join(scratch, `invoice-${index}.pdf`);
      await writeFile(file, Buffer.from(await signed.arrayBuffer()));
      const report = run('pdfsig', [...PDFSIG_OFFLINE, file]).stdout;
      assert.match(report, /Signature is Valid\./, report);
      assert.match(report, /Remote Qualified Seal/, report);
    }
    const calls = csc.calls.slice(before);
    const signHash = calls.filter((call) => call.path.endsWith('/signatures/signHash'));
    const hashes = signHash.flatMap((call) => call.body.hashes as string[]);
    assert.equal(hashes.length, 50, 'one hash per document');
    assert.ok(hashes.every((hash) => Buffer.from(hash, 'base64').length === 32));
    assert.ok(signHash.length <= 6, `${signHash.length} signHash calls for 50 documents`);
    const sent = calls.reduce((sum, call) => sum + call.bytes, 0);
    const documents = pdfs.reduce((sum, pdf) => sum + pdf.length, 0);
    assert.ok(sent < documents / 4, `${sent} bytes sent to the CSC service for ${documents} bytes of documents`);
    assert.ok(calls.every((call) => !JSON.stringify(call.body).includes('JVBER')), 'a PDF (base64 %PDF) reached the CSC service');
  });

  test('while signHash answers 503 the document waits (PENDING, attempts counted); once it is back it signs', { timeout: 120_000 }, async () => {
    csc.signHashDown = true;
    const content = Buffer.from('signed while the remote service was down');
    const submitted = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ externalReference: 'csc-down', signature: { format: 'CAdES', level: 'B-B' }, documents: [{ name: 'note.txt', content: content.toString('base64') }] }),
    });
    const { taskId } = (await submitted.json()) as any;
    const task = async () => (await (await fetch(`${service.url}/v1/tasks/${taskId}`, { headers: { authorization: AUTH } })).json()) as any;
    const deadline = Date.now() + 30_000;
    let waiting = await task();
    while (waiting.attempts < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      waiting = await task();
    }
    assert.ok(waiting.attempts >= 2, JSON.stringify(waiting));
    assert.ok(['PENDING', 'RUNNING'].includes(waiting.status), JSON.stringify(waiting));
    csc.signHashDown = false;
    let done = await task();
    while (!['SUCCEEDED', 'FAILED'].includes(done.status) && Date.now() < deadline + 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      done = await task();
    }
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    const operation = (await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: AUTH } })).json()) as any;
    const p7s = Buffer.from(await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: AUTH } })).arrayBuffer());
    await writeFile(path.join(scratch, 'note.p7s'), p7s);
    await writeFile(path.join(scratch, 'note.txt'), content);
    const verified = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(scratch, 'note.p7s'), '-content', path.join(scratch, 'note.txt'), '-CAfile', pki.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.equal(verified.status, 0, verified.stderr);
  });

  async function signCades(key: string, content: Buffer, reference: string) {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({ externalReference: reference, signature: { format: 'CAdES', level: 'B-B', key }, documents: [{ name: 'note.txt', content: content.toString('base64') }] }),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.status, 'SUCCEEDED', JSON.stringify(operation));
    const p7s = Buffer.from(await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: AUTH } })).arrayBuffer());
    await writeFile(path.join(scratch, `${reference}.p7s`), p7s);
    await writeFile(path.join(scratch, `${reference}.txt`), content);
    return run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(scratch, `${reference}.p7s`), '-content', path.join(scratch, `${reference}.txt`), '-CAfile', pki.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
  }

  test('a service that forgot its tokens (401) gets a new one and the document signs', async () => {
    csc.validToken = 'token-2';
    const before = csc.calls.length;
    const verified = await signCades('default', Buffer.from('after a token rotation'), 'csc-rotated');
    assert.equal(verified.status, 0, verified.stderr);
    assert.ok(csc.calls.slice(before).some((call) => call.path === '/csc/v2/oauth2/token'), 'a new token was asked for');
  });

  test('an EC key answering r‖s: the signature is turned into DER and verifies with openssl', async () => {
    for (let i = 0; i < 5; i++) {
      const verified = await signCades('ec', Buffer.from(`EC document ${i}`), `csc-ec-${i}`);
      assert.equal(verified.status, 0, verified.stderr);
    }
  });
});
