import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { createPemSigner } from '../src/crypto/keys/pem-signer.js';
import { KeyMaterialError, type Signer } from '../src/crypto/keys/signer.js';

const HELLO_WORLD = fileURLToPath(new URL('../../shared/testdata/cms/hello-world.txt', import.meta.url));
const ID_AA_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const PKI_FILES = ['ca.cert.pem', 'ca.key.pem', 'signing.cert.pem', 'signing.key.pem', 'tsa.cert.pem', 'tsa.key.pem'];

let work: string;
let pkiFolder: string;
let pki: DevelopmentPki;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-cades-'));
  pkiFolder = join(work, 'pki');
  pki = await ensureDevelopmentPki(pkiFolder);
});

after(() => rmSync(work, { recursive: true, force: true }));

function openssl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', cwd: work });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Signs a file the way the service does: hash while reading, then CAdES over the digest. */
async function signFile(path: string, signer: Signer, signingTime = new Date()): Promise<string> {
  const messageDigest = createHash('sha256').update(readFileSync(path)).digest();
  const signature = await createCadesDetachedSignature({ messageDigest, signer, signingTime });
  const out = join(work, `sig-${Math.random().toString(36).slice(2)}.p7s`);
  writeFileSync(out, signature);
  return out;
}

function opensslVerify(signaturePath: string, contentPath: string, caFile = join(pkiFolder, 'ca.cert.pem')) {
  // No `-purpose any`: the default S/MIME signing purpose must accept the development certificate.
  return openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', signaturePath, '-content', contentPath,
    '-CAfile', caFile, '-out', '/dev/null');
}

test('the first call creates the development PKI; private keys are 0600', () => {
  assert.equal(pki.created, true);
  for (const name of PKI_FILES) {
    const mode = statSync(join(pkiFolder, name)).mode & 0o777;
    if (name.endsWith('.key.pem')) assert.equal(mode, 0o600, `${name} mode ${mode.toString(8)}`);
  }
  assert.equal(pki.signer.name, 'default');
  assert.equal(pki.signer.keyAlgorithm, 'RSA');
  assert.equal(pki.signer.chainDer.length, 1);
});

test('development certificates pass openssl verify for their purposes', () => {
  const ca = join(pkiFolder, 'ca.cert.pem');
  const signing = openssl('verify', '-CAfile', ca, '-purpose', 'smimesign', join(pkiFolder, 'signing.cert.pem'));
  assert.equal(signing.status, 0, signing.stdout + signing.stderr);
  const tsa = openssl('verify', '-CAfile', ca, '-purpose', 'timestampsign', join(pkiFolder, 'tsa.cert.pem'));
  assert.equal(tsa.status, 0, tsa.stdout + tsa.stderr);
  const text = openssl('x509', '-in', join(pkiFolder, 'signing.cert.pem'), '-noout', '-text').stdout;
  assert.match(text, /E-mail Protection, 1\.3\.6\.1\.5\.5\.7\.3\.36/);
  assert.match(text, /Key Usage: critical\s+Digital Signature, Non Repudiation/);
  const tsaText = openssl('x509', '-in', join(pkiFolder, 'tsa.cert.pem'), '-noout', '-text').stdout;
  assert.match(tsaText, /Extended Key Usage: critical\s+Time Stamping/);
});

test('CAdES detached signature verifies with openssl cms -verify', async () => {
  const signature = await signFile(HELLO_WORLD, pki.signer);
  const result = opensslVerify(signature, HELLO_WORLD);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /Verification successful/);
});

test('openssl refuses the signature once one byte of the content changes', async () => {
  const signature = await signFile(HELLO_WORLD, pki.signer);
  const tampered = join(work, 'hello-world-tampered.txt');
  const content = readFileSync(HELLO_WORLD);
  content[0] ^= 0x01;
  writeFileSync(tampered, content);
  const result = opensslVerify(signature, tampered);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /digest failure|Verification failure/);
});

