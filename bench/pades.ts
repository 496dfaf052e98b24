/**
 * PAdES-B-B signing throughput on a ~200 KB PDF, with baselines measured in the same run: the raw RSA
 * signature over the same 200 KB (crypto.sign, the floor), our CMS alone over a precomputed digest, and
 * the PDF part alone (read, field, update, byte ranges, digest — with a constant CMS, no RSA). Then the
 * same signing on 2 worker threads (the service's shape: a worker pool sized to the cores).
 * Prints figures and ratios, not verdicts.
 *
 *   node --import tsx bench/pades.ts [seconds per measurement, default 3]
 *
 * The peer baseline (@signpdf, a dev dependency) is measured in bench/pades-vs-signpdf.ts, on the
 * classic-xref PDF it can read (its placeholder-plain cannot read xref streams).
 */
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { signPdf } from '../src/crypto/pdf/pades/sign-pdf.js';
import { generatedPdf } from './support/generated-pdf.js';
import { measure, measureInterleaved, type Measurement } from './support/measure.js';

const SECONDS = Number(process.argv[2] ?? 3);
const SAMPLE = fileURLToPath(new URL('../../shared/testdata/pdf/sample.pdf', import.meta.url));

async function workerMain(): Promise<void> {
  const { pkiFolder, pdf, seconds } = workerData as { pkiFolder: string; pdf: Uint8Array; seconds: number };
  const pki = await ensureDevelopmentPki(pkiFolder);
  const document = Buffer.from(pdf);
  const result = await measure('worker', () => signPdf(document, { signer: pki.signer, signingTime: new Date() }), seconds);
  parentPort!.postMessage(result);
}

async function onThreads(threads: number, pkiFolder: string, pdf: Buffer): Promise<Measurement> {
  const results = await Promise.all(
    Array.from({ length: threads }, () =>
      new Promise<Measurement>((resolve, reject) => {
        const worker = new Worker(typescriptWorkerBootstrap(), { eval: true, workerData: { pkiFolder, pdf, seconds: SECONDS } });
        worker.once('message', (message: Measurement) => {
          resolve(message);
          void worker.terminate();
        });
        worker.once('error', reject);
      }),
    ),
  );
  const perSecond = results.reduce((sum, result) => sum + result.perSecond, 0);
  const iterations = results.reduce((sum, result) => sum + result.iterations, 0);
  return { name: `signet: signPdf on ${threads} worker threads (sum)`, perSecond, msPerOp: 1000 / perSecond, iterations };
}

/** A worker on Node 20 does not inherit tsx's loader: register it in the worker, then load this file. */
function typescriptWorkerBootstrap(): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })` +
    '.catch((error) => { process.nextTick(() => { throw error; }); });';
}

function format(measurement: Measurement): string {
  return `  ${measurement.name.padEnd(56)} ${measurement.perSecond.toFixed(1).padStart(9)} /s ` +
    `${measurement.msPerOp.toFixed(3).padStart(8)} ms/op  (${measurement.iterations} ops)`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'signet-bench-pades-'));
  try {
    const pkiFolder = join(work, 'pki');
    const pki = await ensureDevelopmentPki(pkiFolder);
    const privateKey = createPrivateKey(readFileSync(join(pkiFolder, 'signing.key.pem')));
    const generated = generatedPdf();
    const sample = readFileSync(SAMPLE);

    // Figures only count for outputs an independent verifier accepts.
    for (const [name, pdf] of [['generated', generated], ['sample.pdf', sample]] as const) {
      const path = join(work, `${name}-signed.pdf`);
      writeFileSync(path, await signPdf(pdf, { signer: pki.signer, signingTime: new Date() }));
      const pdfsig = spawnSync('pdfsig', [path], { encoding: 'utf8' });
      if (!/Signature Validation: Signature is Valid\./.test(pdfsig.stdout)) throw new Error(`${name}: pdfsig does not validate the output`);
    }

    const digest = createHash('sha256').update(generated).digest();
    const constantCms = await createCadesDetachedSignature({ messageDigest: digest, signer: pki.signer });
    const options = () => ({ signer: pki.signer, signingTime: new Date() });

    console.log(`PAdES-B-B, RSA-2048, generated ${(generated.length / 1024).toFixed(0)} KB PDF (and DSS sample.pdf, ` +
      `${(sample.length / 1024).toFixed(0)} KB), ~${SECONDS} s per measurement, Node ${process.version}`);
    const [signet, signetSample, pdfOnly, cmsOnly, raw] = await measureInterleaved([
      ['signet: signPdf, generated 200 KB', () => signPdf(generated, options())],
      ['signet: signPdf, sample.pdf', () => signPdf(sample, options())],
      ['signet: PDF part only (constant CMS, no RSA)', () => signPdf(generated, { ...options(), createCms: async () => constantCms })],
      ['signet: CMS only, precomputed digest', () => createCadesDetachedSignature({ messageDigest: digest, signer: pki.signer })],
      ["baseline: crypto.sign('sha256', 200 KB, key)", () => sign('sha256', generated, privateKey)],
    ], SECONDS);
    const threaded = await onThreads(2, pkiFolder, generated);
    for (const result of [signet, signetSample, pdfOnly, cmsOnly, raw, threaded]) console.log(format(result));

    const ratio = (a: Measurement, b: Measurement) => (a.perSecond / b.perSecond).toFixed(2);
    console.log('ratios (throughput):');
    console.log(`  signPdf / raw crypto.sign            ${ratio(signet, raw)}  (PAdES overhead ${(signet.msPerOp - raw.msPerOp).toFixed(3)} ms/signature)`);
    console.log(`  signPdf / CMS only                   ${ratio(signet, cmsOnly)}`);
    console.log(`  PDF part share of a signature        ${(pdfOnly.msPerOp / signet.msPerOp).toFixed(2)}`);
    console.log(`  2 threads / 1 thread                 ${ratio(threaded, signet)}`);
    console.log(`  2 threads / 800 per s (the goal)     ${(threaded.perSecond / 800).toFixed(2)}`);
    console.log('  @signpdf: see npm run bench:pades-vs-signpdf');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else await workerMain();
