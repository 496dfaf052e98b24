/**
 * The hot folder against the API, same documents, same run (prints figures and the ratio, not a
 * verdict): N × 200 KB PDFs at PAdES-B-T, (1) sent as one multipart operation and waited for, then (2)
 * dropped at once into a hot folder (written under *.tmp names, renamed in) and waited for until every
 * signed file is in `output`. Issue 15's goal: the hot folder within 1.5× of the multipart time.
 * Both against a `signet serve` child process on the embedded store.
 *
 *   node --import tsx bench/hot-folder.ts [documents=2500] [settle=500ms]
 */
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uploadBatch, waitDone } from './support/batch-upload.js';
import { startChildServer } from './support/child-server.js';
import { generatedPdf } from './support/generated-pdf.js';

const COUNT = Number(process.argv[2] ?? 2500);
const SETTLE = process.argv[3] ?? '500ms';
const signature = { format: 'PAdES', level: 'B-T' };

async function withServer<T>(hotFolder: boolean, use: (url: string, workFolder: string) => Promise<T>): Promise<T> {
  const label = hotFolder ? 'hot folder' : 'multipart';
  const workFolder = await mkdtemp(path.join(tmpdir(), 'signet-bench-hot-'));
  const client = { secret: 'bench-secret', ...(hotFolder && { hotFolder: { input: 'in', backup: 'backup', output: 'out', signature } }) };
  await writeFile(path.join(workFolder, 'client-services-config.json'), JSON.stringify({ bench: client }));
  const server = await startChildServer(workFolder, ['--max-body-size=2gb', '--max-documents=5000', ...(hotFolder ? ['--hot-folder=true', `--hot-folder-settle=${SETTLE}`] : [])]);
  // Where a hot-folder batch spent its time (the service logs it): submit (staging), sign, finish (outputs).
  server.child.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('hot folder: batch done')) continue;
      const { documents, submitMs, signMs, finishMs } = JSON.parse(line) as Record<string, number>;
      console.log(`    batch of ${documents}: submit ${submitMs} ms, sign ${signMs} ms, finish ${finishMs} ms`);
    }
  });
  try {
    const before = await server.cpuSeconds();
    const result = await use(server.url, workFolder);
    const cpu = await server.cpuSeconds();
    console.log(`    ${label} server CPU: ${(cpu.user - before.user).toFixed(1)} s user, ${(cpu.system - before.system).toFixed(1)} s system`);
    return result;
  } finally {
    await server.stop();
    await rm(workFolder, { recursive: true, force: true });
  }
}

const pdf = generatedPdf();
console.log(`${COUNT} × ${(pdf.length / 1024).toFixed(0)} KB PDFs at PAdES-B-T, Node ${process.version}`);

const multipart = await withServer(false, async (url) => {
  const start = performance.now();
  const taskId = await uploadBatch(url, signature, pdf, COUNT);
  await waitDone(url, taskId);
  return (performance.now() - start) / 1000;
});
console.log(`  one multipart operation: ${multipart.toFixed(1)} s (${(COUNT / multipart).toFixed(0)} docs/s)`);

const hot = await withServer(true, async (_url, workFolder) => {
  const input = path.join(workFolder, 'in');
  const output = path.join(workFolder, 'out');
  await mkdir(input, { recursive: true });
  // Written beforehand under *.tmp names (ignored), so the clock measures the hot folder, not the disk.
  for (let i = 0; i < COUNT; i++) await writeFile(path.join(input, `doc-${i}.pdf.tmp`), pdf);
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) await rename(path.join(input, `doc-${i}.pdf.tmp`), path.join(input, `doc-${i}.pdf`));
  for (;;) {
    const done = (await readdir(output).catch(() => [] as string[])).filter((name) => name.endsWith('.pdf')).length;
    if (done >= COUNT) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (performance.now() - start) / 1000;
});
console.log(`  dropped in the hot folder (settle ${SETTLE}): ${hot.toFixed(1)} s (${(COUNT / hot).toFixed(0)} docs/s)`);
console.log(`  hot folder / multipart: ${(hot / multipart).toFixed(2)}× (goal ≤ 1.5×)`);
