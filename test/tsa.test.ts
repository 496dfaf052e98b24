import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { isMinimalInteger } from '../src/crypto/cms/der-integer.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { KeyMaterialError } from '../src/crypto/keys/signer.js';
import { HttpTimestampClient } from '../src/crypto/tsp/http-timestamp-client.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { SIGNET_TSA_POLICY } from '../src/crypto/tsp/oids.js';
import { parseTimeStampToken, TimeStampTokenError, verifyTimeStampTokenSignature } from '../src/crypto/tsp/parse-time-stamp-token.js';
import { timeStampReq } from '../src/crypto/tsp/time-stamp-req.js';
import { decodeTimeStampResp } from '../src/crypto/tsp/time-stamp-resp.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { decodeTstInfo } from '../src/crypto/tsp/tst-info.js';
import { SignetError } from '../src/errors/signet-error.js';
import { sendProblem } from '../src/http/problem.js';
import { tsaRoutes } from '../src/http/public/tsa-routes.js';

const TESTDATA = fileURLToPath(new URL('../../shared/testdata/tsp', import.meta.url));

let work: string;
let pki: DevelopmentPki;
let authority: TimestampAuthority;
let app: FastifyInstance;
let tsaUrl: string;
let caPath: string;
let tsaCertPath: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-tsa-'));
  pki = await ensureDevelopmentPki(join(work, 'pki'));
  caPath = join(work, 'pki', 'ca.cert.pem');
  tsaCertPath = join(work, 'pki', 'tsa.cert.pem');
  authority = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem });
  // The plugin as app.ts registers it: under the app's problem+json error handler, over real HTTP.
  app = Fastify({ logger: false });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, error, request));
  await app.register(tsaRoutes, { authority });
  await app.listen({ port: 0, host: '127.0.0.1' });
  tsaUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/tsa`;
  writeFileSync(join(work, 'data.txt'), 'The quick brown fox jumps over the lazy dog\n');
});

after(async () => {
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

function openssl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', cwd: work });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function opensslOk(...args: string[]): string {
  const result = openssl(...args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')}\n${result.stdout}${result.stderr}`);
  return result.stdout + result.stderr;
}

async function postQuery(body: Buffer, contentType = 'application/timestamp-query'): Promise<Response> {
  return fetch(tsaUrl, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) });
}

/** Makes a query with openssl, sends it to POST /tsa, writes the reply; returns the file names. */
async function queryWithOpenssl(name: string, ...queryArgs: string[]): Promise<{ query: string; reply: string; response: Response }> {
  const query = `${name}.tsq`;
  const reply = `${name}.tsr`;
  opensslOk('ts', '-query', '-data', 'data.txt', ...queryArgs, '-out', query);
  const response = await postQuery(readFileSync(join(work, query)));
  writeFileSync(join(work, reply), Buffer.from(await response.arrayBuffer()));
  return { query, reply, response };
}

