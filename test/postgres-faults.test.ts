import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { createWorkFolder, startChildService, type ChildService } from './support/child-service.js';
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { basicAuth, createTestDatabase, testStores } from './support/test-service.js';

/**
 * Several instances on one PostgreSQL, under faults (issue 11): an instance killed mid-load, the
 * database restarted and stopped mid-load, a callback receiver down through it all. The instances
 * are real `signet serve` processes, so a crash of theirs is seen as a crash, not as a test error.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const children: ChildService[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function content(reference: string): Buffer {
  return createHash('sha256').update(reference).digest();
}

async function submit(url: string, reference: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      externalReference: reference,
      signature: { format: 'CAdES', level: 'B-B' },
      documents: [{ name: `${reference}.bin`, content: content(reference).toString('base64') }],
    }),
  });
}

/** Task ids by status, read straight from the database (not through an instance). */
async function databaseFacts(url: string): Promise<{ status: Map<string, string>; succeededEvents: Map<string, number> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tasks = await client.query<{ id: string; status: string }>('SELECT id, status FROM tasks');
    const events = await client.query<{ task_id: string; n: string }>("SELECT task_id, count(*) AS n FROM task_events WHERE event = 'succeeded' GROUP BY task_id");
    return {
      status: new Map(tasks.rows.map((row) => [row.id, row.status])),
      succeededEvents: new Map(events.rows.map((row) => [row.task_id, Number(row.n)])),
    };
  } finally {
    await client.end();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - started < timeoutMs, `${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

if (testStores().includes('postgres')) {
  describe('two instances on one PostgreSQL, one killed under load', () => {
    test('every task SUCCEEDS exactly once through the survivor, within about one lease; downloads are unchanged', { timeout: 120_000 }, async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const leaseMs = 3000;
      // Default lanes (2 signature slots, 32 registration slots, 2 URL slots) with a short lease.
      const flags = [`--database-url=${database.url}`, `--lease-time=${leaseMs}ms`];
      const victim = await startChildService({ workFolder: await createWorkFolder(), flags });
      const survivor = await startChildService({ workFolder: await createWorkFolder(), flags });
      children.push(victim, survivor);

      // 300 tasks of 8 documents, half submitted to each instance.
      const total = 300;
      const ids: string[] = [];
      for (let start = 0; start < total; start += 20) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, total - start) }, async (_, i) => {
            const n = start + i;
            const response = await fetch(`${(n % 2 ? victim : survivor).url}/v1/signatures`, {
              method: 'POST',
              headers: { authorization: AUTH, 'content-type': 'application/json' },
              body: JSON.stringify({
                externalReference: `kill-${n}`,
                signature: { format: 'CAdES', level: 'B-B' },
                documents: Array.from({ length: 8 }, (_, d) => ({ name: `d${d}.bin`, content: content(`kill-${n}-${d}`).toString('base64') })),
              }),
            });
            assert.equal(response.status, 202);
            return ((await response.json()) as { taskId: string }).taskId;
          }),
        );
        ids.push(...batch);
      }
      // Some work done by both, and downloads fetched before the kill.
      await waitFor(async () => [...(await databaseFacts(database.url)).status.values()].filter((s) => s === 'SUCCEEDED').length >= 40, 60_000, '40 tasks done');
      const before = new Map<string, Buffer>();
      const facts = await databaseFacts(database.url);
      for (const id of ids.filter((id) => facts.status.get(id) === 'SUCCEEDED').slice(0, 10)) {
        const operation = (await (await fetch(`${victim.url}/v1/signatures/${id}`, { headers: { authorization: AUTH } })).json()) as any;
        const link = operation.documents[3].links.content;
        before.set(link, Buffer.from(await (await fetch(`${victim.url}${link}`, { headers: { authorization: AUTH } })).arrayBuffer()));
      }
      const running = await new pg.Client({ connectionString: database.url });
      await running.connect();
      const heldByVictim = Number(
        (await running.query("SELECT count(*) AS n FROM tasks WHERE status = 'RUNNING' AND lease_owner LIKE $1", [`%:${victim.pid}:%`])).rows[0].n,
      );
      await running.end();

      victim.process.kill('SIGKILL');
      await victim.exited;
      const killedAt = Date.now();
      const allDone = await waitFor(
        async () => [...(await databaseFacts(database.url)).status.values()].every((s) => s === 'SUCCEEDED'),
        60_000,
        'every task SUCCEEDED after the kill',
      );
      const final = await databaseFacts(database.url);
      assert.equal(final.status.size, total);
      for (const id of ids) assert.equal(final.succeededEvents.get(id), 1, `task ${id} succeeded ${final.succeededEvents.get(id)} times`);
      for (const [link, bytes] of before) {
        const again = Buffer.from(await (await fetch(`${survivor.url}${link}`, { headers: { authorization: AUTH } })).arrayBuffer());
        assert.ok(again.equals(bytes), `${link} differs when downloaded from the survivor`);
      }
      console.log(
        `kill -9 of one instance (${heldByVictim} tasks RUNNING on it): all ${total} SUCCEEDED ${Date.now() - killedAt} ms after the kill ` +
          `(lease ${leaseMs} ms; polled ${allDone} ms), each once; ${before.size} downloads identical from the survivor`,
      );
    });
  });
}

const noPrivateCluster = privatePostgresUnavailable();
if (testStores().includes('postgres')) {
  describe('PostgreSQL restarted and stopped under load (a private cluster)', { skip: noPrivateCluster }, () => {
    test('no crash, 503 with Retry-After while it is down, LISTEN again after, nothing lost or done twice, callbacks delivered once the receiver is back', { timeout: 180_000 }, async () => {
      const cluster: PrivatePostgres = await startPrivatePostgres();
      cleanups.push(() => cluster.destroy());

      // The callback receiver: down (connection refused) from before the outage until after it.
      const seen = new Map<string, number>();
      let receiver: http.Server | undefined;
      const receiverPort = await new Promise<number>((resolve) => {
        const probe = http.createServer().listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as { port: number };
          probe.close(() => resolve(port));
        });
      });
      const startReceiver = () =>
        new Promise<void>((resolve) => {
          receiver = http.createServer((request, response) => {
            const id = String(request.headers['webhook-id']);
            let body = '';
            request.on('data', (chunk) => (body += chunk));
            request.on('end', () => {
              const taskId = JSON.parse(body).data.taskId as string;
              seen.set(taskId, (seen.get(taskId) ?? 0) + 1);
              void id;
              response.writeHead(200).end();
            });
          });
          receiver.listen(receiverPort, '127.0.0.1', resolve);
        });
      const callbackUrl = `http://127.0.0.1:${receiverPort}/hook`;
      const clients = { 'client-a': { secret: 'secret-a', callbackUrl } };
      const flags = [
        `--database-url=${cluster.url}`,
        '--outbound-allow=127.0.0.1',
        '--lease-time=5s',
        '--webhook-retry-schedule=0s,1s,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s',
      ];
      const worker = await startChildService({ workFolder: await createWorkFolder(clients), flags });
      const api = await startChildService({ workFolder: await createWorkFolder(clients), flags: [...flags, '--workers=0'] });
      children.push(worker, api);

      // A steady load of ~25 submissions a second against both instances, recording every answer.
      const accepted = new Map<string, string>(); // reference → taskId
      const refused: Array<{ reference: string; status: number; retryAfter: string | null }> = [];
      const unexpected: string[] = [];
      let sent = 0;
      let loading = true;
      const load = (async () => {
        while (loading) {
          const reference = `load-${sent++}`;
          const target = sent % 2 ? api : worker;
          void submit(target.url, reference).then(
            async (response) => {
              const body = await response.text();
              if (response.status === 202) accepted.set(reference, JSON.parse(body).taskId);
              else if (response.status === 503) refused.push({ reference, status: 503, retryAfter: response.headers.get('retry-after') });
              else unexpected.push(`${reference}: ${response.status} ${body.slice(0, 200)}`);
            },
            (error) => unexpected.push(`${reference}: ${String((error as Error).cause ?? error)}`),
          );
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
      })();

      await new Promise((resolve) => setTimeout(resolve, 2000));
      // 1. A fast restart mid-load: every connection is terminated by the administrator.
      cluster.restart();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      for (const child of [worker, api]) assert.equal(child.process.exitCode, null, `an instance exited after the restart:\n${child.logs.slice(-15).join('\n')}`);

      // 2. A longer outage: readiness 503, liveness 200, submissions 503 with Retry-After.
      cluster.stop();
      const duringOutage = { readyz: 0, healthz: 0, submit: 0, retryAfter: null as string | null, code: '' };
      await new Promise((resolve) => setTimeout(resolve, 500));
      duringOutage.readyz = (await fetch(`${api.url}/readyz`)).status;
      duringOutage.healthz = (await fetch(`${api.url}/healthz`)).status;
      const refusedSubmission = await submit(api.url, 'during-outage');
      duringOutage.submit = refusedSubmission.status;
      duringOutage.retryAfter = refusedSubmission.headers.get('retry-after');
      duringOutage.code = ((await refusedSubmission.json()) as { code: string }).code;
      await new Promise((resolve) => setTimeout(resolve, 2500));
      cluster.start();
      const readyAgainMs = await waitFor(async () => (await fetch(`${api.url}/readyz`)).status === 200, 30_000, '/readyz 200 again');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      loading = false;
      await load;
      await new Promise((resolve) => setTimeout(resolve, 1000));

      assert.deepEqual(
        { readyz: duringOutage.readyz, healthz: duringOutage.healthz, submit: duringOutage.submit, code: duringOutage.code, hasRetryAfter: duringOutage.retryAfter !== null },
        { readyz: 503, healthz: 200, submit: 503, code: 'database_unavailable', hasRetryAfter: true },
      );
      assert.deepEqual(unexpected, [], 'every submission got 202 or 503, none a 500 or a broken connection');
      assert.ok(refused.every((r) => r.retryAfter !== null), 'every 503 carries Retry-After');
      for (const child of [worker, api]) assert.equal(child.process.exitCode, null, `an instance exited:\n${child.logs.slice(-15).join('\n')}`);

      // Refused submissions are sent again now, as a client told to retry would: they are accepted.
      for (const { reference } of [...refused, { reference: 'during-outage' }]) {
        const response = await submit(api.url, reference);
        // 200 replayed: the refused request had been committed after all (its answer was lost).
        const ok = response.status === 202 || (response.status === 200 && response.headers.get('idempotent-replayed') === 'true');
        assert.ok(ok, `${reference} after the outage: ${response.status}`);
        accepted.set(reference, ((await response.json()) as { taskId: string }).taskId);
      }

      // LISTEN is subscribed again on both instances (one listening connection each) …
      const listening = await waitFor(
        async () => {
          const client = new pg.Client({ connectionString: cluster.url });
          await client.connect();
          const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN signet_%'");
          await client.end();
          return Number(rows[0]!.n) === 2;
        },
        15_000,
        'both instances LISTEN again',
      );
      // … and Prefer: wait on the API-only instance hears the worker finish.
      const waited = await submit(api.url, 'after-outage-wait', { prefer: 'wait=20' });
      assert.equal(waited.status, 200);
      accepted.set('after-outage-wait', ((await waited.json()) as { id: string }).id);

      // Every accepted task SUCCEEDS, exactly once. (On a timeout the message says where the rest stand.)
      await waitFor(
        async () => {
          const facts = await databaseFacts(cluster.url);
          return [...accepted.values()].every((id) => facts.status.get(id) === 'SUCCEEDED');
        },
        60_000,
        'every accepted task SUCCEEDED',
      ).catch(async (error: Error) => {
        const client = new pg.Client({ connectionString: cluster.url });
        await client.connect();
        const { rows } = await client.query(
          `SELECT id, status, attempts, lease_owner, lease_until - (extract(epoch from clock_timestamp()) * 1000)::bigint AS lease_left_ms,
                  run_at - (extract(epoch from clock_timestamp()) * 1000)::bigint AS due_in_ms, error_code
           FROM tasks WHERE status <> 'SUCCEEDED' LIMIT 10`,
        );
        await client.end();
        throw new Error(`${error.message}; unfinished: ${JSON.stringify(rows)}; worker log: ${worker.logs.slice(-12).join('\n')}`);
      });
      const facts = await databaseFacts(cluster.url);
      assert.equal(facts.status.size, accepted.size, 'no task exists that was not accepted');
      for (const [reference, id] of accepted) assert.equal(facts.succeededEvents.get(id), 1, `${reference} succeeded ${facts.succeededEvents.get(id)} times`);

      // The receiver comes back only now: every task's callback arrives, once.
      assert.equal(seen.size, 0);
      await startReceiver();
      cleanups.push(() => new Promise<void>((resolve) => receiver!.close(() => resolve())));
      await waitFor(async () => [...accepted.values()].every((id) => seen.has(id)), 60_000, 'every callback delivered once the receiver is back');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const twice = [...seen].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, [], 'callbacks delivered more than once');
      console.log(
        `database faults: ${sent} submissions sent, ${accepted.size} accepted, ${refused.length} refused with 503 during the outage; ` +
          `/readyz 200 again ${readyAgainMs} ms after the start; LISTEN again after ${listening} ms; ${seen.size} callbacks, each once`,
      );
    });
  });
}