test('openssl prints the signingCertificateV2 and signingTime attributes', async () => {
  const signingTime = new Date('2026-03-04T05:06:07.890Z');
  const signature = await signFile(HELLO_WORLD, pki.signer, signingTime);
  const printed = openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', signature);
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, new RegExp(`signingCertificateV2 \\(${ID_AA_SIGNING_CERTIFICATE_V2.replace(/\./g, '\\.')}\\)`));
  assert.match(printed.stdout, /signingTime \(1\.2\.840\.113549\.1\.9\.5\)\s+set:\s+UTCTIME:Mar  4 05:06:07 2026 GMT/);
  assert.match(printed.stdout, /algorithm: rsaEncryption/);
});

test('signingCertificateV2 holds the SHA-256 of the certificate, default hashAlgorithm omitted, issuerSerial present', async () => {
  const signature = readFileSync(await signFile(HELLO_WORLD, pki.signer));
  // Parsed with pkijs/asn1js, independently of our encoder.
  const signedData = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(signature).content });
  assert.equal(signedData.encapContentInfo.eContent, undefined, 'detached: no eContent');
  const attributes = signedData.signerInfos[0].signedAttrs!.attributes;
  assert.deepEqual(
    attributes.map((attribute) => attribute.type),
    ['1.2.840.113549.1.9.3', ID_SIGNING_TIME, '1.2.840.113549.1.9.4', ID_AA_SIGNING_CERTIFICATE_V2],
  );
  const essValue = attributes.find((attribute) => attribute.type === ID_AA_SIGNING_CERTIFICATE_V2)!.values[0];
  const certs = (essValue as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  assert.equal(certs.valueBlock.value.length, 1);
  const essCertIdV2 = (certs.valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
  assert.ok(essCertIdV2[0] instanceof asn1js.OctetString, 'hashAlgorithm omitted (DEFAULT sha256)');
  assert.deepEqual(
    Buffer.from(essCertIdV2[0].valueBlock.valueHexView),
    createHash('sha256').update(pki.signer.certificateDer).digest(),
  );
  const issuerSerial = (essCertIdV2[1] as asn1js.Sequence).valueBlock.value;
  const serial = Buffer.from((issuerSerial[1] as asn1js.Integer).valueBlock.valueHexView).toString('hex');
  assert.equal(serial.toUpperCase(), new X509Certificate(pki.signer.certificateDer).serialNumber);
});

test('the signature is DER: openssl re-encodes it byte for byte', async () => {
  const signature = await signFile(HELLO_WORLD, pki.signer);
  const reencoded = join(work, 'reencoded.der');
  const result = openssl('cms', '-cmsout', '-inform', 'DER', '-in', signature, '-outform', 'DER', '-out', reencoded);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(readFileSync(reencoded), readFileSync(signature));
});

