import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { leaseOwnerIsGone, newLeaseOwner } from '../src/engine/lease-owner.js';
import { recoverLeasesOfGoneProcesses } from '../src/engine/recover-leases.js';
import { TaskRunner, type TaskHandler } from '../src/engine/task-runner.js';
import { SignetError } from '../src/errors/signet-error.js';
import type { TaskKind } from '../src/store/schema.js';
import { openStore, type Store } from '../src/store/store.js';
import { randomIdentifierBytes } from '../src/util/random-identifier-bytes.js';
import { isUuid, uuid7 } from '../src/util/uuid7.js';
import { silentLogger } from '../src/util/logger.js';
import { createTestDatabase, testStores } from './support/test-service.js';

test('uuid7 ids from the identifier pool: version 7, time first, never repeated across pool refills', () => {
  const now = Date.UTC(2026, 10, 23);
  const ids = Array.from({ length: 2000 }, () => uuid7(now)); // 32 KB of random bytes: eight refills
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.ok(isUuid(id), id);
    assert.equal(id[14], '7');
    assert.equal(id.replace(/-/g, '').slice(0, 12), now.toString(16).padStart(12, '0'));
  }
  const pieces = Array.from({ length: 600 }, () => randomIdentifierBytes(7).toString('hex'));
  assert.equal(new Set(pieces).size, pieces.length);
  assert.ok(pieces.every((hex) => hex.length === 14));
  assert.throws(() => randomIdentifierBytes(257), RangeError);
});

