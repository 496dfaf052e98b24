import type { Insertable, Kysely } from 'kysely';
import type { SqlDialect } from './database.js';
import type { TaskNotifications } from './task-notifications.js';
import { newTaskInserts } from './postgres-group-writes.js';
import { TASK_KINDS, type DocumentTable, type Database, type TaskKind, type TaskStatus, type TaskTable } from './schema.js';
import { compiledQuery, everyColumn } from './compiled-query.js';
import { recordEvent, type TaskRow } from './task-queue.js';
import { currentTimeMs } from '../util/clock.js';
import { partialIndexValue } from './partial-index-value.js';

export type NewTask = Insertable<TaskTable>;

const taskColumns: Record<keyof NewTask, true> = {
  id: true,
  client_id: true,
  kind: true,
  status: true,
  external_reference: true,
  request_fingerprint: true,
  request_json: true,
  description: true,
  callback_url: true,
  host: true,
  attempts: true,
  max_attempts: true,
  run_at: true,
  lease_owner: true,
  lease_until: true,
  created_at: true,
  started_at: true,
  finished_at: true,
  error_code: true,
  error_message: true,
  result_json: true,
};
const insertTaskRow = compiledQuery((db: Kysely<Database>, task: NewTask) => db.insertInto('tasks').values(everyColumn(task, taskColumns)).returningAll());
export type NewDocument = Insertable<DocumentTable>;

export interface TaskFilter {
  status?: TaskStatus;
  kind?: TaskKind;
  externalReference?: string;
  /** Exclusive upper bound on id: tasks are listed newest first and ids are time-ordered. */
  before?: string;
  limit: number;
}

