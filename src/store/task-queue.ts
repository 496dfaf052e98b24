import { sql, type Insertable, type Kysely, type Selectable, type SelectQueryBuilder, type Transaction } from 'kysely';
import { compiledQuery } from './compiled-query.js';
import type { SqlDialect } from './database.js';
import { partialIndexValue } from './partial-index-value.js';
import { TASK_KINDS, type Database, type TaskEventTable, type TaskKind, type TaskTable } from './schema.js';
import { commitWithoutWaitingForFlush } from './sqlite-group-commit.js';
import type { TaskNotifications } from './task-notifications.js';
import { dueTaskClaims, taskCompletions } from './postgres-group-writes.js';
import { currentTimeMs } from '../util/clock.js';

export type TaskRow = Selectable<TaskTable>;

/**
 * The tasks table is the queue. Each transition below is one statement, and every transition out
 * of RUNNING names the lease owner, so a worker whose lease expired (and whose task someone else
 * reclaimed) can no longer complete, fail or release it.
 *
 * Claim strategy, measured alternatives (graphile-worker's comment habit):
 * - SELECT then UPDATE in two statements races between instances; rejected.
 * - UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING: one round trip,
 *   no blocking between instances on PostgreSQL; on SQLite the single writer serialises claims,
 *   so the same statement without the locking clause is already atomic. Chosen.
 * Expired leases are claimable directly (no separate sweeper needed), which is how a crashed
 * instance's work comes back.
 */
export class TaskQueue {
  /**
   * Runs inside the transaction that makes a task SUCCEEDED or FAILED — where the callback
   * delivery is recorded, so that no finished task can miss its callback even if the process dies
   * right after the commit.
   */
  onFinalState?: (trx: Transaction<Database>, task: TaskRow) => Promise<void>;
  /**
   * Per set of kinds (a lane), the monotonic time of its last claim that looked for expired leases
   * and found none. Per lane, not one for the queue: 32 idle registration slots that found nothing
   * of *their* kinds every few milliseconds kept resetting a shared time, and the signature lane
   * never looked again — a crashed instance's signatures stayed RUNNING for good (issue 11).
   */
  readonly #expiredCheckedAt = new Map<string, number>();
  /** A lane's claim, once per task: compiled once (compiled-query.ts). */
  readonly #claimDueOfKind = compiledQuery((db: Kysely<Database>, p: ClaimValues & { kind: TaskKind }) => claimUpdate(db, p, dueOfKind(db, p, this.dialect)));

