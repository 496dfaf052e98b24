import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { addLongTermValidationData, type ValidationDataSource } from '../src/crypto/cms/cades-baseline-lt.js';
import { addArchiveTimestamp } from '../src/crypto/cms/cades-baseline-lta.js';
import { addSignatureTimestamp } from '../src/crypto/cms/cades-baseline-t.js';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { objectIdentifier } from '../src/crypto/cms/der.js';
import { childrenOf, readWhole } from '../src/crypto/cms/der-reader.js';
import { readSignedData, writeSignedData } from '../src/crypto/cms/signed-data-parts.js';
import { readCertificateList } from '../src/crypto/cms/certificate-list.js';
import { DEVELOPMENT_CA_CRL_NAME, developmentCrlIssuer, type CrlIssuer } from '../src/crypto/devca/crl.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { HttpTimestampClient } from '../src/crypto/tsp/http-timestamp-client.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { parseTimeStampToken } from '../src/crypto/tsp/parse-time-stamp-token.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import type { TimestampClient } from '../src/crypto/tsp/timestamp-client.js';
import { SignetError } from '../src/errors/signet-error.js';
import { sendProblem } from '../src/http/problem.js';
import { crlRoutes } from '../src/http/public/crl-routes.js';
import { tsaRoutes } from '../src/http/public/tsa-routes.js';
import { crlValidationData } from './support/crl-validation-data.js';
import { checkArchiveTimestamp } from './support/cades-archive.js';

const HELLO_WORLD = fileURLToPath(new URL('../../shared/testdata/cms/hello-world.txt', import.meta.url));
const ID_AA_SIGNATURE_TIME_STAMP_TOKEN = '1.2.840.113549.1.9.16.2.14';