test('a signing time from 2050 on is a GeneralizedTime and still verifies', async () => {
  const signature = await signFile(HELLO_WORLD, pki.signer, new Date('2051-01-02T03:04:05Z'));
  assert.match(openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', signature).stdout, /GENERALIZEDTIME:Jan  2 03:04:05 2051 GMT/);
  assert.equal(opensslVerify(signature, HELLO_WORLD).status, 0);
});

test('a digest whose length does not match its algorithm is refused', async () => {
  await assert.rejects(
    createCadesDetachedSignature({ messageDigest: Buffer.alloc(20), signer: pki.signer, signingTime: new Date() }),
    /A sha256 digest is 32 bytes, got 20/,
  );
  await assert.rejects(
    createCadesDetachedSignature({ messageDigest: Buffer.alloc(32), digestAlgorithm: 'sha512', signer: pki.signer, signingTime: new Date() }),
    /A sha512 digest is 64 bytes, got 32/,
  );
});

test('a second ensureDevelopmentPki loads the same PKI', async () => {
  const again = await ensureDevelopmentPki(pkiFolder);
  assert.equal(again.created, false);
  assert.equal(again.caCertificatePem, pki.caCertificatePem);
  assert.deepEqual(again.signer.certificateDer, pki.signer.certificateDer);
  assert.deepEqual(again.tsa.certificateDer, pki.tsa.certificateDer);
});

test('a partial PKI is replaced as a whole', async () => {
  const partial = join(work, 'partial-pki');
  cpSync(pkiFolder, partial, { recursive: true });
  unlinkSync(join(partial, 'tsa.key.pem'));
  const recreated = await ensureDevelopmentPki(partial);
  assert.equal(recreated.created, true);
  assert.notEqual(recreated.caCertificatePem, pki.caCertificatePem);
  const signature = await signFile(HELLO_WORLD, recreated.signer);
  assert.equal(opensslVerify(signature, HELLO_WORLD, join(partial, 'ca.cert.pem')).status, 0);
});

test('a PKI folder whose files do not belong together is refused, not silently replaced', async () => {
  const mixed = join(work, 'mixed-pki');
  cpSync(pkiFolder, mixed, { recursive: true });
  cpSync(join(mixed, 'tsa.key.pem'), join(mixed, 'signing.key.pem'));
  await assert.rejects(
    ensureDevelopmentPki(mixed),
    (error: unknown) =>
      error instanceof KeyMaterialError && /does not match the certificate.*delete the folder/.test(error.message),
  );
});

test('concurrent first calls create one PKI', async () => {
  const folder = join(work, 'concurrent-pki');
  const [a, b] = await Promise.all([ensureDevelopmentPki(folder), ensureDevelopmentPki(folder)]);
  assert.equal(a.caCertificatePem, b.caCertificatePem);
  assert.equal([a.created, b.created].filter(Boolean).length, 1);
});

test('signDigest output verifies with crypto.verify', async () => {
  const data = Buffer.from('digest in, signature out');
  for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
    const signature = await pki.signer.signDigest(createHash(hash).update(data).digest(), hash);
    assert.ok(verify(hash, data, new X509Certificate(pki.signer.certificateDer).publicKey, signature), hash);
  }
  await assert.rejects(pki.signer.signDigest(Buffer.alloc(32), 'sha512'), /sha512 digest is 64 bytes/);
});

test('a Signer that does not vouch for itself (an HSM, a remote service) has its signatures checked: garbage is refused', async () => {
  // A token answering with the wrong bytes: flipped signature, same key and certificate otherwise.
  const faulty: Signer = {
    name: 'faulty-hsm',
    certificateDer: pki.signer.certificateDer,
    chainDer: pki.signer.chainDer,
    keyAlgorithm: pki.signer.keyAlgorithm,
    async signDigest(digest, hash) {
      const signature = Buffer.from(await pki.signer.signDigest(digest, hash));
      signature[10] ^= 0xff;
      return signature;
    },
  };
  const messageDigest = createHash('sha256').update('content').digest();
  await assert.rejects(createCadesDetachedSignature({ messageDigest, signer: faulty }), /faulty-hsm.*does not verify/);
  const { TimestampAuthority } = await import('../src/crypto/tsp/timestamp-authority.js');
  const tsaSigner = createPemSigner({ name: 'tsa', keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem });
  const faultyTsa: Signer = { ...tsaSigner, verifiesItself: undefined, signDigest: async (d, h) => Buffer.alloc((await tsaSigner.signDigest(d, h)).length, 1) };
  await assert.rejects(new TimestampAuthority({ signer: faultyTsa }).issueToken(messageDigest, 'sha256'), /does not verify/);
  // The software signer vouches for itself (OpenSSL checks its RSA-CRT results) and still verifies.
  assert.equal(pki.signer.verifiesItself, true);
});

test('a key that does not match the certificate is refused', () => {
  assert.throws(
    () =>
      createPemSigner({
        name: 'mismatch',
        keyPem: pki.tsa.keyPem,
        certificatePem: readFileSync(join(pkiFolder, 'signing.cert.pem'), 'utf8'),
      }),
    (error: unknown) => error instanceof KeyMaterialError && /does not match the certificate/.test(error.message),
  );
});

