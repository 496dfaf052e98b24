/**
 * Callback delivery throughput with the engine and the store in the loop: N deliveries recorded in
 * the database, sent by the DeliveryRunner through the WebhookSender (signed, address policy, lease,
 * attempt log) to a local receiver. Baseline, same run: the same number of bare undici POSTs with the
 * same concurrency — the HTTP floor. Prints figures and ratios, not verdicts.
 *
 *   node --import tsx bench/deliveries.ts [count=5000] [sqlite|postgres]
 *   (postgres uses SIGNET_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { decideAfterAttempt } from '../src/core/deliveries/retry-schedule.js';
import { DeliveryRunner } from '../src/engine/delivery-runner.js';
import { OutboundAddressPolicy } from '../src/outbound/address-policy.js';
import { WebhookSender } from '../src/outbound/webhook-sender.js';
import { openStore } from '../src/store/store.js';
import { silentLogger } from '../src/util/logger.js';
import { uuid7 } from '../src/util/uuid7.js';

const COUNT = Number(process.argv[2] ?? 5000);
const STORE = process.argv[3] ?? 'sqlite';
const CONCURRENCY = 64;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
const body = JSON.stringify({ type: 'task.succeeded', timestamp: new Date().toISOString(), data: { taskId: uuid7(), status: 'SUCCEEDED' } });

// Baseline: bare POSTs, same concurrency.
const agent = new Agent({ connections: CONCURRENCY });
let next = 0;
const baselineStart = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < COUNT) {
      const response = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await response.body.dump();
    }
  }),
);
const baselineSeconds = (performance.now() - baselineStart) / 1000;
await agent.close();

// Signet: deliveries in the store, the runner sends them.
const folder = await mkdtemp(path.join(tmpdir(), 'signet-bench-'));
let databaseUrl: string | undefined;
let dropDatabase = async () => {};
if (STORE === 'postgres') {
  const admin = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `signet_bench_${process.pid}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  databaseUrl = u.toString();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
}
const store = await openStore({ workFolder: folder, databaseUrl });
const now = Date.now();
const rows = Array.from({ length: COUNT }, () => ({
  id: uuid7(now), task_id: uuid7(now), client_id: 'bench', url, host: new URL(url).host, event_type: 'task.succeeded', body,
  status: 'PENDING' as const, attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, created_at: now, finished_at: null,
}));
for (let i = 0; i < rows.length; i += 500) await store.database.db.insertInto('deliveries').values(rows.slice(i, i + 500)).execute();

const sender = new WebhookSender(new OutboundAddressPolicy(['127.0.0.1']), 10_000);
const secrets = [`whsec_${randomBytes(24).toString('base64')}`];
const schedule = [0, 5000];
const runner = new DeliveryRunner({
  deliveries: store.deliveries,
  send: (d) => sender.send({ id: d.id, url: d.url, body: d.body, secrets }),
  decide: (d, result, at) => decideAfterAttempt(schedule, d.attempts + 1, result, at),
  perHostConcurrency: CONCURRENCY,
  totalConcurrency: CONCURRENCY,
  leaseMs: 60_000,
  log: silentLogger,
  pollIntervalMs: 50,
});
const start = performance.now();
runner.start();
for (;;) {
  const row = await store.database.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', '=', 'DELIVERED')
    .executeTakeFirst();
  if (Number(row?.n) >= COUNT) break;
  await new Promise((r) => setTimeout(r, 20));
}
const seconds = (performance.now() - start) / 1000;
await runner.stop();
await sender.close();
await store.close();
await dropDatabase();
await rm(folder, { recursive: true, force: true });
server.close();

const rate = COUNT / seconds;
const baseline = COUNT / baselineSeconds;
console.log(`deliveries (${STORE}), ${COUNT} to a local receiver, concurrency ${CONCURRENCY}`);
console.log(`  signet (runner + store + signing + attempt log): ${rate.toFixed(0)}/s`);
console.log(`  baseline (bare undici POSTs):                     ${baseline.toFixed(0)}/s`);
console.log(`  ratio signet/baseline:                            ${(rate / baseline).toFixed(2)}`);