describe('POST /tsa', () => {
  test('a reply to an openssl query verifies with openssl ts -verify; the nonce is echoed', async () => {
    const { query, reply, response } = await queryWithOpenssl('sha256', '-sha256', '-cert');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/timestamp-reply');
    const verified = opensslOk('ts', '-verify', '-queryfile', query, '-in', reply, '-CAfile', caPath, '-untrusted', tsaCertPath);
    assert.match(verified, /Verification: OK/);

    const queryNonce = /Nonce: (0x[0-9A-F]+)/.exec(opensslOk('ts', '-query', '-in', query, '-text'))?.[1];
    const replyText = opensslOk('ts', '-reply', '-in', reply, '-text');
    assert.ok(queryNonce, 'openssl ts -query makes a nonce');
    assert.match(replyText, /Status: Granted\./);
    assert.match(replyText, new RegExp(`Nonce: ${queryNonce}\\n`));
    assert.match(replyText, new RegExp(`Policy OID: ${SIGNET_TSA_POLICY.replace(/\./g, '\\.')}`));
    assert.match(replyText, /Accuracy: 0x01 seconds/);
    assert.match(replyText, /Hash Algorithm: sha256/);
  });

  test('SHA-384 and SHA-512 imprints verify too; without -cert the token carries no certificate', async () => {
    for (const hash of ['-sha384', '-sha512']) {
      const { query, reply } = await queryWithOpenssl(hash.slice(1), hash, '-cert');
      opensslOk('ts', '-verify', '-queryfile', query, '-in', reply, '-CAfile', caPath, '-untrusted', tsaCertPath);
    }
    const { query, reply } = await queryWithOpenssl('nocert', '-sha256');
    const token = decodeTimeStampResp(readFileSync(join(work, reply))).timeStampToken!;
    assert.deepEqual(parseTimeStampToken(token).certificatesDer, []);
    opensslOk('ts', '-verify', '-queryfile', query, '-in', reply, '-CAfile', caPath, '-untrusted', tsaCertPath);
    // Without the TSA certificate at hand, openssl cannot verify a certReq=false token: the test can fail.
    assert.notEqual(openssl('ts', '-verify', '-queryfile', query, '-in', reply, '-CAfile', caPath).status, 0);
  });

  test('garbage, an empty body and a truncated query get a badDataFormat rejection, not a 500', async () => {
    const valid = readFileSync(join(work, 'sha256.tsq'));
    for (const [name, body] of [
      ['garbage', Buffer.from('this is not DER at all')],
      ['empty', Buffer.alloc(0)],
      ['truncated', valid.subarray(0, valid.length - 3)],
      ['trailing', Buffer.concat([valid, Buffer.from([0])])],
    ] as const) {
      const response = await postQuery(body);
      assert.equal(response.status, 200, name);
      assert.equal(response.headers.get('content-type'), 'application/timestamp-reply');
      writeFileSync(join(work, `${name}.tsr`), Buffer.from(await response.arrayBuffer()));
      const text = opensslOk('ts', '-reply', '-in', `${name}.tsr`, '-text');
      assert.match(text, /Status: Rejected\./, name);
      assert.match(text, /Failure info: the data submitted has the wrong format/, name);
      assert.match(text, /TST info:\s+Not included\./, name);
    }
  });

  test('MD5 gets badAlg, another policy unacceptedPolicy; SHA-1 (legacy sample.tsq) is granted', async () => {
    const md5 = await queryWithOpenssl('md5', '-md5');
    assert.match(opensslOk('ts', '-reply', '-in', md5.reply, '-text'), /Failure info: unrecognized or unsupported algorithm identifier/i);
    const policy = await queryWithOpenssl('policy', '-sha256', '-tspolicy', '1.2.3.4');
    assert.match(opensslOk('ts', '-reply', '-in', policy.reply, '-text'), /Failure info: the requested TSA policy is not supported by the TSA/);
    const ours = await queryWithOpenssl('ourpolicy', '-sha256', '-cert', '-tspolicy', SIGNET_TSA_POLICY);
    opensslOk('ts', '-verify', '-queryfile', ours.query, '-in', ours.reply, '-CAfile', caPath);

    const response = await postQuery(readFileSync(join(TESTDATA, 'sample.tsq')));
    writeFileSync(join(work, 'sample.tsr'), Buffer.from(await response.arrayBuffer()));
    opensslOk('ts', '-verify', '-queryfile', join(TESTDATA, 'sample.tsq'), '-in', 'sample.tsr', '-CAfile', caPath, '-untrusted', tsaCertPath);
    // sample.tsq's nonce is a negative INTEGER (0xB33837F4): echoed byte for byte.
    const info = parseTimeStampToken(decodeTimeStampResp(readFileSync(join(work, 'sample.tsr'))).timeStampToken!);
    assert.equal(info.nonce, -1288161292n);
  });

  test('a request with extensions gets unacceptedExtension', async () => {
    // TimeStampReq v1, SHA-256 imprint, extensions [0] { Extension { 1.2.3.4, OCTET STRING 00 } }
    const imprint = Buffer.concat([Buffer.from('302f300b0609608648016503040201', 'hex'), Buffer.from([0x04, 0x20]), randomBytes(32)]);
    const extensions = Buffer.from('a00b3009060355040304020500', 'hex');
    extensions[1] = extensions.length - 2;
    extensions[3] = extensions.length - 4;
    const body = Buffer.concat([Buffer.from('020101', 'hex'), imprint, extensions]);
    const request = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    const reply = decodeTimeStampResp(await authority.respond(request));
    assert.equal(reply.status.status, 2);
    assert.deepEqual(reply.status.failures, ['unacceptedExtension']);
  });

  test('another content type is 415, a body over 64 KB is 413, both as problem+json', async () => {
    const json = await fetch(tsaUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(json.status, 415);
    assert.equal((await json.json()).code, 'unsupported_media_type');
    const octets = await postQuery(readFileSync(join(work, 'sha256.tsq')), 'application/octet-stream');
    assert.equal(octets.status, 415);
    assert.equal((await octets.json()).code, 'unsupported_media_type');
    const large = await postQuery(randomBytes(65 * 1024));
    assert.equal(large.status, 413);
    assert.equal((await large.json()).code, 'payload_too_large');
  });
});

describe('TimestampAuthority', () => {
  test('serial numbers are unique over 1,000 tokens, positive and minimal DER', async () => {
    const digest = createHash('sha256').update('serials').digest();
    const serials = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const info = parseTimeStampToken(await authority.issueToken(digest, 'sha256'));
      const encoded = decodeTstInfo(info.tstInfoDer).serialNumberEncoded;
      const content = encoded.subarray(2);
      assert.ok(isMinimalInteger(content), `serial ${content.toString('hex')} is not minimal`);
      assert.ok(content[0] < 0x80 && content[0] !== 0, `serial ${content.toString('hex')} must be positive without padding`);
      assert.ok(content.length <= 20, 'RFC 3161: at most 160 bits');
      assert.ok(info.serialNumber > 0n);
      serials.add(info.serial);
    }
    assert.equal(serials.size, 1000);
  });

  test('genTime carries milliseconds without trailing zeros, and none when they are zero', async () => {
    const digest = createHash('sha256').update('time').digest();
    const cases: Array<[string, string]> = [
      ['2026-03-04T05:06:07.120Z', '20260304050607.12Z'],
      ['2026-03-04T05:06:07.001Z', '20260304050607.001Z'],
      ['2026-03-04T05:06:07.500Z', '20260304050607.5Z'],
      ['2026-03-04T05:06:07.000Z', '20260304050607Z'],
    ];
    for (const [iso, expected] of cases) {
      const pinned = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, now: () => Date.parse(iso) });
      const info = parseTimeStampToken(await pinned.issueToken(digest, 'sha256'));
      assert.ok(info.tstInfoDer.includes(Buffer.from(`\x18${String.fromCharCode(expected.length)}${expected}`, 'latin1')), expected);
      assert.equal(info.genTime.toISOString(), iso);
    }
  });

  test('in-process tokens carry the TSA certificate, the ESS signingCertificateV2 and verify', async () => {
    const digest = createHash('sha512').update('in-process').digest();
    const token = await new InProcessTimestampClient(authority).timestamp(digest, 'sha512');
    const info = parseTimeStampToken(token);
    assert.deepEqual(info.tsaCertificateDer, pki.tsa.certificateDer);
    assert.equal(info.messageImprint.hash, 'sha512');
    assert.ok(info.messageImprint.digest.equals(digest));
    verifyTimeStampTokenSignature(token);
    writeFileSync(join(work, 'inprocess.tst'), token);
    opensslOk('ts', '-verify', '-in', 'inprocess.tst', '-token_in', '-digest', digest.toString('hex'), '-sha512', '-CAfile', caPath);
    // openssl prints the ESS attribute as id-smime-aa-signingCertificateV2 when it is there.
    assert.match(opensslOk('cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'inprocess.tst'), /id-smime-aa-signingCertificateV2/);
  });

  test('a certificate without the critical timeStamping EKU is refused at construction', () => {
    const signingKeyPem = readFileSync(join(work, 'pki', 'signing.key.pem'), 'utf8');
    const signingCertPem = readFileSync(join(work, 'pki', 'signing.cert.pem'), 'utf8');
    assert.throws(() => new TimestampAuthority({ keyPem: signingKeyPem, certificatePem: signingCertPem }), KeyMaterialError);
  });

  test('tokens of other TSAs (RSASSA-PSS, duplicate-key certificates) parse and their signatures verify', () => {
    for (const [file, digest] of [
      ['d-trust.tsr', 'd9b5f58f0b38198293971865a14074f59eba3e82595becbe86ae51f1d9f1f65e'],
      ['disig.tst', '4940ab4da320b29e987abcc83e09b51b437c9bac402b0bc522be51e7aec3899f'],
      ['pyhanko-doc-timestamp.tst', 'a853032b919d6894567b6b983c72085631776d43c6433ae8c18b3385ed883d14'],
    ]) {
      const token = readFileSync(join(TESTDATA, file));
      const info = parseTimeStampToken(token);
      assert.equal(info.messageImprint.digest.toString('hex'), digest, file);
      assert.ok(info.tsaCertificateDer, file);
      verifyTimeStampTokenSignature(token);
    }
    assert.equal(parseTimeStampToken(readFileSync(join(TESTDATA, 'disig.tst'))).genTime.toISOString(), '2019-04-12T09:00:32.613Z');
    // A flipped bit in the TSTInfo must break the signature check.
    const tampered = Buffer.from(readFileSync(join(TESTDATA, 'disig.tst')));
    const at = tampered.indexOf(Buffer.from('4940ab4da320b29e', 'hex'));
    tampered[at] ^= 0x01;
    assert.throws(() => verifyTimeStampTokenSignature(tampered), /messageDigest/);
  });

  test('a BER token (indefinite lengths) reads the same as its DER form, through the general parser', () => {
    const der = readFileSync(join(TESTDATA, 'disig.tst'));
    // The outer ContentInfo re-encoded with an indefinite length: not DER, still valid BER.
    const lengthOctets = der[1] & 0x80 ? 1 + (der[1] & 0x7f) : 1;
    const ber = Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(1 + lengthOctets), Buffer.from([0, 0])]);
    const fromDer = parseTimeStampToken(der);
    const fromBer = parseTimeStampToken(ber);
    assert.equal(fromBer.serial, fromDer.serial);
    assert.equal(fromBer.genTime.getTime(), fromDer.genTime.getTime());
    assert.ok(fromBer.tstInfoDer.equals(fromDer.tstInfoDer));
    assert.deepEqual(fromBer.certificatesDer, fromDer.certificatesDer);
    verifyTimeStampTokenSignature(ber);
    assert.throws(() => parseTimeStampToken(ber.subarray(0, ber.length - 2)), TimeStampTokenError);
  });
});

