/**
 * The hot folder against the API, same documents, same run (prints figures and the ratio, not a
 * verdict): N × 200 KB PDFs at PAdES-B-T, (1) sent as one multipart operation and waited for, and (2)
 * dropped at once into a hot folder (written under *.tmp names, renamed in) and waited for until every
 * signed file is in `output`. Issue 15's goal: the hot folder within 1.5× of the multipart time.
 * Both against a `signet serve` child process on the embedded store.
 *
 * Rounds alternate the order (multipart first, then hot folder first) and the best of each is kept;
 * work folders are removed only at the end. On this machine's ext4 (no journal) a file created within
 * a few minutes of thousands of deletions costs several times more (the inode allocator skips recently
 * deleted inodes, reading each one's table block): removing the first mode's 5,000 blobs right before
 * the second taxed whichever came second.
 *
 *   node --import tsx bench/hot-folder.ts [documents=2500] [settle=500ms] [rounds=2]
 */
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uploadBatch, waitDone } from './support/batch-upload.js';
import { startChildServer } from './support/child-server.js';
import { generatedPdf } from './support/generated-pdf.js';

const COUNT = Number(process.argv[2] ?? 2500);
const SETTLE = process.argv[3] ?? '500ms';
const ROUNDS = Number(process.argv[4] ?? 2);
const workFolders: string[] = [];
const signature = { format: 'PAdES', level: 'B-T' };

async function withServer<T>(hotFolder: boolean, use: (url: string, workFolder: string) => Promise<T>): Promise<T> {
  const label = hotFolder ? 'hot folder' : 'multipart';
  const workFolder = await mkdtemp(path.join(tmpdir(), 'signet-bench-hot-'));
  workFolders.push(workFolder);
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
  }
}

const pdf = generatedPdf();
console.log(`${COUNT} × ${(pdf.length / 1024).toFixed(0)} KB PDFs at PAdES-B-T, Node ${process.version}, best of ${ROUNDS} rounds in alternating order`);

function multipart(): Promise<number> {
  return withServer(false, async (url) => {
    const start = performance.now();
    const taskId = await uploadBatch(url, signature, pdf, COUNT);
    await waitDone(url, taskId);
    const seconds = (performance.now() - start) / 1000;
    console.log(`  one multipart operation: ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(0)} docs/s)`);
    return seconds;
  });
}

function hotFolder(): Promise<number> {
  return withServer(true, async (_url, workFolder) => {
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
    const seconds = (performance.now() - start) / 1000;
    console.log(`  dropped in the hot folder (settle ${SETTLE}): ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(0)} docs/s)`);
    return seconds;
  });
}

const best = { multipart: Infinity, hot: Infinity };
try {
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`round ${round + 1}`);
    for (const mode of round % 2 === 0 ? (['multipart', 'hot'] as const) : (['hot', 'multipart'] as const)) {
      best[mode] = Math.min(best[mode], mode === 'hot' ? await hotFolder() : await multipart());
    }
  }
} finally {
  for (const folder of workFolders) await rm(folder, { recursive: true, force: true });
}
console.log(`best: multipart ${best.multipart.toFixed(1)} s, hot folder ${best.hot.toFixed(1)} s`);
console.log(`  hot folder / multipart: ${(best.hot / best.multipart).toFixed(2)}× (goal ≤ 1.5×)`);