/** Task reads and writes outside the queue transitions; every query is scoped by client id. */
export class TaskRepository {
  readonly #newTasks: ReturnType<typeof newTaskInserts<TaskRow>>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
    private readonly notifications: TaskNotifications,
  ) {
    this.#newTasks = newTaskInserts<TaskRow>(db);
  }

  /**
   * Stores a new task and its documents in one transaction, and tells idle workers (of every instance
   * on PostgreSQL) that there is work. Returns `created: false` with the existing task when the
   * (client, kind, externalReference) is already taken.
   */
  async insertTask(task: NewTask, documents: NewDocument[]): Promise<{ created: boolean; task: TaskRow }> {
    try {
      // PostgreSQL, a task without documents (registrations): the row, its event and the NOTIFY are
      // one statement; the transaction took four round trips and the NOTIFY a fifth.
      if (this.dialect === 'postgres' && documents.length === 0) {
        // With the other submissions of the moment (postgres-group-writes.ts); a conflict comes back undefined.
        const grouped = await this.#newTasks.call(everyColumn(task, taskColumns));
        if (grouped) return { created: true, task: grouped };
        // Not inserted: ON CONFLICT skipped it, its (client, kind, externalReference) is taken.
        const existing = task.external_reference == null ? undefined : await this.findByReference(task.client_id, task.kind, task.external_reference);
        if (!existing) throw new Error(`task ${task.id} was not stored and no task holds its reference`);
        return { created: false, task: existing };
      }
      const inserted = await this.db.transaction().execute(async (trx) => {
        const row = (await insertTaskRow(trx, task)).rows[0]!;
        // SQLite caps bound parameters per statement; 100 rows × 17 columns stays well under it.
        for (let i = 0; i < documents.length; i += 100) {
          await trx.insertInto('documents').values(documents.slice(i, i + 100)).execute();
        }
        await recordEvent(trx, row.id, 'created', 0, null, row.created_at);
        await this.notifications.createdInTransaction(trx);
        return row;
      });
      this.notifications.createdAfterCommit();
      return { created: true, task: inserted };
    } catch (error) {
      if (task.external_reference == null || !isUniqueViolation(error)) throw error;
      const existing = await this.findByReference(task.client_id, task.kind, task.external_reference);
      if (!existing) throw error;
      return { created: false, task: existing };
    }
  }

  async findById(clientId: string, id: string): Promise<TaskRow | undefined> {
    return this.db
      .selectFrom('tasks')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Unscoped read, for the engine only (it runs tasks of every client). */
  async findByIdForEngine(id: string): Promise<TaskRow | undefined> {
    return this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByReference(clientId: string, kind: TaskKind, externalReference: string): Promise<TaskRow | undefined> {
    return this.db
      .selectFrom('tasks')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('kind', '=', kind)
      .where('external_reference', '=', externalReference)
      .executeTakeFirst();
  }

  async list(clientId: string, filter: TaskFilter): Promise<TaskRow[]> {
    return this.db
      .selectFrom('tasks')
      .selectAll()
      .where('client_id', '=', clientId)
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!))
      .$if(filter.externalReference !== undefined, (q) => q.where('external_reference', '=', filter.externalReference!))
      .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
  }

  /** PENDING → CANCELLED in one statement; undefined when the task was not PENDING. */
  async cancel(clientId: string, id: string, now = currentTimeMs()): Promise<TaskRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('tasks')
        .set({ status: 'CANCELLED', finished_at: now })
        .where('client_id', '=', clientId)
        .where('id', '=', id)
        .where('status', '=', 'PENDING')
        .returningAll()
        .executeTakeFirst();
      if (row) await recordEvent(trx, id, 'cancelled', row.attempts, null, now);
      return row;
    });
  }

  /**
   * FAILED → PENDING, due now, as if new: attempts from zero, no start, end or error (API.md §2,
   * operator retry). A signature operation's FAILED documents wait again; its SIGNED ones stay as
   * they are, so only what failed is redone. Undefined when the task was not FAILED.
   */
  async retry(clientId: string, id: string, now = currentTimeMs()): Promise<TaskRow | undefined> {
    const retried = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('tasks')
        .set({
          status: 'PENDING',
          attempts: 0,
          run_at: now,
          started_at: null,
          finished_at: null,
          error_code: null,
          error_message: null,
          result_json: null,
          lease_owner: null,
          lease_until: null,
        })
        .where('client_id', '=', clientId)
        .where('id', '=', id)
        .where('status', '=', 'FAILED')
        // Its documents' bytes are gone (--retention): nothing could be signed again.
        .where('purged_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      // The callbacks of the failed end that are still being retried would arrive after the new end's:
      // they are stale now, and stop.
      await trx.updateTable('deliveries').set({ status: 'FAILED', finished_at: now, lease_owner: null, lease_until: null, next_attempt_at: null }).where('task_id', '=', id).where('status', '=', 'PENDING').execute();
      const documents = await trx
        .updateTable('documents')
        .set({ status: 'RECEIVED', error_code: null, error_message: null })
        .where('task_id', '=', id)
        .where('status', '=', 'FAILED')
        .executeTakeFirst();
      await recordEvent(trx, id, 'retried', 0, `documents waiting again: ${Number(documents.numUpdatedRows)}`, now);
      await this.notifications.createdInTransaction(trx);
      return row;
    });
    if (retried) this.notifications.createdAfterCommit();
    return retried;
  }

  /** FAILED tasks per kind, every client: the dead queue an operator works through (a gauge). */
  async countFailedByKind(): Promise<Array<{ kind: TaskKind; count: number }>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['kind', (eb) => eb.fn.countAll().as('n')])
      .where('status', '=', partialIndexValue('FAILED'))
      .groupBy('kind')
      .execute();
    // Every kind, zero included, so a dashboard's series exist before the first failure.
    return TASK_KINDS.map((kind) => ({ kind, count: Number(rows.find((row) => row.kind === kind)?.n ?? 0) }));
  }

  /** Signature operations that ended before `finishedBefore` and still hold their documents' bytes, oldest end first. */
  async purgeableSignatureOperations(finishedBefore: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .select('id')
      // Literals, so both databases pick the partial index tasks_purgeable (partial-index-value.ts).
      .where('kind', '=', partialIndexValue('sign'))
      .where('purged_at', 'is', null)
      .where('finished_at', '<', finishedBefore)
      .orderBy('finished_at')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Marks an ended operation and its documents purged; false when it is no longer ended (retried) or
   * already purged. The caller deletes the bytes afterwards: a crash between leaves bytes that the
   * orphan sweep removes, never a record pointing at nothing.
   */
  async markPurged(taskId: string, now = currentTimeMs()): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Only while it is still ended and not purged: an operator may have retried it since it was listed.
      const task = await trx
        .updateTable('tasks')
        .set({ purged_at: now })
        .where('id', '=', taskId)
        .where('status', 'in', ['SUCCEEDED', 'FAILED', 'CANCELLED'])
        .where('purged_at', 'is', null)
        .returning('attempts')
        .executeTakeFirst();
      if (!task) return false;
      await trx.updateTable('documents').set({ purged_at: now }).where('task_id', '=', taskId).where('purged_at', 'is', null).execute();
      await recordEvent(trx, taskId, 'purged', task.attempts, null, now);
      return true;
    });
  }

  /**
   * The staged content that file registrations not yet registered still need: those waiting or
   * running, and FAILED ones an operator may retry (POST /v1/tasks/{id}/retry).
   */
  async stagedRegistrationBlobIds(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select('request_json')
      .where('kind', '=', 'register-file')
      .where('status', 'in', ['PENDING', 'RUNNING', 'FAILED'])
      .execute();
    const ids = new Set<string>();
    for (const row of rows) {
      const { blobId } = JSON.parse(row.request_json) as { blobId?: unknown };
      if (typeof blobId === 'string') ids.add(blobId);
    }
    return ids;
  }

  async countEvents(taskId: string, event: string): Promise<number> {
    const row = await this.db
      .selectFrom('task_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('task_id', '=', taskId)
      .where('event', '=', event)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  // PostgreSQL unique_violation; better-sqlite3's constraint codes.
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
