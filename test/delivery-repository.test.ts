import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../src/store/store.js';
import { openTestStore, testStores } from './support/test-service.js';

for (const kind of testStores()) {
  describe(`callback deliveries in the store (${kind})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await openTestStore(kind));
    });
    after(() => close());

    /** The claimed delivery `id` (earlier tests' rows may be claimed along with it). */
    const only = <T extends { id: string }>(claimed: T[], id: string): T => {
      const found = claimed.find((delivery) => delivery.id === id);
      assert.ok(found, `${id} was claimed`);
      return found;
    };

    const insert = (id: string, now: number) =>
      store.deliveries.insert(store.database.db, {
        id,
        task_id: `task-${id}`,
        client_id: 'client-a',
        url: 'https://receiver.example/hook',
        host: 'receiver.example',
        event_type: 'task.succeeded',
        body: '{}',
        status: 'PENDING',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
      });

    test('"deliver again now" during an attempt is not absorbed by it: the delivery stays due, the attempt is logged', async () => {
      const t0 = 1_000_000;
      await insert('d-race', t0);
      const claimed = only(await store.deliveries.claimDue('sender', 30_000, 10, [], t0 + 10), 'd-race');
      // The attempt starts at t0+20; the client asks to deliver again at t0+50, while it is under way.
      assert.equal(await store.deliveries.redeliverNow('client-a', 'task-d-race', t0 + 50), 1);
      await store.deliveries.recordAttempts('sender', [
        { delivery: claimed, attempt: { attemptedAt: t0 + 20, statusCode: 200, durationMs: 40 }, outcome: { kind: 'delivered' } },
      ]);
      const [row] = await store.deliveries.listForTask('client-a', 'task-d-race');
      assert.equal(row.status, 'PENDING');
      assert.equal(Number(row.next_attempt_at), t0 + 50);
      assert.equal(row.attempts, 1);
      assert.equal(row.lease_owner, null);
      assert.equal(row.attemptLog.length, 1);
      // And it is claimed again.
      only(await store.deliveries.claimDue('sender', 30_000, 10, [], t0 + 60), 'd-race');
    });

    test('a redelivery asked before the attempt started is what the attempt delivers', async () => {
      const t0 = 2_000_000;
      await insert('d-before', t0);
      const claimed = only(await store.deliveries.claimDue('sender', 30_000, 10, [], t0 + 10), 'd-before');
      await store.deliveries.redeliverNow('client-a', 'task-d-before', t0 + 15);
      await store.deliveries.recordAttempts('sender', [
        { delivery: claimed, attempt: { attemptedAt: t0 + 20, statusCode: 204, durationMs: 5 }, outcome: { kind: 'delivered' } },
      ]);
      const [row] = await store.deliveries.listForTask('client-a', 'task-d-before');
      assert.equal(row.status, 'DELIVERED');
      assert.equal(row.next_attempt_at, null);
    });

    test('an attempt whose lease was taken over is not recorded', async () => {
      const t0 = 3_000_000;
      await insert('d-lease', t0);
      const claimed = only(await store.deliveries.claimDue('first', 100, 10, [], t0 + 10), 'd-lease');
      only(await store.deliveries.claimDue('second', 30_000, 10, [], t0 + 500), 'd-lease');
      await store.deliveries.recordAttempts('first', [
        { delivery: claimed, attempt: { attemptedAt: t0 + 20, statusCode: 200, durationMs: 5 }, outcome: { kind: 'delivered' } },
      ]);
      const [row] = await store.deliveries.listForTask('client-a', 'task-d-lease');
      assert.equal(row.status, 'PENDING');
      assert.equal(row.lease_owner, 'second');
      assert.equal(row.attemptLog.length, 0);
    });
  });
}