let work: string;
let pki: DevelopmentPki;
let caPath: string;
let authority: TimestampAuthority;
let crlIssuer: CrlIssuer;
let app: FastifyInstance;
let baseUrl: string;
let inProcess: TimestampClient;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-cades-levels-'));
  // The certificates must name the CRL address before the server serving it exists: take a free port first.
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  pki = await ensureDevelopmentPki(join(work, 'pki'), { crlBaseUrl: baseUrl });
  caPath = join(work, 'pki', 'ca.cert.pem');
  authority = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem });
  crlIssuer = developmentCrlIssuer(pki);
  inProcess = new InProcessTimestampClient(authority);
  app = Fastify({ logger: false });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, error, request));
  await app.register(tsaRoutes, { authority });
  await app.register(crlRoutes, { issuers: [crlIssuer] });
  await app.listen({ port, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

function openssl(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', cwd: work });
  return { status: result.status, output: result.stdout + result.stderr };
}

function opensslOk(...args: string[]): string {
  const result = openssl(...args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')}\n${result.output}`);
  return result.output;
}

async function signBB(): Promise<Buffer> {
  const messageDigest = createHash('sha256').update(readFileSync(HELLO_WORLD)).digest();
  return createCadesDetachedSignature({ messageDigest, signer: pki.signer, signingTime: new Date() });
}

function write(name: string, bytes: Buffer): string {
  writeFileSync(join(work, name), bytes);
  return name;
}

function cmsVerify(signatureFile: string, ...extra: string[]) {
  return openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', signatureFile, '-content', HELLO_WORLD, '-CAfile', caPath, '-out', '/dev/null', ...extra);
}

/** The signature-time-stamp tokens of the (only) SignerInfo, read with our own DER walk. */
function signatureTimestampTokens(cms: Buffer): Buffer[] {
  const [signer] = readSignedData(cms).signerInfos;
  const tokens: Buffer[] = [];
  for (const attribute of signer.unsignedAttributes) {
    const [type, values] = childrenOf(attribute, readWhole(attribute, 0x30, 'Attribute'), 'Attribute');
    if (!attribute.subarray(type.start, type.end).equals(objectIdentifier(ID_AA_SIGNATURE_TIME_STAMP_TOKEN))) continue;
    for (const value of childrenOf(attribute, values, 'values')) tokens.push(attribute.subarray(value.start, value.end));
  }
  return tokens;
}

describe('CAdES B-T', () => {
  for (const [label, client] of [
    ['built-in TSA in process', () => inProcess],
    ['POST /tsa over HTTP', () => new HttpTimestampClient(`${baseUrl}/tsa`, { timeoutMs: 5000 })],
  ] as const) {
    test(`B-T through the ${label}: cms -verify passes, the token verifies over the signature value`, async () => {
      const bb = await signBB();
      const bt = await addSignatureTimestamp(bb, client());
      const file = write(`bt-${label.replace(/\W+/g, '-')}.p7s`, bt);
      assert.match(cmsVerify(file).output, /Verification successful/);
      assert.match(opensslOk('cms', '-cmsout', '-print', '-inform', 'DER', '-in', file), /id-smime-aa-timeStampToken/);

      // The signed parts are byte-identical; only unsignedAttrs and the enclosing lengths changed.
      const before = readSignedData(bb);
      const after = readSignedData(bt);
      assert.ok(after.head.equals(before.head));
      assert.ok(after.signerInfos[0].signedPart.equals(before.signerInfos[0].signedPart));
      assert.deepEqual(after.certificates, before.certificates);

      const tokens = signatureTimestampTokens(bt);
      assert.equal(tokens.length, 1);
      const tokenFile = write('bt-token.tst', tokens[0]);
      const digest = createHash('sha256').update(after.signerInfos[0].signatureValue).digest('hex');
      assert.match(opensslOk('ts', '-verify', '-in', tokenFile, '-token_in', '-digest', digest, '-CAfile', caPath), /Verification: OK/);
      const wrong = createHash('sha256').update(bt).digest('hex');
      const failed = openssl('ts', '-verify', '-in', tokenFile, '-token_in', '-digest', wrong, '-CAfile', caPath);
      assert.notEqual(failed.status, 0);
      assert.match(failed.output, /message imprint mismatch/);
    });
  }

  test('a TSA that is down fails B-T with the transient error, never a B-B in disguise', async () => {
    const port = await freePort();
    const client = new HttpTimestampClient(`http://127.0.0.1:${port}/tsa`, { timeoutMs: 1000 });
    await assert.rejects(addSignatureTimestamp(await signBB(), client), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'tsa_unavailable');
      assert.equal(error.transient, true);
      return true;
    });
  });

  test('a client that returns a token over something else is refused', async () => {
    const liar: TimestampClient = { name: 'liar', timestamp: (_digest, hash) => authority.issueToken(createHash(hash).update('x').digest(), hash) };
    await assert.rejects(addSignatureTimestamp(await signBB(), liar), /not over the signature value/);
  });
});

describe('CAdES B-LT and the development CRL', () => {
  const source = (): ValidationDataSource => crlValidationData([new X509Certificate(pki.caCertificatePem).raw], crlIssuer);

  test('certificates point at the published CRL, which openssl verifies against the CA', async () => {
    const text = opensslOk('x509', '-in', join(work, 'pki', 'signing.cert.pem'), '-noout', '-text');
    const url = /X509v3 CRL Distribution Points:[\s\S]*?URI:(\S+)/.exec(text)?.[1];
    assert.equal(url, `${baseUrl}/pki/crl/${DEVELOPMENT_CA_CRL_NAME}.crl`);
    assert.match(opensslOk('x509', '-in', join(work, 'pki', 'tsa.cert.pem'), '-noout', '-text'), new RegExp(`URI:${url}`));

    const response = await fetch(url!);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/pkix-crl');
    const crlFile = write('published.crl', Buffer.from(await response.arrayBuffer()));
    assert.match(opensslOk('crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caPath, '-noout'), /verify OK/);
    const crlText = opensslOk('crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text');
    assert.match(crlText, /X509v3 CRL Number:/);
    assert.match(crlText, /No Revoked Certificates/);
    const crl = readCertificateList(readFileSync(join(work, crlFile)));
    const days = (crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()) / 86_400_000;
    assert.equal(days, 7);
    // Another CA's certificate must not verify it: the check can fail.
    assert.notEqual(openssl('crl', '-inform', 'DER', '-in', crlFile, '-CAfile', join(work, 'pki', 'tsa.cert.pem'), '-noout').status, 0);
  });

  test('B-LT: certificates of both chains and the CRL inside; cms -verify -crl_check passes from the CMS alone', async () => {
    const bt = await addSignatureTimestamp(await signBB(), inProcess);
    const blt = await addLongTermValidationData(bt, source());
    const file = write('blt.p7s', blt);

    const parts = readSignedData(blt);
    const subjects = parts.certificates.map((der) => new X509Certificate(der).subject).sort();
    assert.deepEqual(subjects, ['CN=Signet Development CA', 'CN=Signet Development Signing', 'CN=Signet Development TSA']);
    assert.equal(parts.crls.length, 1, 'one CA issued both certificates: one CRL');
    assert.ok(parts.signerInfos[0].signedPart.equals(readSignedData(bt).signerInfos[0].signedPart));

    // No -CRLfile: openssl takes the CRLs from SignedData.crls (CMS_get1_crls).
    assert.match(cmsVerify(file, '-crl_check').output, /Verification successful/);
    assert.match(cmsVerify(file, '-crl_check_all').output, /Verification successful/);
    // The same check fails on B-T, which carries no CRL: the test can fail.
    const withoutCrl = cmsVerify(write('bt-only.p7s', bt), '-crl_check');
    assert.notEqual(withoutCrl.status, 0);
    assert.match(withoutCrl.output, /unable to get certificate CRL/);

    // The embedded time-stamp still verifies, and its TSA certificate is covered by the same CRL.
    const [token] = signatureTimestampTokens(blt);
    const digest = createHash('sha256').update(parts.signerInfos[0].signatureValue).digest('hex');
    opensslOk('ts', '-verify', '-in', write('blt-token.tst', token), '-token_in', '-digest', digest, '-CAfile', caPath);
    const crlFile = write('embedded.crl', parts.crls[0]);
    opensslOk('verify', '-crl_check', '-CAfile', caPath, '-CRLfile', crlFile, '-purpose', 'timestampsign', join(work, 'pki', 'tsa.cert.pem'));

    // Adding validation data twice does not duplicate it.
    const again = readSignedData(await addLongTermValidationData(blt, source()));
    assert.equal(again.certificates.length, 3);
    assert.equal(again.crls.length, 1);
  });

  test('a CRL that revokes the signer: B-LT is refused, and openssl rejects such a CMS', async () => {
    const signerSerial = new X509Certificate(pki.signer.certificateDer).serialNumber;
    const revoking = developmentCrlIssuer(pki, { revoked: () => [{ serialNumber: signerSerial, revocationDate: new Date(Date.now() - 60_000) }] });
    const bt = await addSignatureTimestamp(await signBB(), inProcess);
    await assert.rejects(addLongTermValidationData(bt, crlValidationData(source().certificates, revoking)), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'certificate_revoked', error.message);
      return true;
    });
    const parts = readSignedData(bt);
    parts.crls = [await revoking.current()];
    const revoked = cmsVerify(write('revoked.p7s', writeSignedData(parts)), '-crl_check');
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.output, /certificate revoked/);
  });

  test('B-LT refuses what it cannot complete: B-B input, an unknown TSA issuer, a missing CRL', async () => {
    await assert.rejects(addLongTermValidationData(await signBB(), source()), /B-LT is built on B-T/);
    await assert.rejects(
      addLongTermValidationData(await addSignatureTimestamp(await signBB(), inProcess), crlValidationData(source().certificates)),
      (error: unknown) => error instanceof SignetError && error.code === 'validation_data_unavailable' && /No revocation data/.test(error.message),
    );
    // A TSA from another development CA, whose root the source does not know.
    const otherPki = await ensureDevelopmentPki(join(work, 'other-pki'));
    const otherTsa = new TimestampAuthority({ keyPem: otherPki.tsa.keyPem, certificatePem: otherPki.tsa.certificatePem });
    const bt = await addSignatureTimestamp(await signBB(), new InProcessTimestampClient(otherTsa));
    await assert.rejects(addLongTermValidationData(bt, source()), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'validation_data_unavailable');
      assert.match(error.message, /No issuer certificate for "CN=Signet Development TSA"/);
      return true;
    });
  });

  test('the CRL issuer caches, reissues after a day and numbers CRLs increasingly', async () => {
    let now = Date.now();
    const issuer = developmentCrlIssuer(pki, { now: () => now });
    const first = await issuer.current();
    assert.equal(await issuer.current(), first, 'cached');
    now += 25 * 3_600_000;
    const second = await issuer.current();
    assert.notEqual(second, first);
    const number = (crl: Buffer) => BigInt(`0x${/X509v3 CRL Number:\s*\n?\s*([0-9A-F:]+|\d+)/.exec(opensslOk('crl', '-inform', 'DER', '-in', write('n.crl', crl), '-noout', '-text'))![1].replace(/:/g, '')}`);
    assert.ok(number(second) > number(first));
    assert.equal(await issuer.crlFor(pki.tsa.certificateDer), undefined, 'only the CA it belongs to');
  });
});