  /** Final states are announced here (`notifications`), so `Prefer: wait` and callback senders hear of them. */
  readonly #completions: ReturnType<typeof taskCompletions>;
  readonly #dueClaims: ReturnType<typeof dueTaskClaims<TaskRow>>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
    private readonly notifications: TaskNotifications,
    /** Claims and renewals: a crash may lose them, they are only ever repeated (database.ts `relaxed`). */
    private readonly relaxed: Kysely<Database> = db,
  ) {
    this.#completions = taskCompletions(db);
    this.#dueClaims = dueTaskClaims<TaskRow>(relaxed);
  }

  /**
   * Claims the oldest runnable task of the given kinds (a worker lane; every kind by default). Each
   * kind is one lookup in `tasks_runnable_by_kind`, tried in turn from `firstKind` so no kind starves.
   */
  async claimNextTask(
    owner: string,
    leaseMs: number,
    {
      kinds = TASK_KINDS,
      firstKind = 0,
      now = currentTimeMs(),
      running = [],
    }: {
      kinds?: readonly TaskKind[];
      firstKind?: number;
      now?: number;
      /** Tasks the caller's process is running: never taken as expired (oldestExpiredOfKinds); read only when looking. */
      running?: Iterable<string>;
    } = {},
  ): Promise<TaskRow | undefined> {
    // Single-index lookups, each O(1) by its partial index. One query with every condition OR-ed had
    // to sort every runnable task to find the oldest: with 3,000 queued registrations a claim cost
    // 0.44 ms (bench/registrations.ts). Expired leases first, so recovery is never starved.
    // They come back when a worker died: looking for them at most every quarter lease (and second)
    // finds them in time and spares most claims a lookup (0.09 ms each, bench/registrations.ts).
    const lane = kinds.join(',');
    const lookForExpired = performance.now() - (this.#expiredCheckedAt.get(lane) ?? -Infinity) >= Math.min(1000, leaseMs / 4);
    const values = { owner, leaseUntil: now + leaseMs, now };
    if (this.dialect === 'postgres') return this.#claimOnPostgres(lane, kinds, firstKind, lookForExpired, values, running);
    // A claim lost to a power failure leaves the task PENDING, to run again: it need not be flushed
    // before the work starts (SQLite: no wait for the group commit).
    return this.db.transaction().execute(async (trx) => {
      await commitWithoutWaitingForFlush(trx);
      let task: TaskRow | undefined;
      if (lookForExpired) {
        const expired = oldestExpiredOfKinds(trx, kinds, [...running], now, this.dialect);
        task = await claimUpdate(trx, values, expired).executeTakeFirst();
        if (!task) this.#expiredCheckedAt.set(lane, performance.now());
      }
      for (let i = 0; i < kinds.length && !task; i++) {
        task = (await this.#claimDueOfKind(trx, { ...values, kind: kinds[(firstKind + i) % kinds.length]! })).rows[0];
      }
      if (task) await recordEvent(trx, task.id, 'claimed', task.attempts, owner, now);
      return task;
    });
  }

  /**
   * PostgreSQL: each lookup is one statement that claims and records the event (a data-modifying
   * CTE), committed on its own; due tasks are claimed together with the other slots asking at the
   * same moment (postgres-group-writes.ts). The transaction it replaced cost five round trips (BEGIN,
   * SET LOCAL, UPDATE, INSERT, COMMIT), and each round trip costs the event loop a socket write that
   * wakes the server: writes were 30 % of the instance's CPU profile in bench/registrations.ts.
   */
  async #claimOnPostgres(
    lane: string,
    kinds: readonly TaskKind[],
    firstKind: number,
    lookForExpired: boolean,
    values: ClaimValues,
    running: Iterable<string>,
  ): Promise<TaskRow | undefined> {
    let task: TaskRow | undefined;
    if (lookForExpired) {
      const expired = oldestExpiredOfKinds(this.relaxed, kinds, [...running], values.now, this.dialect);
      task = await withClaimedEvent(this.relaxed, values, claimUpdate(this.relaxed, values, expired)).executeTakeFirst();
      if (!task) this.#expiredCheckedAt.set(lane, performance.now());
    }
    for (let i = 0; i < kinds.length && !task; i++) {
      task = await this.#dueClaims.call({ ...values, kind: kinds[(firstKind + i) % kinds.length]! });
    }
    return task;
  }

  /** Heartbeat: extends the lease if the caller still holds it; false means "stop, it is gone". */
  async renewLease(id: string, owner: string, leaseMs: number, now = currentTimeMs()): Promise<boolean> {
    // A renewal lost to a power failure only shortens a lease that the restart ends anyway
    // (PostgreSQL: the asynchronous-commit pool; SQLite: no wait for the group commit).
    const renew = (db: Kysely<Database>) =>
      db
        .updateTable('tasks')
        .set({ lease_until: now + leaseMs })
        .where('id', '=', id)
        .where('status', '=', 'RUNNING')
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
    const result =
      this.dialect === 'postgres'
        ? await renew(this.relaxed)
        : await this.db.transaction().execute(async (trx) => {
            await commitWithoutWaitingForFlush(trx);
            return renew(trx);
          });
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * SUCCEEDED with its result. `callbackUrl` is the claimed row's (it never changes): without one,
   * nothing else belongs in the transaction, and on PostgreSQL the update, its event and the
   * "finished" notification are one statement, shared with the other completions of the moment
   * (postgres-group-writes.ts), instead of five round trips each.
   */
  async completeTask(id: string, owner: string, result: unknown, now = currentTimeMs(), { callbackUrl }: { callbackUrl?: string | null } = {}): Promise<boolean> {
    const values = { id, owner, resultJson: JSON.stringify(result ?? null), now };
    if (this.dialect === 'postgres' && callbackUrl === null) return this.#completions.call(values);
    return this.finish(id, owner, 'succeeded', now, async (trx) => (await completeUpdate(trx, values)).rows[0]);
  }

  /** Final failure: FAILED with its error. */
  async failTask(id: string, owner: string, code: string, message: string, now = currentTimeMs()): Promise<boolean> {
    return this.finish(id, owner, 'failed', now, (trx) =>
      trx
        .updateTable('tasks')
        .set({
          status: 'FAILED',
          error_code: code,
          error_message: message,
          finished_at: now,
          lease_owner: null,
          lease_until: null,
        })
        .where('id', '=', id)
        .where('status', '=', 'RUNNING')
        .where('lease_owner', '=', owner)
        .returningAll()
        .executeTakeFirst(),
    );
  }

  /** Transient failure: back to PENDING, due again at `runAt`; the error stays visible meanwhile. */
  async retryTaskLater(
    id: string,
    owner: string,
    runAt: number,
    code: string,
    message: string,
    now = currentTimeMs(),
  ): Promise<boolean> {
    return this.finish(id, owner, 'retry-scheduled', now, (trx) =>
      trx
        .updateTable('tasks')
        .set({ status: 'PENDING', run_at: runAt, lease_owner: null, lease_until: null, error_code: code, error_message: message })
        .where('id', '=', id)
        .where('status', '=', 'RUNNING')
        .where('lease_owner', '=', owner)
        .returningAll()
        .executeTakeFirst(),
    );
  }

  /** Shutdown: hand unfinished work back without counting the interrupted attempt. */
  async releaseTask(id: string, owner: string, now = currentTimeMs()): Promise<boolean> {
    return this.finish(id, owner, 'released', now, (trx) =>
      trx
        .updateTable('tasks')
        .set((eb) => ({
          status: 'PENDING',
          run_at: now,
          lease_owner: null,
          lease_until: null,
          attempts: eb('attempts', '-', 1),
        }))
        .where('id', '=', id)
        .where('status', '=', 'RUNNING')
        .where('lease_owner', '=', owner)
        .returningAll()
        .executeTakeFirst(),
    );
  }

  /**
   * Tasks whose every attempt ended with the worker gone (a crash, an out-of-memory kill) would be
   * reclaimed forever and take each instance down in turn; once out of attempts they fail instead.
   */
  async failAbandonedTasks(now = currentTimeMs(), { running = [] }: { running?: Iterable<string> } = {}): Promise<number> {
    const runningIds = [...running];
    const abandoned = await this.db
      .selectFrom('tasks')
      .select('id')
      .where('status', '=', partialIndexValue('RUNNING'))
      .where('lease_until', '<', now)
      // Tasks the caller's process is running are not abandoned, whatever their leases say.
      .$if(runningIds.length > 0, (q) => q.where('id', 'not in', runningIds))
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
      .limit(20)
      .execute();
    let failed = 0;
    for (const { id } of abandoned) {
      const done = await this.finish(id, 'abandoned', 'failed', now, (trx) =>
        trx
          .updateTable('tasks')
          .set({
            status: 'FAILED',
            error_code: 'internal_error',
            error_message: 'Every attempt ended with its worker gone (crashed or stopped); the task was given up',
            finished_at: now,
            lease_owner: null,
            lease_until: null,
          })
          .where('id', '=', id)
          .where('status', '=', 'RUNNING')
          .where('lease_until', '<', now)
          .returningAll()
          .executeTakeFirst(),
      );
      if (done) failed++;
    }
    return failed;
  }

  /** Who holds leases on RUNNING tasks now: start-up recovery asks which of them are gone. */
  async leaseOwners(now = currentTimeMs()): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .select('lease_owner')
      .distinct()
      .where('status', '=', partialIndexValue('RUNNING'))
      .where('lease_until', '>=', now)
      .execute();
    return rows.flatMap((row) => (row.lease_owner ? [row.lease_owner] : []));
  }

  /**
   * Ends now the leases of owners known to be gone (a crashed process of this machine), so their
   * tasks are claimable at once instead of when the leases run out. The interrupted attempt still
   * counts: it may be what killed the process.
   */
  async expireLeasesOf(owners: readonly string[], now = currentTimeMs()): Promise<number> {
    if (owners.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      const expired = await trx
        .updateTable('tasks')
        .set({ lease_until: now - 1 })
        .where('status', '=', partialIndexValue('RUNNING'))
        .where('lease_owner', 'in', owners)
        .returning(['id', 'attempts', 'lease_owner'])
        .execute();
      for (const task of expired) await recordEvent(trx, task.id, 'lease-recovered', task.attempts, task.lease_owner, now);
      // Every lane's next claim looks for them, however recently it last looked.
      if (expired.length > 0) this.#expiredCheckedAt.clear();
      return expired.length;
    });
  }

  /** The earliest time a task becomes runnable, so idle workers sleep exactly until then. */
  async nextRunAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.min('run_at').as('next'))
      .where('status', '=', partialIndexValue('PENDING'))
      .executeTakeFirst();
    return row?.next == null ? undefined : Number(row.next);
  }

  private async finish(
    id: string,
    owner: string,
    event: string,
    now: number,
    update: (trx: Transaction<Database>) => Promise<TaskRow | undefined>,
  ): Promise<boolean> {
    const row = await this.db.transaction().execute(async (trx) => {
      const row = await update(trx);
      if (!row) return undefined;
      await recordEvent(trx, id, event, row.attempts, owner, now);
      if (isFinal(row)) {
        await this.onFinalState?.(trx, row);
        await this.notifications.finishedInTransaction(trx, row.id, row.callback_url != null);
      }
      return row;
    });
    if (row && isFinal(row)) this.notifications.finishedAfterCommit(row.id, row.callback_url != null);
    return row !== undefined;
  }
}

