import type { Insertable, Kysely, Selectable } from 'kysely';
import type { SqlDialect } from './database.js';
import { partialIndexValue } from './partial-index-value.js';
import type { Database, DeliveryAttemptTable, DeliveryTable } from './schema.js';
import { currentTimeMs } from '../util/clock.js';

export type DeliveryRow = Selectable<DeliveryTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptTable>;

/** How one attempt ended, as the runner decided from the receiver's answer and the schedule. */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; at: number }
  | { kind: 'failed' };

/**
 * Callback deliveries: a small queue like the tasks table (claim with a lease, one statement per
 * transition, every release checks the lease), plus an append-only log of attempts.
 */
export class DeliveryRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Called inside the transaction that finishes the task. */
  async insert(trx: Kysely<Database>, delivery: Insertable<DeliveryTable>): Promise<void> {
    await trx.insertInto('deliveries').values(delivery).execute();
  }

  /**
   * Claims up to `limit` due deliveries, leaving out receivers already at their concurrency limit;
   * expired leases (a crashed sender) are due again.
   */
  async claimDue(owner: string, leaseMs: number, limit: number, skipHosts: readonly string[] = [], now = currentTimeMs()): Promise<DeliveryRow[]> {
    const due = this.db
      .selectFrom('deliveries')
      .select('id')
      .where('status', '=', partialIndexValue('PENDING'))
      .$if(skipHosts.length > 0, (q) => q.where('host', 'not in', skipHosts))
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked());
    return this.db
      .updateTable('deliveries')
      .set({ lease_owner: owner, lease_until: now + leaseMs })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /** Who holds leases on pending deliveries now (start-up recovery asks which of them are gone). */
  async leaseOwners(now = currentTimeMs()): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select('lease_owner')
      .distinct()
      .where('status', '=', partialIndexValue('PENDING'))
      .where('lease_until', '>=', now)
      .execute();
    return rows.flatMap((row) => (row.lease_owner ? [row.lease_owner] : []));
  }

  /** Ends the leases of senders known to be gone: their deliveries are due again now. */
  async expireLeasesOf(owners: readonly string[], now = currentTimeMs()): Promise<number> {
    if (owners.length === 0) return 0;
    const result = await this.db
      .updateTable('deliveries')
      .set({ lease_until: now - 1 })
      .where('status', '=', partialIndexValue('PENDING'))
      .where('lease_owner', 'in', owners)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Logs attempts and applies their outcomes, each only if the caller still holds its lease; one
   * transaction for the whole batch. Batching is the throughput lever on SQLite, where every commit
   * is an fsync (bench/deliveries.ts: one transaction per attempt ≈ 220/s; batched, see the bench).
   */
  async recordAttempts(
    owner: string,
    batch: ReadonlyArray<{
      delivery: DeliveryRow;
      attempt: { attemptedAt: number; statusCode?: number; error?: string; durationMs: number };
      outcome: AttemptOutcome;
    }>,
  ): Promise<void> {
    if (batch.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const logged = [];
      for (const { delivery, attempt, outcome } of batch) {
        const updated = await trx
          .updateTable('deliveries')
          .set((eb) => ({
            attempts: eb('attempts', '+', 1),
            status: outcome.kind === 'delivered' ? 'DELIVERED' : outcome.kind === 'failed' ? 'FAILED' : 'PENDING',
            next_attempt_at: outcome.kind === 'retry' ? outcome.at : null,
            finished_at: outcome.kind === 'retry' ? null : attempt.attemptedAt,
            lease_owner: null,
            lease_until: null,
          }))
          .where('id', '=', delivery.id)
          .where('lease_owner', '=', owner)
          // Not when "deliver again now" came after this attempt had started (it was due at a later time).
          .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', attempt.attemptedAt)]))
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) {
          // Asked to deliver again while this attempt was under way: the attempt is logged, the
          // delivery stays due as asked, so the new request is not absorbed by an older attempt.
          const redelivered = await trx
            .updateTable('deliveries')
            .set((eb) => ({ attempts: eb('attempts', '+', 1), lease_owner: null, lease_until: null }))
            .where('id', '=', delivery.id)
            .where('lease_owner', '=', owner)
            .executeTakeFirst();
          if (Number(redelivered.numUpdatedRows) !== 1) continue;
        }
        logged.push({
          delivery_id: delivery.id,
          attempted_at: attempt.attemptedAt,
          url: delivery.url,
          status_code: attempt.statusCode ?? null,
          error: attempt.error ?? null,
          duration_ms: attempt.durationMs,
        });
      }
      if (logged.length > 0) await trx.insertInto('delivery_attempts').values(logged).execute();
    });
  }

  /** Gives back a claimed delivery untouched (shutdown). */
  async release(id: string, owner: string): Promise<void> {
    await this.db.updateTable('deliveries').set({ lease_owner: null, lease_until: null }).where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  async listForTask(clientId: string, taskId: string): Promise<Array<DeliveryRow & { attemptLog: DeliveryAttemptRow[] }>> {
    const deliveries = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('task_id', '=', taskId)
      .orderBy('created_at')
      .execute();
    if (deliveries.length === 0) return [];
    const attempts = await this.db
      .selectFrom('delivery_attempts')
      .selectAll()
      .where('delivery_id', 'in', deliveries.map((d) => d.id))
      .orderBy('id')
      .execute();
    return deliveries.map((d) => ({ ...d, attemptLog: attempts.filter((a) => a.delivery_id === d.id) }));
  }

  /** "Deliver again now": every delivery of the task becomes due at once, finished ones included. */
  async redeliverNow(clientId: string, taskId: string, now = currentTimeMs()): Promise<number> {
    const result = await this.db
      .updateTable('deliveries')
      .set({ status: 'PENDING', next_attempt_at: now, finished_at: null })
      .where('client_id', '=', clientId)
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('status', '=', partialIndexValue('PENDING'))
      .executeTakeFirst();
    return row?.next == null ? undefined : Number(row.next);
  }
}