async function addTask(store: Store, options: { maxAttempts?: number; runAt?: number; kind?: TaskKind } = {}): Promise<string> {
  const now = Date.now();
  const id = uuid7(now);
  await store.tasks.insertTask(
    {
      id,
      client_id: 'c',
      kind: options.kind ?? 'sign',
      status: 'PENDING',
      external_reference: null,
      request_fingerprint: 'f',
      request_json: '{}',
      description: null,
      callback_url: null,
      host: 'h:1',
      attempts: 0,
      max_attempts: options.maxAttempts ?? 5,
      run_at: options.runAt ?? now,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      error_code: null,
      error_message: null,
      result_json: null,
    },
    [],
  );
  await store.notifications.taskCreated();
  return id;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of testStores()) {
  describe(`task runner (${kind})`, () => {
    let store: Store;
    let folder: string;
    let dropDatabase: (() => Promise<void>) | undefined;
    const runners: TaskRunner[] = [];

    before(async () => {
      folder = await mkdtemp(path.join(tmpdir(), 'signet-engine-'));
      const database = kind === 'postgres' ? await createTestDatabase() : undefined;
      dropDatabase = database?.drop;
      store = await openStore({ workFolder: folder, databaseUrl: database?.url });
    });
    after(async () => {
      await Promise.all(runners.map((r) => r.stop({ force: true })));
      await store.close();
      await dropDatabase?.();
      await rm(folder, { recursive: true, force: true });
    });

    function runner(handler: TaskHandler, options: { concurrency?: number; leaseMs?: number } = {}): TaskRunner {
      const r = new TaskRunner({
        queue: store.queue,
        handlers: { sign: handler },
        concurrency: options.concurrency ?? 2,
        leaseMs: options.leaseMs ?? 5000,
        log: silentLogger,
        onWake: (wake) => store.notifications.onCreated(wake),
        pollIntervalMs: 200,
      });
      runners.push(r);
      r.start();
      return r;
    }
    const status = async (id: string) => (await store.tasks.findByIdForEngine(id))!;

    test('runs every task exactly once with concurrency, each recorded as succeeded once', async () => {
      const seen = new Map<string, number>();
      const r = runner(async ({ task }) => {
        seen.set(task.id, (seen.get(task.id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { ok: true };
      }, { concurrency: 4 });
      const ids = await Promise.all(Array.from({ length: 40 }, () => addTask(store)));
      await until(async () => (await Promise.all(ids.map(status))).every((t) => t.status === 'SUCCEEDED'));
      await r.stop();
      for (const id of ids) {
        assert.equal(seen.get(id), 1);
        assert.equal(await store.tasks.countEvents(id, 'succeeded'), 1);
        assert.equal(JSON.parse((await status(id)).result_json!).ok, true);
      }
    });

    test('lanes: slow signatures hold neither registrations nor slots of the other lane', async () => {
      let releaseSignatures!: () => void;
      const signaturesMayEnd = new Promise<void>((resolve) => (releaseSignatures = resolve));
      const started: Record<string, string[]> = { sign: [], 'register-file': [], 'register-url': [] };
      const handler: TaskHandler = async ({ task }) => {
        started[task.kind]!.push(task.id);
        if (task.kind === 'sign') await signaturesMayEnd;
        return { kind: task.kind };
      };
      const r = new TaskRunner({
        queue: store.queue,
        handlers: { sign: handler, 'register-file': handler, 'register-url': handler },
        lanes: [
          { kinds: ['sign'], concurrency: 1 },
          { kinds: ['register-file', 'register-url'], concurrency: 3 },
        ],
        leaseMs: 5000,
        log: silentLogger,
        onWake: (wake) => store.notifications.onCreated(wake),
        pollIntervalMs: 200,
      });
      runners.push(r);
      r.start();
      const signatures = [await addTask(store, { kind: 'sign' }), await addTask(store, { kind: 'sign' })];
      const registrations = await Promise.all(
        Array.from({ length: 12 }, (_, i) => addTask(store, { kind: i % 2 ? 'register-url' : 'register-file' })),
      );
      // Every registration ends while the first signature still holds the only signature slot.
      await until(async () => (await Promise.all(registrations.map(status))).every((t) => t.status === 'SUCCEEDED'));
      assert.equal(started.sign!.length, 1, 'the registration lane never takes a signature');
      assert.equal((await status(signatures[1]!)).status, 'PENDING');
      assert.equal(started['register-file']!.length + started['register-url']!.length, 12);
      releaseSignatures();
      await until(async () => (await Promise.all(signatures.map(status))).every((t) => t.status === 'SUCCEEDED'));
      await r.stop();
    });

    test('a handler kind outside every lane is refused at construction', () => {
      assert.throws(
        () =>
          new TaskRunner({
            queue: store.queue,
            handlers: { sign: async () => null, 'register-url': async () => null },
            lanes: [{ kinds: ['sign'], concurrency: 1 }],
            leaseMs: 5000,
            log: silentLogger,
          }),
        /register-url/,
      );
    });

    test('a transient failure is retried with backoff; a permanent one ends FAILED with its code', async () => {
      let calls = 0;
      const r = runner(async ({ task }) => {
        if (task.request_fingerprint === 'f' && task.attempts < 3) {
          calls++;
          throw new SignetError('internal_error', 'the TSA is down', { transient: true });
        }
        return 'done';
      });
      const id = await addTask(store);
      await until(async () => (await status(id)).status === 'SUCCEEDED', 20_000);
      await r.stop();
      const task = await status(id);
      assert.equal(task.attempts, 3);
      assert.equal(calls, 2);
      assert.equal(await store.tasks.countEvents(id, 'retry-scheduled'), 2);
      assert.equal(task.error_code, null);

      const failing = runner(async () => {
        throw new SignetError('invalid_pdf', 'not a PDF');
      });
      const bad = await addTask(store);
      await until(async () => (await status(bad)).status === 'FAILED');
      await failing.stop();
      const failed = await status(bad);
      assert.equal(failed.error_code, 'invalid_pdf');
      assert.equal(failed.attempts, 1, 'a permanent failure is not retried');
    });

    test('transient failures stop at max_attempts', async () => {
      const r = runner(async () => {
        throw new SignetError('internal_error', 'still down', { transient: true });
      });
      const id = await addTask(store, { maxAttempts: 2 });
      await until(async () => (await status(id)).status === 'FAILED', 20_000);
      await r.stop();
      assert.equal((await status(id)).attempts, 2);
    });

    test('an expired lease is reclaimed by another worker; the old holder can no longer finish it', async () => {
      const id = await addTask(store);
      const stale = await store.queue.claimNextTask('crashed-worker', 100);
      assert.equal(stale?.id, id);
      assert.equal(await store.queue.claimNextTask('other', 5000), undefined, 'leased tasks are not claimable');
      await new Promise((resolve) => setTimeout(resolve, 150));
      const r = runner(async () => 'recovered');
      await until(async () => (await status(id)).status === 'SUCCEEDED');
      await r.stop();
      assert.equal(await store.queue.completeTask(id, 'crashed-worker', 'late'), false);
      assert.equal(JSON.parse((await status(id)).result_json!), 'recovered');
      assert.equal((await status(id)).attempts, 2);
    });

    test('an expired lease is taken back by its own lane, however often idle slots of other lanes claim', async () => {
      const id = await addTask(store, { kind: 'sign' });
      assert.equal((await store.queue.claimNextTask('crashed-worker', 200, { kinds: ['sign'] }))?.id, id);
      await new Promise((resolve) => setTimeout(resolve, 250));
      // Idle registration slots claim (and find nothing) between every look of the signature lane,
      // as 32 idle slots polling do: the signature lane must still look for its expired leases.
      let reclaimed: string | undefined;
      for (let round = 0; round < 20 && !reclaimed; round++) {
        assert.equal(await store.queue.claimNextTask('registrations', 200, { kinds: ['register-file'] }), undefined);
        reclaimed = (await store.queue.claimNextTask('signatures', 200, { kinds: ['sign'] }))?.id;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(reclaimed, id, 'the signature lane never took back the expired lease');
      assert.equal((await status(id)).lease_owner, 'signatures');
      assert.equal(await store.queue.completeTask(id, 'signatures', 'recovered'), true);
    });

    test('at start, leases of processes of this machine that are gone are taken back at once; live and foreign ones run out', async () => {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
      const ours = newLeaseOwner('tasks');
      const deadOwner = ours.replace(`:${process.pid}:`, `:${gone}:`);
      const otherMachine = ours.replace(/^[^:]+/, 'another-host');
      const ids = await Promise.all([addTask(store), addTask(store), addTask(store)]);
      const owners = [deadOwner, ours, otherMachine];
      for (const owner of owners) assert.ok(await store.queue.claimNextTask(owner, 60_000));
      const byOwner = new Map<string, string>();
      for (const id of ids) byOwner.set((await status(id)).lease_owner!, id);
      assert.equal(byOwner.size, 3);
      assert.equal(leaseOwnerIsGone(deadOwner), true);
      assert.equal(leaseOwnerIsGone(ours), false);
      assert.equal(leaseOwnerIsGone(otherMachine), false);

      const recovered = await recoverLeasesOfGoneProcesses(store, { everyOwnerIsGone: false, log: silentLogger });
      assert.equal(recovered.tasks, 1);
      // The dead process's task is claimable now, 60 s before its lease would have ended; the others are not.
      const next = await store.queue.claimNextTask('successor', 60_000);
      assert.equal(next?.id, byOwner.get(deadOwner));
      assert.equal(await store.tasks.countEvents(next!.id, 'lease-recovered'), 1);
      assert.equal(await store.queue.claimNextTask('successor', 60_000), undefined);
      for (const owner of [ours, otherMachine]) assert.equal((await status(byOwner.get(owner)!)).lease_owner, owner);
      // The embedded store's rule (the work-folder lock proves every holder gone): all of them.
      assert.equal((await recoverLeasesOfGoneProcesses(store, { everyOwnerIsGone: true, log: silentLogger })).tasks, 3);
      const retaken = [];
      for (let task = await store.queue.claimNextTask('heir', 60_000); task; task = await store.queue.claimNextTask('heir', 60_000)) retaken.push(task.id);
      assert.deepEqual(retaken.sort(), [...ids].sort());
      for (const owner of [deadOwner, ours, otherMachine, 'successor']) {
        const id = owner === 'successor' ? next!.id : byOwner.get(owner)!;
        assert.equal(await store.queue.completeTask(id, owner, 'late'), false, 'a holder whose task was taken back cannot finish it');
      }
      for (const id of ids) assert.equal(await store.queue.completeTask(id, 'heir', 'done'), true);
    });

    test('a lease that expired while its task still runs here (heartbeats failing) is not taken a second time here; once it ended unrecorded, it is', async () => {
      const id = await addTask(store);
      assert.equal((await store.queue.claimNextTask('this-process', 100))?.id, id);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(await store.queue.claimNextTask('this-process', 100, { running: [id] }), undefined);
      assert.equal(await store.queue.failAbandonedTasks(undefined, { running: [id] }), 0);
      // Its heartbeat, once the database answers again, keeps it.
      assert.equal(await store.queue.renewLease(id, 'this-process', 100), true);
      await new Promise((resolve) => setTimeout(resolve, 150));
      // Its run ended without recording it (the database still away): the same process takes it back.
      // (A short lease: the lane looks for expired leases again after a quarter of it.)
      const again = await store.queue.claimNextTask('this-process', 100, { running: [] });
      assert.equal(again?.id, id);
      assert.equal(await store.queue.completeTask(id, 'this-process', 'done'), true);
    });

    test('a task whose last attempt crashed its worker is failed, not reclaimed forever', async () => {
      const id = await addTask(store, { maxAttempts: 1 });
      assert.equal((await store.queue.claimNextTask('crashing-worker', 100))?.id, id);
      await new Promise((resolve) => setTimeout(resolve, 150));
      let ran = false;
      const r = runner(async () => {
        ran = true;
        return 'should not run';
      });
      await until(async () => (await status(id)).status === 'FAILED');
      await r.stop();
      assert.equal(ran, false);
      assert.equal((await status(id)).error_code, 'internal_error');
    });

    test('heartbeats keep a long task leased beyond its lease time', async () => {
      let runs = 0;
      const r1 = runner(async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 1200));
        return 'long';
      }, { leaseMs: 400, concurrency: 1 });
      const id = await addTask(store);
      await until(async () => (await status(id)).status === 'RUNNING');
      // A second worker, eager for work, while the first holds the task three lease times long.
      const r2 = runner(async () => {
        runs++;
        return 'stolen';
      }, { leaseMs: 400, concurrency: 1 });
      await until(async () => (await status(id)).status === 'SUCCEEDED');
      await Promise.all([r1.stop(), r2.stop()]);
      assert.equal(runs, 1);
      assert.equal(await store.tasks.countEvents(id, 'claimed'), 1);
      assert.equal(JSON.parse((await status(id)).result_json!), 'long');
    });

    test('shutdown drains running tasks; a forced stop releases them to the queue without counting the attempt', async () => {
      const drained = runner(async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return 'drained';
      }, { concurrency: 1 });
      const a = await addTask(store);
      await until(async () => (await status(a)).status === 'RUNNING');
      await drained.stop({ graceMs: 5000 });
      assert.equal((await status(a)).status, 'SUCCEEDED');

      const forced = runner(async ({ signal }) => {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 30_000);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      }, { concurrency: 1 });
      const b = await addTask(store);
      await until(async () => (await status(b)).status === 'RUNNING');
      await forced.stop({ force: true });
      const released = await status(b);
      assert.equal(released.status, 'PENDING');
      assert.equal(released.attempts, 0);
      assert.equal(released.lease_owner, null);
      assert.equal(await store.tasks.countEvents(b, 'released'), 1);
      // Picked up again by the next runner.
      const next = runner(async () => 'again');
      await until(async () => (await status(b)).status === 'SUCCEEDED');
      await next.stop();
    });

    test('a task due later is not run early', async () => {
      const r = runner(async () => 'later');
      const id = await addTask(store, { runAt: Date.now() + 600 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await status(id)).status, 'PENDING');
      await until(async () => (await status(id)).status === 'SUCCEEDED');
      await r.stop();
    });
  });
}