interface ClaimValues {
  owner: string;
  leaseUntil: number;
  now: number;
}

/**
 * An expired lease with attempts left, of the given kinds; one without is failed by failAbandonedTasks.
 * Not one of `running`, the tasks the claimer's process is still running: a lease that expired while
 * the database was out of reach (the heartbeats failed) must not start its task a second time there.
 */
function oldestExpiredOfKinds(db: Kysely<Database>, kinds: readonly TaskKind[], running: readonly string[], now: number, dialect: SqlDialect) {
  return db
    .selectFrom('tasks')
    .select('id')
    .where('status', '=', partialIndexValue('RUNNING'))
    .where('lease_until', '<', now)
    .$if(running.length > 0, (q) => q.where('id', 'not in', running))
    .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
    .where('kind', 'in', kinds)
    .orderBy('lease_until')
    .limit(1)
    .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked());
}

/** The oldest PENDING task of one kind that is due (PostgreSQL: skipping rows other claims hold). */
function dueOfKind(db: Kysely<Database>, p: ClaimValues & { kind: TaskKind }, dialect: SqlDialect) {
  return db
    .selectFrom('tasks')
    .select('id')
    .where('status', '=', partialIndexValue('PENDING'))
    .where('kind', '=', p.kind)
    .where('run_at', '<=', p.now)
    .orderBy('run_at')
    .limit(1)
    .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked());
}

