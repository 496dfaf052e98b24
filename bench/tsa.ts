/**
 * Built-in RFC 3161 TSA throughput (RSA-2048 TSA key), against baselines measured in the same run: the raw
 * RSA signature (crypto.sign / privateEncrypt over the same ~200-byte signed attributes, the floor),
 * pkijs parsing the same TimeStampReq, and `openssl ts -reply` spawned per token. Also POST /tsa over
 * real HTTP (Fastify, 8 requests in flight). Prints figures and ratios, not verdicts.
 *
 *   node --import tsx bench/tsa.ts [seconds per measurement, default 3]
 */
import { spawnSync } from 'node:child_process';
import { constants, createHash, createPrivateKey, privateEncrypt, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import * as pkijs from 'pkijs';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { decodeTimeStampReq } from '../src/crypto/tsp/time-stamp-req.js';
import { decodeTimeStampResp } from '../src/crypto/tsp/time-stamp-resp.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { tsaRoutes } from '../src/http/public/tsa-routes.js';
import { measure, measureInterleaved, measureConcurrent, type Measurement } from './support/measure.js';

const SECONDS = Number(process.argv[2] ?? 3);
const OPENSSL_ITERATIONS = 30;
const ROUNDS = 3;

/** `concurrency` requests in flight for `seconds`; tokens per second over the whole run. */
async function measureHttp(name: string, url: string, query: Buffer, concurrency: number): Promise<Measurement> {
  const post = async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: new Uint8Array(query) });
    if (response.status !== 200) throw new Error(`POST /tsa answered ${response.status}`);
    await response.arrayBuffer();
  };
  return measureConcurrent(name, post, concurrency, SECONDS);
}

function opensslTsaConfig(work: string, pkiFolder: string): string {
  writeFileSync(join(work, 'tsaserial'), '01\n');
  const config = `
[ tsa ]
default_tsa = signet_bench
[ signet_bench ]
dir = ${work}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = ${pkiFolder}/tsa.cert.pem
signer_key = ${pkiFolder}/tsa.key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;
  const path = join(work, 'tsa.cnf');
  writeFileSync(path, config);
  return path;
}

function format(measurement: Measurement): string {
  return `  ${measurement.name.padEnd(52)} ${measurement.perSecond.toFixed(0).padStart(8)} /s ` +
    `${measurement.msPerOp.toFixed(3).padStart(8)} ms/op  (${measurement.iterations} ops)`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'signet-bench-tsa-'));
  const app = Fastify({ logger: false });
  try {
    const pkiFolder = join(work, 'pki');
    const pki = await ensureDevelopmentPki(pkiFolder);
    const authority = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem });
    const privateKey = createPrivateKey(pki.tsa.keyPem);
    writeFileSync(join(work, 'data.bin'), randomBytes(1024));
    const queryPath = join(work, 'q.tsq');
    const opensslQuery = spawnSync('openssl', ['ts', '-query', '-data', join(work, 'data.bin'), '-sha256', '-cert', '-out', queryPath]);
    if (opensslQuery.status !== 0) throw new Error(`openssl ts -query failed: ${opensslQuery.stderr}`);
    const query = readFileSync(queryPath);
    const digest = createHash('sha256').update(readFileSync(join(work, 'data.bin'))).digest();

    // Figures only count for replies an independent verifier accepts.
    writeFileSync(join(work, 'r.tsr'), await authority.respond(query));
    const verified = spawnSync('openssl', ['ts', '-verify', '-queryfile', queryPath, '-in', join(work, 'r.tsr'),
      '-CAfile', join(pkiFolder, 'ca.cert.pem'), '-untrusted', join(pkiFolder, 'tsa.cert.pem')], { encoding: 'utf8' });
    if (verified.status !== 0) throw new Error(`signet reply does not verify: ${verified.stdout}${verified.stderr}`);

    const configPath = opensslTsaConfig(work, pkiFolder);
    const opensslReply = () => {
      const result = spawnSync('openssl', ['ts', '-reply', '-config', configPath, '-queryfile', queryPath, '-out', join(work, 'o.tsr')]);
      if (result.status !== 0) throw new Error(`openssl ts -reply failed: ${result.stderr}`);
    };
    opensslReply();

    // What the signature covers in our token: three signed attributes, ~200 bytes.
    const signedAttributesSize = 200;
    const attributes = randomBytes(signedAttributesSize);
    const digestInfoPrefix = Buffer.from('3031300d060960864801650304020105000420', 'hex');

    await app.register(tsaRoutes, { authority });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/tsa`;

    console.log(`RFC 3161 TSA, RSA-2048 TSA key, SHA-256 imprint with nonce and certReq, ~${SECONDS} s per measurement ` +
      `(median of ${ROUNDS} interleaved runs), Node ${process.version}, 1 thread unless said`);
    const [issue, respond, rawSign, rawPrivateEncrypt, parseOurs, parsePkijs] = await measureInterleaved([
      ['signet: authority.issueToken (in-process)', () => authority.issueToken(digest, 'sha256')],
      ['signet: authority.respond (DER request → response)', () => authority.respond(query)],
      [`baseline: crypto.sign('sha256', ${signedAttributesSize} B, key)`, () => sign('sha256', attributes, privateKey)],
      ['baseline: privateEncrypt(DigestInfo) (Signer floor)', () =>
        privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([digestInfoPrefix, digest]))],
      ['parse TimeStampReq: ours (der-reader)', () => decodeTimeStampReq(query)],
      ['parse TimeStampReq: pkijs TimeStampReq.fromBER', () => pkijs.TimeStampReq.fromBER(new Uint8Array(query))],
    ], SECONDS, ROUNDS);
    const issueParallel = await measureConcurrent('signet: issueToken, 8 in flight', () => authority.issueToken(digest, 'sha256'), 8, SECONDS);
    const http = await measureHttp('signet: POST /tsa over HTTP (8 in flight, fetch)', url, query, 8);
    const openssl = await measure('baseline: openssl ts -reply (spawned)', opensslReply, SECONDS, OPENSSL_ITERATIONS);
    for (const result of [issue, issueParallel, respond, http, rawSign, rawPrivateEncrypt, openssl, parseOurs, parsePkijs]) console.log(format(result));

    const ratio = (a: Measurement, b: Measurement) => (a.perSecond / b.perSecond).toFixed(2);
    console.log('ratios (throughput):');
    console.log(`  issueToken / raw privateEncrypt   ${ratio(issue, rawPrivateEncrypt)}  ` +
      `(token overhead ${(issue.msPerOp - rawPrivateEncrypt.msPerOp).toFixed(3)} ms/token)`);
    console.log(`  issueToken / raw crypto.sign      ${ratio(issue, rawSign)}`);
    console.log(`  issueToken 8 in flight / 1 by 1   ${ratio(issueParallel, issue)}`);
    console.log(`  respond / openssl ts -reply       ${ratio(respond, openssl)}`);
    console.log(`  POST /tsa / openssl ts -reply     ${ratio(http, openssl)}`);
    console.log(`  ours / pkijs TimeStampReq parse   ${ratio(parseOurs, parsePkijs)}`);
    const granted = decodeTimeStampResp(await authority.respond(query)).status.status === 0;
    console.log(`goal ≥ 1,500 tokens/s in-process: ${issue.perSecond.toFixed(0)} /s one at a time, ` +
      `${issueParallel.perSecond.toFixed(0)} /s with 8 in flight${granted ? '' : ' (replies not granted!)'}`);
  } finally {
    await app.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
