/**
 * Registrations, two figures from one run (prints figures and ratios, not verdicts):
 *
 * 1. Small-file registrations end to end through the HTTP API, on each store in the same run
 *    (bench/support/registration-load.ts): N JSON submissions (distinct 1 KB contents, one user)
 *    from 32 concurrent clients until every task is SUCCEEDED with a RID. Targets: ≥ 500/s embedded
 *    (issue 4); PostgreSQL ≥ 0.7× the embedded figure of the same run (issue 11).
 * 2. Hashing a large file against `sha256sum` on the same file in the same run (issue target: ≥ 0.8×
 *    sha256sum's speed): our SHA-256 + SHA-1 in one read, and stageContent, which hashes while it
 *    writes the file durably — that one is bounded by the disk, so `dd … conv=fsync` of the same file
 *    is printed too (the floor for any durable copy).
 *
 *   node --import tsx bench/registrations.ts [count=3000] [sizeMB=512] [stores=sqlite,postgres]
 *
 * PostgreSQL: a fresh database on SIGNET_TEST_DATABASE_URL's server (default 127.0.0.1:5432).
 */
import { spawnSync } from 'node:child_process';
import { createHash, createCipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { stageContent } from '../src/core/registrations/stage-content.js';
import { openStore } from '../src/store/store.js';
import { registrationLoad } from './support/registration-load.js';

const COUNT = Number(process.argv[2] ?? 3000);
const SIZE_MB = Number(process.argv[3] ?? 512);
const STORES = (process.argv[4] ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
const work = await mkdtemp(path.join(tmpdir(), 'signet-bench-reg-'));

const figures = new Map<string, Awaited<ReturnType<typeof registrationLoad>>>();
console.log(`${COUNT} small-file registrations, 32 concurrent clients, Node ${process.version}`);
for (const store of STORES) {
  const result = await registrationLoad({ count: COUNT, store });
  figures.set(store, result);
  console.log(
    `  ${store.padEnd(8)} accepted (202) ${result.acceptedPerSecond.toFixed(0)}/s; all registered in ${result.totalMs.toFixed(0)} ms: ` +
      `${result.registeredPerSecond.toFixed(0)}/s end to end${store === 'sqlite' ? ' (target ≥ 500/s)' : ''}`,
  );
}
if (figures.has('sqlite') && figures.has('postgres')) {
  const ratio = figures.get('postgres')!.registeredPerSecond / figures.get('sqlite')!.registeredPerSecond;
  console.log(`  PostgreSQL / embedded, end to end: ${ratio.toFixed(2)}× (issue 11 goal ≥ 0.7×)`);
}

// Large-file hashing: our staging path against sha256sum, same file, same run (page cache warm for both).
const bigFile = path.join(work, 'big.bin');
{
  const handle = await open(bigFile, 'w');
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 1), Buffer.alloc(16, 2));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < SIZE_MB; i++) await handle.write(cipher.update(zeros));
  // On disk before anything is timed: its writeback would otherwise compete with whatever runs next
  // (the staging figure was 0.7× sha256sum with it, 1.5–2× without).
  await handle.sync();
  await handle.close();
}
spawnSync('sha256sum', [bigFile]); // warm the page cache
const timeIt = async (fn: () => Promise<unknown> | unknown) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const sha256sumMs = await timeIt(() => spawnSync('sha256sum', [bigFile]));
const sha1sumMs = await timeIt(() => spawnSync('sha1sum', [bigFile]));
const hashOnlyMs = await timeIt(async () => {
  const a = createHash('sha256');
  const b = createHash('sha1');
  for await (const chunk of createReadStream(bigFile, { highWaterMark: 1024 * 1024 })) (a.update(chunk as Buffer), b.update(chunk as Buffer));
});
const copyMs = await timeIt(() => spawnSync('dd', [`if=${bigFile}`, `of=${bigFile}.copy`, 'bs=1M', 'conv=fsync', 'status=none']));
await rm(`${bigFile}.copy`, { force: true });
const stagingStore = await openStore({ workFolder: path.join(work, 'staging'), log: pino({ level: 'silent' }) });
const stageMs = await timeIt(() => stageContent(stagingStore, createReadStream(bigFile, { highWaterMark: 1024 * 1024 })));
await stagingStore.close();
const speed = (ms: number) => `${((SIZE_MB / ms) * 1000).toFixed(0)} MB/s`;
console.log(`${SIZE_MB} MB file:`);
console.log(`  sha256sum                                  ${sha256sumMs.toFixed(0)} ms  ${speed(sha256sumMs)}  (baseline)`);
console.log(`  sha1sum                                    ${sha1sumMs.toFixed(0)} ms  ${speed(sha1sumMs)}`);
console.log(`  node SHA-256 + SHA-1, one read             ${hashOnlyMs.toFixed(0)} ms  ${speed(hashOnlyMs)}  ratio ${(sha256sumMs / hashOnlyMs).toFixed(2)}× sha256sum (target ≥ 0.8×)`);
console.log(`  dd conv=fsync (a durable copy, no hashing) ${copyMs.toFixed(0)} ms  ${speed(copyMs)}  ratio ${(sha256sumMs / copyMs).toFixed(2)}× sha256sum (the disk's floor)`);
console.log(`  stageContent (both hashes + write + fsync) ${stageMs.toFixed(0)} ms  ${speed(stageMs)}  ratio ${(sha256sumMs / stageMs).toFixed(2)}× sha256sum, ${(copyMs / stageMs).toFixed(2)}× dd`);

await rm(work, { recursive: true, force: true });