test('an EC key with an RSA certificate is refused', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  assert.throws(
    () =>
      createPemSigner({
        name: 'ec-mismatch',
        keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        certificatePem: readFileSync(join(pkiFolder, 'signing.cert.pem'), 'utf8'),
      }),
    (error: unknown) => error instanceof KeyMaterialError && /does not match the certificate/.test(error.message),
  );
});

test('an unsupported key type is refused with a clear error', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  assert.throws(
    () =>
      createPemSigner({
        name: 'ed',
        keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        certificatePem: readFileSync(join(pkiFolder, 'signing.cert.pem'), 'utf8'),
      }),
    /ed25519 keys are not supported; use an RSA key .* or an EC key/,
  );
});

test('a chain holding a certificate that is no CA is refused', () => {
  assert.throws(
    () =>
      createPemSigner({
        name: 'bad-chain',
        keyPem: readFileSync(join(pkiFolder, 'signing.key.pem'), 'utf8'),
        certificatePem: readFileSync(join(pkiFolder, 'signing.cert.pem'), 'utf8'),
        chainPem: readFileSync(join(pkiFolder, 'tsa.cert.pem'), 'utf8'),
      }),
    /chain certificate #1 .* is not a CA certificate/,
  );
});

/** An EC signer certificate issued by the development CA with openssl itself. */
function issueEcCertificate(curve: string): { keyPem: string; certificatePem: string } {
  const base = join(work, `ec-${curve}`);
  const ext = `${base}.ext`;
  writeFileSync(ext, 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n');
  for (const args of [
    ['ecparam', '-genkey', '-name', curve, '-noout', '-out', `${base}.key.pem`],
    ['req', '-new', '-key', `${base}.key.pem`, '-subj', `/CN=EC ${curve}`, '-out', `${base}.csr`],
    ['x509', '-req', '-in', `${base}.csr`, '-CA', join(pkiFolder, 'ca.cert.pem'), '-CAkey', join(pkiFolder, 'ca.key.pem'),
      '-set_serial', '0x1234', '-days', '30', '-sha256', '-extfile', ext, '-out', `${base}.cert.pem`],
  ]) {
    const result = openssl(...args);
    assert.equal(result.status, 0, result.stderr);
  }
  chmodSync(`${base}.key.pem`, 0o600);
  return { keyPem: readFileSync(`${base}.key.pem`, 'utf8'), certificatePem: readFileSync(`${base}.cert.pem`, 'utf8') };
}

for (const curve of ['prime256v1', 'secp384r1', 'secp521r1']) {
  test(`EC ${curve}: signDigest verifies with crypto.verify and openssl pkeyutl; CAdES verifies with openssl`, async () => {
    const { keyPem, certificatePem } = issueEcCertificate(curve);
    const signer = createPemSigner({ name: `ec-${curve}`, keyPem, certificatePem, chainPem: pki.caCertificatePem });
    assert.equal(signer.keyAlgorithm, 'EC');
    const publicKeyPath = join(work, `ec-${curve}.pub.pem`);
    writeFileSync(publicKeyPath, createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }));
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      for (let i = 0; i < 20; i++) {
        const data = Buffer.from(`message ${i}`);
        const digest = createHash(hash).update(data).digest();
        const signature = await signer.signDigest(digest, hash);
        assert.ok(verify(hash, data, createPublicKey(certificatePem), signature), `${hash} #${i}`);
        if (i === 0) {
          writeFileSync(join(work, 'ec.digest'), digest);
          writeFileSync(join(work, 'ec.sig'), signature);
          const checked = openssl('pkeyutl', '-verify', '-pubin', '-inkey', publicKeyPath, '-in', join(work, 'ec.digest'),
            '-sigfile', join(work, 'ec.sig'));
          assert.equal(checked.status, 0, checked.stdout + checked.stderr);
        }
      }
    }
    const cades = await signFile(HELLO_WORLD, signer);
    const result = opensslVerify(cades, HELLO_WORLD);
    assert.equal(result.status, 0, result.stderr);
    assert.match(openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', cades).stdout, /algorithm: ecdsa-with-SHA256/);
  });
}
