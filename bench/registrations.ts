/**
 * Registrations, two figures from one run (prints figures and ratios, not verdicts):
 *
 * 1. Small-file registrations end to end through the HTTP API: N JSON submissions (distinct 1 KB
 *    contents, one user) with C concurrent clients, until every task is SUCCEEDED with a RID (token
 *    from the built-in TSA, registration row). Issue target: ≥ 500/s. The server runs in a process of
 *    its own (`signet serve`), as deployed; in the bench's own process the client's 32 connections
 *    took a third of the server's event loop.
 * 2. Hashing a large file against `sha256sum` on the same file in the same run (issue target: ≥ 0.8×
 *    sha256sum's speed): our SHA-256 + SHA-1 in one read, and stageContent, which hashes while it
 *    writes the file durably — that one is bounded by the disk, so `dd … conv=fsync` of the same file
 *    is printed too (the floor for any durable copy).
 *
 *   node --import tsx bench/registrations.ts [count=3000] [sizeMB=512] [sqlite|postgres]
 */
import { spawnSync } from 'node:child_process';
import { createHash, createCipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { stageContent } from '../src/core/registrations/stage-content.js';
import { openDatabase } from '../src/store/database.js';
import { openStore } from '../src/store/store.js';
import { startChildServer } from './support/child-server.js';

const COUNT = Number(process.argv[2] ?? 3000);
const SIZE_MB = Number(process.argv[3] ?? 512);
const STORE = process.argv[4] ?? 'sqlite';
const CONCURRENCY = 32;

const work = await mkdtemp(path.join(tmpdir(), 'signet-bench-reg-'));
await writeFile(path.join(work, 'client-services-config.json'), JSON.stringify({ bench: { secret: 'bench-secret' } }));
// PostgreSQL: a fresh database for the run, dropped at the end (never the admin database itself).
const adminUrl = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const benchDatabase = `signet_bench_${process.pid}`;
if (STORE === 'postgres') {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${benchDatabase}`);
  await admin.end();
}
const databaseUrl = STORE === 'postgres' ? Object.assign(new URL(adminUrl), { pathname: `/${benchDatabase}` }).toString() : undefined;
const server = await startChildServer(work, [
  ...(process.env.BENCH_FLAGS ? process.env.BENCH_FLAGS.split(' ') : []),
  ...(databaseUrl ? [`--database-url=${databaseUrl}`] : []),
]);
// The bench watches progress through its own connection to the same database.
const database = openDatabase({ databaseUrl, workFolder: work });
const auth = `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`;
const agent = new Agent({ connections: CONCURRENCY });
const runId = Date.now().toString(36);

async function submit(i: number): Promise<string> {
  const content = Buffer.alloc(1024, `${runId}-${i}-`);
  const response = await request(`${server.url}/v1/registrations/file`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ content: content.toString('base64'), name: `f${i}.txt`, userId: 'bench-user', userEmail: 'bench@example.org' }),
  });
  const body = (await response.body.json()) as { taskId: string };
  if (response.statusCode !== 202) throw new Error(`submit answered ${response.statusCode}: ${JSON.stringify(body)}`);
  return body.taskId;
}

// Warm-up: creates the account (one scrypt hash, one e-mail) outside the measurement.
await submit(-1);
await new Promise((r) => setTimeout(r, 500));

const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < COUNT) await submit(next++);
  }),
);
const submittedMs = performance.now() - started;
console.log(`store ${STORE}, ${COUNT} small-file registrations, ${CONCURRENCY} concurrent clients`);
console.log(`  accepted (202) in ${submittedMs.toFixed(0)} ms: ${((COUNT / submittedMs) * 1000).toFixed(0)}/s`);
const db = database.db;
for (;;) {
  const row = await db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kind', '=', 'register-file')
    .where('status', 'in', ['PENDING', 'RUNNING'])
    .executeTakeFirst();
  if (Number(row?.n ?? 0) === 0) break;
  await new Promise((r) => setTimeout(r, 20));
}
const totalMs = performance.now() - started;
const registered = await db.selectFrom('registrations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
console.log(`  all registered in ${totalMs.toFixed(0)} ms: ${((COUNT / totalMs) * 1000).toFixed(0)}/s end to end (target ≥ 500/s); ${Number(registered?.n) - 1} rows`);
await agent.close();

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

await database.close();
await server.stop();
await rm(work, { recursive: true, force: true });
if (STORE === 'postgres') {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`);
  await admin.end();
}