/** PostgreSQL: a claim and its `claimed` event in one statement. */
function withClaimedEvent(db: Kysely<Database>, p: ClaimValues, claim: ReturnType<typeof claimUpdate>) {
  return db
    .with('claimed', () => claim)
    .with('claimed_event', (qc) =>
      qc
        .insertInto('task_events')
        .columns(['task_id', 'at', 'event', 'attempt', 'detail'])
        .expression((eb) =>
          eb
            .selectFrom('claimed')
            .select((s) => ['claimed.id', sql<number>`${s.val(p.now)}::bigint`.as('at'), sql.lit('claimed').as('event'), 'claimed.attempts', sql<string>`${s.val(p.owner)}::text`.as('detail')]),
        ),
    )
    .selectFrom('claimed')
    .selectAll();
}

/** RUNNING under `owner`'s lease: the task `next` selects, if any. */
function claimUpdate(db: Kysely<Database>, p: ClaimValues, next: SelectQueryBuilder<Database, 'tasks', { id: string }>) {
  return db
    .updateTable('tasks')
    .set((eb) => ({
      status: 'RUNNING',
      lease_owner: p.owner,
      lease_until: p.leaseUntil,
      attempts: eb('attempts', '+', 1),
      started_at: eb.fn.coalesce('started_at', eb.val(p.now)),
    }))
    .where('id', '=', next)
    .returningAll();
}

function completeUpdateQuery(db: Kysely<Database>, p: { id: string; owner: string; resultJson: string; now: number }) {
  return db
    .updateTable('tasks')
    .set({
      status: 'SUCCEEDED',
      result_json: p.resultJson,
      finished_at: p.now,
      lease_owner: null,
      lease_until: null,
      error_code: null,
      error_message: null,
    })
    .where('id', '=', p.id)
    .where('status', '=', 'RUNNING')
    .where('lease_owner', '=', p.owner)
    .returningAll();
}

const completeUpdate = compiledQuery(completeUpdateQuery);

function isFinal(row: TaskRow): boolean {
  return row.status === 'SUCCEEDED' || row.status === 'FAILED';
}

const insertEvent = compiledQuery((db: Kysely<Database>, p: Insertable<TaskEventTable>) =>
  db.insertInto('task_events').values({ task_id: p.task_id, at: p.at, event: p.event, attempt: p.attempt, detail: p.detail }),
);

export async function recordEvent(
  trx: Kysely<Database>,
  taskId: string,
  event: string,
  attempt: number,
  detail: string | null,
  at = currentTimeMs(),
): Promise<void> {
  await insertEvent(trx, { task_id: taskId, at, event, attempt, detail });
}
