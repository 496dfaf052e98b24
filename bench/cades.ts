/**
 * CAdES-B-B detached signing throughput on a 200 KB document, against baselines measured in the same
 * run: the raw RSA signature (crypto.sign over the same 200 KB, the floor), pkijs building the same
 * SignedData, and `openssl cms -sign` spawned per document. Prints figures and ratios, not verdicts.
 *
 *   node --import tsx bench/cades.ts [seconds per measurement, default 3]
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { signingCertificateV2Attribute } from '../src/crypto/cms/signing-certificate-v2.js';
import { readIssuerAndSerial } from '../src/crypto/cms/tbs-certificate.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { measure, measureInterleaved, type Measurement } from './support/measure.js';

const DOCUMENT_SIZE = 200 * 1024;
const SECONDS = Number(process.argv[2] ?? 3);
/** Short runs per operation, rotated with the others; the median counts (bench/support/measure.ts). */
const ROUNDS = 3;
const OPENSSL_ITERATIONS = 20;

/** The same CAdES structure (same four signed attributes, same certificates) built with pkijs objects. */
async function pkijsSigner(pki: DevelopmentPki, keyPem: string): Promise<(digest: Buffer) => Promise<Buffer>> {
  const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
  const keyDer = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  const algorithm: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const privateKey = await engine.importKey('pkcs8', new Uint8Array(keyDer), algorithm, false, ['sign']);
  const certificate = pkijs.Certificate.fromBER(new Uint8Array(pki.signer.certificateDer));
  const chain = pki.signer.chainDer.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der)));
  // Precomputed, as in our builder: pkijs pays only for building and encoding the per-document structure.
  const essAttribute = pkijs.Attribute.fromBER(
    new Uint8Array(signingCertificateV2Attribute(pki.signer.certificateDer, readIssuerAndSerial(pki.signer.certificateDer))),
  );
  return async (digest) => {
    const signedData = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
      certificates: [certificate, ...chain],
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              new pkijs.Attribute({
                type: '1.2.840.113549.1.9.3',
                values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })],
              }),
              new pkijs.Attribute({ type: '1.2.840.113549.1.9.5', values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
              new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: digest })] }),
              essAttribute,
            ],
          }),
        }),
      ],
    });
    await signedData.sign(privateKey, 0, 'SHA-256', undefined, engine);
    const contentInfo = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
    return Buffer.from(contentInfo.toSchema().toBER(false));
  };
}

function opensslVerifies(work: string, signature: Buffer, contentPath: string, caPath: string): boolean {
  const signaturePath = join(work, 'check.p7s');
  writeFileSync(signaturePath, signature);
  const result = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', signaturePath,
    '-content', contentPath, '-CAfile', caPath, '-out', '/dev/null'], { encoding: 'utf8' });
  return result.status === 0;
}

function format(measurement: Measurement): string {
  return `  ${measurement.name.padEnd(46)} ${measurement.perSecond.toFixed(1).padStart(9)} /s ` +
    `${measurement.msPerOp.toFixed(3).padStart(9)} ms/op  (${measurement.iterations} ops)`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'signet-bench-cades-'));
  try {
    const pkiFolder = join(work, 'pki');
    const pki = await ensureDevelopmentPki(pkiFolder);
    const keyPath = join(pkiFolder, 'signing.key.pem');
    const certificatePath = join(pkiFolder, 'signing.cert.pem');
    const caPath = join(pkiFolder, 'ca.cert.pem');
    const keyPem = readFileSync(keyPath, 'utf8');
    const privateKey = createPrivateKey(keyPem);
    const document = randomBytes(DOCUMENT_SIZE);
    const documentPath = join(work, 'document.bin');
    writeFileSync(documentPath, document);

    const signet = async () =>
      createCadesDetachedSignature({
        messageDigest: createHash('sha256').update(document).digest(),
        signer: pki.signer,
        signingTime: new Date(),
      });
    const signPkijs = await pkijsSigner(pki, keyPem);
    const viaPkijs = async () => signPkijs(createHash('sha256').update(document).digest());
    const digest = createHash('sha256').update(document).digest();
    const signetPrehashed = async () =>
      createCadesDetachedSignature({ messageDigest: digest, signer: pki.signer, signingTime: new Date() });
    const opensslArgs = ['cms', '-sign', '-binary', '-md', 'sha256', '-in', documentPath, '-signer', certificatePath,
      '-inkey', keyPath, '-certfile', caPath, '-outform', 'DER', '-out', join(work, 'openssl.p7s')];
    const openssl = () => {
      const result = spawnSync('openssl', opensslArgs);
      if (result.status !== 0) throw new Error(`openssl cms -sign failed: ${result.stderr}`);
    };

    // Figures only count for outputs an independent verifier accepts.
    for (const [name, produce] of [['signet', signet], ['pkijs', viaPkijs]] as const) {
      if (!opensslVerifies(work, await produce(), documentPath, caPath)) throw new Error(`${name} output does not verify`);
    }

    console.log(`CAdES-B-B detached, RSA-2048, ${DOCUMENT_SIZE / 1024} KB document, ~${SECONDS} s per measurement (median of ${ROUNDS} interleaved runs), ` +
      `Node ${process.version}, 1 thread`);
    const [signetResult, prehashedResult, rawResult, pkijsResult] = await measureInterleaved([
      ['signet: SHA-256 + createCadesDetachedSignature', signet],
      ['signet: CAdES over a precomputed digest', signetPrehashed],
      ["baseline: crypto.sign('sha256', 200 KB, key)", () => sign('sha256', document, privateKey)],
      ['baseline: pkijs SignedData (same attributes)', viaPkijs],
    ], SECONDS, ROUNDS);
    const results = {
      signet: signetResult,
      signetPrehashed: prehashedResult,
      raw: rawResult,
      pkijs: pkijsResult,
      openssl: await measure('baseline: openssl cms -sign (spawned)', openssl, SECONDS, OPENSSL_ITERATIONS),
    };
    for (const result of Object.values(results)) console.log(format(result));

    const ratio = (a: Measurement, b: Measurement) => (a.perSecond / b.perSecond).toFixed(2);
    console.log('ratios (throughput):');
    console.log(`  signet / raw crypto.sign   ${ratio(results.signet, results.raw)}  ` +
      `(CMS overhead ${(results.signet.msPerOp - results.raw.msPerOp).toFixed(3)} ms/signature)`);
    console.log(`  signet / pkijs             ${ratio(results.signet, results.pkijs)}`);
    console.log(`  signet / openssl cms -sign ${ratio(results.signet, results.openssl)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
