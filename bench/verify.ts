/**
 * Verifying signatures (POST /v1/verify's work, in-process, one thread): a 200 KB PAdES-B-B PDF, the
 * same at B-LT with the signer's OCSP response in its DSS (the whole EN 319 102-1 verdict, TOTAL_PASSED), the
 * same PDF after a second incremental update (so the changes-after-signing comparison runs), a
 * detached CAdES over 200 KB, and a XAdES-B-B of the 213 KB UBL invoice — against the independent
 * verifiers the tests use, spawned per document in the same run (pdfsig, openssl cms -verify,
 * xmlsec1 --verify). Spawning costs the tools a process each, which is how they are used; the
 * ratio says what a service gains by verifying in-process. Prints figures and ratios; not a test.
 *
 *   node --import tsx bench/verify.ts [seconds per measurement, default 3]
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDocument } from '../src/core/verify/signature-reports.js';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { OcspResponder } from '../src/crypto/devca/ocsp-responder.js';
import { extendPadesLevel } from '../src/crypto/pdf/pades/pades-levels.js';
import { padesCmsFactory } from '../src/crypto/pdf/pades/pades-cms.js';
import { signPdf } from '../src/crypto/pdf/pades/sign-pdf.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { verifyOcspResponse } from '../src/crypto/revocation/ocsp-response.js';
import { TrustAnchors } from '../src/crypto/verify/certificate-trust.js';
import { signXades } from '../src/crypto/xml/xades-sign.js';
import { measureInterleaved, type Measurement } from './support/measure.js';
import { generatedPdf } from './support/generated-pdf.js';

const SECONDS = Number(process.argv[2] ?? 3);
const SPAWNED_ITERATIONS = 20;

const folder = mkdtempSync(join(tmpdir(), 'signet-bench-verify-'));
try {
  const pki = await ensureDevelopmentPki(join(folder, 'pki'));
  const anchors = TrustAnchors.fromPem(pki.caCertificatePem);
  const caFile = join(folder, 'ca.pem');
  writeFileSync(caFile, pki.caCertificatePem);

  const pdf = await signPdf(generatedPdf(), { signer: pki.signer, signingTime: new Date() });
  // B-LT with the development CA's OCSP response for the signer in the DSS: what a long-term PDF carries.
  const responder = new OcspResponder({ caCertificatePem: pki.caCertificatePem, caKeyPem: pki.caKeyPem, issued: [pki.signer.certificateDer, pki.tsa.certificateDer] });
  const caDer = new X509Certificate(pki.caCertificatePem).raw;
  const tsa = new InProcessTimestampClient(new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem }));
  const withTimestamp = await signPdf(generatedPdf(), { signer: pki.signer, signingTime: new Date(), createCms: padesCmsFactory(pki.signer, { timestampClient: tsa }) });
  const longTerm = (
    await extendPadesLevel(withTimestamp, {
      level: 'B-LT',
      validationData: {
        certificates: [caDer],
        // The TSA's status too: the same development CA answers for it.
        revocationOf: async (certificateDer, issuerDer, now) => {
          const der = await responder.responseFor(certificateDer);
          return { source: 'ocsp', der, verdict: verifyOcspResponse(der, { certificateDer, issuerDer, now }) };
        },
      },
    })
  ).pdf;
  const twice = await signPdf(pdf, { signer: pki.signer, signingTime: new Date() });
  const content = randomBytes(200 * 1024);
  const cades = await createCadesDetachedSignature({ messageDigest: createHash('sha256').update(content).digest(), signer: pki.signer });
  const invoice = readFileSync(join(import.meta.dirname, '../../shared/testdata/xml/ubl-tc434-example1.xml'));
  const xades = await signXades(invoice, { signer: pki.signer, signingTime: new Date(), level: 'B-B', pool: 'inline' });
  const files = { lt: join(folder, 'lt.pdf'), pdf: join(folder, 'a.pdf'), twice: join(folder, 'b.pdf'), content: join(folder, 'c.bin'), cades: join(folder, 'c.p7s'), xades: join(folder, 'x.xml') };
  writeFileSync(files.pdf, pdf);
  writeFileSync(files.lt, longTerm);
  writeFileSync(files.twice, twice);
  writeFileSync(files.content, content);
  writeFileSync(files.cades, cades);
  writeFileSync(files.xades, xades);

  const ours = (input: Parameters<typeof checkDocument>[0], signatures: number, indication?: string) => () => {
    const reports = checkDocument(input, { anchors, validationTime: new Date(), canFetch: false }).signatures;
    if (reports.length !== signatures || !reports.every((report) => report.intact && report.trusted)) throw new Error('not verified');
    if (indication && reports[0]!.indication !== indication) throw new Error(`not ${indication}: ${reports[0]!.errors.join('; ')}`);
  };
  const spawned = (command: string, args: string[], ok: (stdout: string, status: number | null) => boolean) => () => {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (!ok(result.stdout, result.status)) throw new Error(`${command}: ${result.stderr}`);
  };
  const measured = await measureInterleaved(
    [
      ['signet: PAdES-B-B, 200 KB, 1 signature', ours({ file: pdf, fileName: 'a.pdf' }, 1)],
      ['signet: PAdES-B-LT (OCSP in DSS), full verdict', ours({ file: longTerm, fileName: 'lt.pdf' }, 1, 'TOTAL_PASSED')],
      ['signet: PAdES-B-B, 2 signatures (1 update after)', ours({ file: twice, fileName: 'b.pdf' }, 2)],
      ['signet: CAdES detached, 200 KB', ours({ file: content, signature: cades }, 1)],
      ['signet: XAdES-B-B, 213 KB invoice', ours({ file: xades, fileName: 'x.xml' }, 1)],
    ],
    SECONDS,
  );
  const baselines: Measurement[] = [];
  for (const [name, operation] of [
    ['pdfsig (spawned), 1 signature', spawned('pdfsig', [files.pdf], (out) => out.includes('Signature is Valid.'))],
    ['pdfsig (spawned), B-LT', spawned('pdfsig', ['-no-ocsp', files.lt], (out) => out.includes('Signature is Valid.'))],
    ['pdfsig (spawned), 2 signatures', spawned('pdfsig', [files.twice], (out) => out.split('Signature is Valid.').length === 3)],
    ['openssl cms -verify (spawned)', spawned('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', files.cades, '-content', files.content, '-CAfile', caFile, '-purpose', 'any', '-out', '/dev/null'], (_o, status) => status === 0)],
    ['xmlsec1 --verify (spawned)', spawned('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', files.xades], (_o, status) => status === 0)],
  ] as const) {
    const start = performance.now();
    for (let i = 0; i < SPAWNED_ITERATIONS; i++) operation();
    const ms = (performance.now() - start) / SPAWNED_ITERATIONS;
    baselines.push({ name, perSecond: 1000 / ms, msPerOp: ms, iterations: SPAWNED_ITERATIONS });
  }
  console.log(`Verification, one thread, Node ${process.version}; median of interleaved rounds, ~${SECONDS} s per operation`);
  for (const m of [...measured, ...baselines]) console.log(`  ${m.name.padEnd(52)} ${m.perSecond.toFixed(1).padStart(8)} /s  ${m.msPerOp.toFixed(2).padStart(7)} ms/op`);
  console.log('ratios (throughput):');
  const ratio = (a: number, b: number) => `${(measured[a].perSecond / baselines[b].perSecond).toFixed(1)}×`;
  console.log(`  PAdES 1 signature / pdfsig     ${ratio(0, 0)}`);
  console.log(`  PAdES B-LT verdict / pdfsig    ${ratio(1, 1)}`);
  console.log(`  PAdES 2 signatures / pdfsig    ${ratio(2, 2)}`);
  console.log(`  CAdES / openssl cms -verify    ${ratio(3, 3)}`);
  console.log(`  XAdES / xmlsec1 --verify       ${ratio(4, 4)}`);
} finally {
  if (process.env.KEEP_BENCH_FILES) console.log("kept", folder); else rmSync(folder, { recursive: true, force: true });
}