describe('HttpTimestampClient', () => {
  test('gets a checked token from POST /tsa that openssl verifies against the digest', async () => {
    const client = new HttpTimestampClient(tsaUrl, { timeoutMs: 5000 });
    const digest = createHash('sha256').update(randomBytes(64)).digest();
    const token = await client.timestamp(digest, 'sha256');
    writeFileSync(join(work, 'http.tst'), token);
    opensslOk('ts', '-verify', '-in', 'http.tst', '-token_in', '-digest', digest.toString('hex'), '-CAfile', caPath);
    const other = createHash('sha256').update('other').digest('hex');
    assert.notEqual(openssl('ts', '-verify', '-in', 'http.tst', '-token_in', '-digest', other, '-CAfile', caPath).status, 0);
    assert.equal(client.name, tsaUrl);
  });

  test('a closed port is a transient tsa_unavailable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const client = new HttpTimestampClient(`http://127.0.0.1:${port}/tsa`, { timeoutMs: 2000 });
    await assert.rejects(client.timestamp(randomBytes(32), 'sha256'), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'tsa_unavailable');
      assert.equal(error.transient, true);
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  });

  // The test's own timeout only bounds a hang (a client that never gives up); no speed is asserted.
  test('a server that never answers is a transient tsa_unavailable after the timeout', { timeout: 60_000 }, async () => {
    const server = createServer(() => undefined); // accepts, reads, never answers
    await listen(server);
    try {
      const client = new HttpTimestampClient(urlOf(server), { timeoutMs: 300 });
      const started = performance.now();
      await assert.rejects(client.timestamp(randomBytes(32), 'sha256'), (error: unknown) => {
        assert.ok(error instanceof SignetError);
        assert.equal(error.code, 'tsa_unavailable');
        assert.equal(error.transient, true);
        assert.match(error.message, /did not answer within 300 ms/);
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 280, `gave up after ${elapsed.toFixed(0)} ms, before its 300 ms timeout`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('HTTP 503 is transient; a rejection, a foreign nonce or another imprint are not', async () => {
    let behaviour: (query: Buffer) => Promise<{ status: number; body: Buffer }> = async () => ({ status: 503, body: Buffer.alloc(0) });
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const { status, body } = await behaviour(Buffer.concat(chunks));
        response.writeHead(status, { 'content-type': 'application/timestamp-reply' }).end(body);
      });
    });
    await listen(server);
    const client = new HttpTimestampClient(urlOf(server), { timeoutMs: 2000 });
    const digest = createHash('sha256').update('x').digest();
    const expectError = async (code: string, transient: boolean, message: RegExp) =>
      assert.rejects(client.timestamp(digest, 'sha256'), (error: unknown) => {
        assert.ok(error instanceof SignetError, String(error));
        assert.equal(error.code, code);
        assert.equal(error.transient, transient);
        assert.match(error.message, message);
        return true;
      });
    try {
      await expectError('tsa_unavailable', true, /HTTP 503/);

      behaviour = async (query) => ({ status: 200, body: await authority.respond(query.subarray(0, 5)) });
      await expectError('tsa_failed', false, /refused the request \(status 2: .*failInfo badDataFormat/);

      // A replayed answer: a genuine token over the same digest, but for a request with another nonce.
      const replayed = await authority.respond(timeStampReq({ hash: 'sha256', hashedMessage: digest, nonce: 42n, certReq: true }));
      behaviour = async () => ({ status: 200, body: replayed });
      await expectError('tsa_failed', false, /does not echo our nonce/);

      // A genuine token over another digest.
      const otherDigest = createHash('sha256').update('y').digest();
      behaviour = async (query) => ({ status: 200, body: await authority.respond(Buffer.from(query.toString('hex').replace(digest.toString('hex'), otherDigest.toString('hex')), 'hex')) });
      await expectError('tsa_failed', false, /another message imprint/);

      behaviour = async () => ({ status: 200, body: Buffer.from('<html>proxy error</html>') });
      await expectError('tsa_failed', false, /not a TimeStampResp/);

      behaviour = async (query) => {
        const reply = await authority.respond(query);
        return { status: 200, body: reply };
      };
      const token = await client.timestamp(digest, 'sha256');
      assert.ok(parseTimeStampToken(token).messageImprint.digest.equals(digest));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

async function listen(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
}