describe('CAdES B-LTA: archive-time-stamp-v3 with its ats-hash-index-v3', () => {
  const contentDigest = createHash('sha256').update(readFileSync(HELLO_WORLD)).digest();
  const source = (): ValidationDataSource => crlValidationData([new X509Certificate(pki.caCertificatePem).raw], crlIssuer);
  async function signBLT(): Promise<Buffer> {
    return addLongTermValidationData(await addSignatureTimestamp(await signBB(), inProcess), source());
  }
  const check = (cms: Buffer, name: string, digest = contentDigest, caFile = caPath) =>
    checkArchiveTimestamp(cms, digest, { scratch: work, caFile, name });

  test('cms -verify still passes; openssl ts -verify accepts the archive token over an imprint recomputed from asn1parse', async () => {
    const blt = await signBLT();
    const blta = await addArchiveTimestamp(blt, { contentDigest, timestampClient: inProcess, validationData: source() });
    const file = write('blta.p7s', blta);
    assert.match(cmsVerify(file).output, /Verification successful/);
    assert.match(cmsVerify(file, '-crl_check_all').output, /Verification successful/);

    // Unsigned only: the signed parts and the validation data of the B-LT are unchanged.
    const before = readSignedData(blt);
    const after = readSignedData(blta);
    assert.ok(after.head.equals(before.head));
    assert.ok(after.signerInfos[0].signedPart.equals(before.signerInfos[0].signedPart));
    assert.deepEqual(after.certificates, before.certificates, 'the archive TSA is the signature TSA: its chain is there already');
    assert.deepEqual(after.crls, before.crls);
    assert.equal(after.signerInfos[0].unsignedAttributes.length, 2);

    const archive = check(blta, 'blta');
    assert.equal(archive.verify.status, 0, archive.verify.output);
    assert.match(archive.verify.output, /Verification: OK/);
    // The index in the token is the one recomputed from the signature: every certificate, the CRL and the
    // signature time-stamp, nothing else.
    assert.deepEqual(archive.counts, { certificates: 3, crls: 1, attributeValues: 1 });
    assert.deepEqual(archive.unmatchedEntries, []);
    assert.equal(archive.indexInToken.toString('hex'), archive.recomputedIndex.toString('hex'));
    const info = parseTimeStampToken(archive.token);
    assert.deepEqual(info.tsaCertificateDer, pki.tsa.certificateDer);
    assert.ok(Math.abs(info.genTime.getTime() - Date.now()) < 5000);

    // The same check over another document's digest fails: the test can fail.
    const other = check(blta, 'blta-other-content', createHash('sha256').update('another document').digest());
    assert.notEqual(other.verify.status, 0);
    assert.match(other.verify.output, /message imprint mismatch/);
  });

  test('altering the signature value, a certificate or the CRL in SignedData breaks the archive time-stamp', async () => {
    const blta = await addArchiveTimestamp(await signBLT(), { contentDigest, timestampClient: inProcess, validationData: source() });
    const flipLastByteOf = (part: Buffer): Buffer => {
      const at = blta.indexOf(part);
      assert.ok(at > 0);
      const altered = Buffer.from(blta);
      altered[at + part.length - 1] ^= 0x01;
      return altered;
    };

    const signatureValue = readSignedData(blta).signerInfos[0].signatureValue;
    const badSignature = flipLastByteOf(signatureValue);
    assert.notEqual(cmsVerify(write('blta-bad-signature.p7s', badSignature)).status, 0);
    const signatureCheck = check(badSignature, 'blta-bad-signature');
    assert.deepEqual(signatureCheck.unmatchedEntries, [], 'the signature is in the imprint, not in the index');
    assert.notEqual(signatureCheck.verify.status, 0);
    assert.match(signatureCheck.verify.output, /message imprint mismatch/);

    const [crl] = readSignedData(blta).crls;
    for (const [name, part] of [
      ['CA certificate', new X509Certificate(pki.caCertificatePem).raw],
      ['TSA certificate', pki.tsa.certificateDer],
      ['CRL', crl],
    ] as const) {
      const altered = check(flipLastByteOf(part), `blta-bad-${name.replace(/\W+/g, '-')}`);
      assert.equal(altered.unmatchedEntries.length, 1, `${name}: one index entry now names nothing (§5.5.2: the index is invalid)`);
      assert.notEqual(altered.indexInToken.toString('hex'), altered.recomputedIndex.toString('hex'));
      assert.notEqual(altered.verify.status, 0, name);
      assert.match(altered.verify.output, /message imprint mismatch/, name);
    }
  });

  test('an archive time-stamp from another TSA: its chain and CRL are added first, so its own index covers them', async () => {
    const other = await ensureDevelopmentPki(join(work, 'archive-other-pki'), { crlBaseUrl: baseUrl });
    const otherCa = new X509Certificate(other.caCertificatePem).raw;
    const otherCrls = developmentCrlIssuer(other);
    const otherTsa = new InProcessTimestampClient(
      new TimestampAuthority({ keyPem: other.tsa.keyPem, certificatePem: other.tsa.certificatePem, chainPem: other.caCertificatePem }),
    );
    const both: ValidationDataSource = crlValidationData([...source().certificates, otherCa], crlIssuer, otherCrls);
    const blt = await signBLT();
    // Without the other CA the archive TSA's chain cannot be completed: refused, as B-LT would.
    await assert.rejects(addArchiveTimestamp(blt, { contentDigest, timestampClient: otherTsa, validationData: source() }), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'validation_data_unavailable');
      return true;
    });

    const blta = await addArchiveTimestamp(blt, { contentDigest, timestampClient: otherTsa, validationData: both });
    const parts = readSignedData(blta);
    assert.equal(parts.certificates.length, 5, 'signer, CA, TSA, other TSA, other CA');
    assert.ok(parts.certificates.some((der) => der.equals(otherCa)));
    assert.ok(parts.certificates.some((der) => der.equals(other.tsa.certificateDer)));
    assert.equal(parts.crls.length, 2);
    assert.match(cmsVerify(write('blta-other-tsa.p7s', blta), '-crl_check').output, /Verification successful/);

    const bothRoots = write('both-roots.pem', Buffer.from(`${readFileSync(caPath, 'utf8')}\n${other.caCertificatePem}`));
    const archive = check(blta, 'blta-other-tsa', contentDigest, join(work, bothRoots));
    assert.equal(archive.verify.status, 0, archive.verify.output);
    assert.deepEqual(archive.counts, { certificates: 5, crls: 2, attributeValues: 1 });
    assert.equal(archive.indexInToken.toString('hex'), archive.recomputedIndex.toString('hex'), 'the other TSA\'s chain and CRL are in the index');
    assert.deepEqual(parseTimeStampToken(archive.token).tsaCertificateDer, other.tsa.certificateDer);
    // The other TSA's root is not in our CA file: openssl refuses the token, so the trust check is real.
    assert.notEqual(check(blta, 'blta-other-tsa-untrusted').verify.status, 0);
  });

  test('B-LTA refuses what it cannot build honestly', async () => {
    const blt = await signBLT();
    await assert.rejects(addArchiveTimestamp(await signBB(), { contentDigest, timestampClient: inProcess, validationData: source() }), /B-LT is built on B-T/);
    await assert.rejects(
      addArchiveTimestamp(blt, { contentDigest: createHash('sha256').update('x').digest(), timestampClient: inProcess, validationData: source() }),
      /not the digest of the content the signature covers/,
    );
    const liar: TimestampClient = { name: 'liar', timestamp: (_digest, hash) => authority.issueToken(createHash(hash).update('x').digest(), hash) };
    await assert.rejects(addArchiveTimestamp(blt, { contentDigest, timestampClient: liar, validationData: source() }), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'tsa_failed');
      assert.match(error.message, /not over the archive-time-stamp-v3 imprint/);
      return true;
    });
    const down = new HttpTimestampClient(`http://127.0.0.1:${await freePort()}/tsa`, { timeoutMs: 1000 });
    await assert.rejects(addArchiveTimestamp(blt, { contentDigest, timestampClient: down, validationData: source() }), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'tsa_unavailable');
      assert.equal(error.transient, true);
      return true;
    });
  });
});

test('the token in a B-T names its TSA and time; genTime is close to now', async () => {
  const bt = await addSignatureTimestamp(await signBB(), inProcess);
  const info = parseTimeStampToken(signatureTimestampTokens(bt)[0]);
  assert.ok(Math.abs(info.genTime.getTime() - Date.now()) < 5000);
  assert.deepEqual(info.tsaCertificateDer, pki.tsa.certificateDer);
  assert.equal(info.messageImprint.hash, 'sha256');
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
