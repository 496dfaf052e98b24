import { CompiledQuery, type Kysely } from 'kysely';
import { isSignetError } from '../errors/signet-error.js';
import { BatchedCalls } from '../util/batched-calls.js';
import { preparable } from './prepared-statements.js';
import type { Database } from './schema.js';
import { CREATED_CHANNEL, FINISHED_CHANNEL } from './task-notifications.js';

/*
 * PostgreSQL, the writes of the busiest paths, made together (BatchedCalls): the writes that callers
 * make while the previous statement of their kind is in flight go in the next one, as rows of
 * `unnest`ed arrays. One statement and one WAL flush then serve a whole group of submissions or of
 * finished tasks, where each used to cost its own round trip (the event loop's socket write was the
 * largest item of the instance's profile) and its own flush (bench/registrations.ts, README "Speed").
 * Each statement reports per row, never failing for one row's sake: conflicts are rows not returned.
 */

/**
 * A statement failed for a reason other than the server being unreachable (a value PostgreSQL
 * refuses, such as U+0000 in text): its items are tried one by one, so only the bad one fails.
 */
const groupOptions = { retryAlone: (error: unknown) => !(isSignetError(error) && error.code === 'database_unavailable') };

async function run<Row>(db: Kysely<Database>, text: string, parameters: unknown[]): Promise<Row[]> {
  return (await db.executeQuery<Row>(CompiledQuery.raw(text, parameters))).rows;
}

const SMALL_BLOBS_SQL = `
WITH input AS (SELECT * FROM unnest($1::text[], $2::bytea[]) AS i(blob_key, data)),
     older_chunks AS (DELETE FROM blob_chunks b USING input WHERE b.blob_key = input.blob_key AND b.seq > 0)
INSERT INTO blob_chunks (blob_key, seq, data) SELECT blob_key, 0, data FROM input
ON CONFLICT (blob_key, seq) DO UPDATE SET data = excluded.data, prefix_key = NULL`;
preparable(SMALL_BLOBS_SQL);

/** A blob of one chunk. */
export interface SmallBlobWrite {
  key: string;
  data: Buffer;
}

/** Blobs of one chunk, each written in place whole (an earlier version's other chunks go). */
export function smallBlobWrites(db: Kysely<Database>): BatchedCalls<SmallBlobWrite, undefined> {
  return new BatchedCalls<SmallBlobWrite, undefined>(async (writes) => {
    // The same key twice in one statement is an error: the later write wins, as it would in turn.
    const latest = [...new Map(writes.map((write) => [write.key, write])).values()];
    await run(db, SMALL_BLOBS_SQL, [latest.map((write) => write.key), latest.map((write) => write.data)]);
    return writes.map(() => undefined);
  }, groupOptions);
}

/** `unnest` of typed arrays, one per column, as the rows of `input`. */
function unnestInput(columns: ReadonlyArray<readonly [string, string]>): string {
  return `SELECT * FROM unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS i(${columns.map(([name]) => name).join(', ')})`;
}

const TASK_COLUMNS = [
  ['id', 'text'],
  ['client_id', 'text'],
  ['kind', 'text'],
  ['status', 'text'],
  ['external_reference', 'text'],
  ['request_fingerprint', 'text'],
  ['request_json', 'text'],
  ['description', 'text'],
  ['callback_url', 'text'],
  ['host', 'text'],
  ['attempts', 'integer'],
  ['max_attempts', 'integer'],
  ['run_at', 'bigint'],
  ['lease_owner', 'text'],
  ['lease_until', 'bigint'],
  ['created_at', 'bigint'],
  ['started_at', 'bigint'],
  ['finished_at', 'bigint'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['result_json', 'text'],
] as const;
export type GroupedNewTask = { [Column in (typeof TASK_COLUMNS)[number][0]]?: unknown };
const taskColumnList = TASK_COLUMNS.map(([name]) => name).join(', ');

const NEW_TASKS_SQL = `
WITH input AS (${unnestInput(TASK_COLUMNS)}),
     created AS (INSERT INTO tasks (${taskColumnList}) SELECT ${taskColumnList} FROM input ON CONFLICT DO NOTHING RETURNING *),
     created_event AS (INSERT INTO task_events (task_id, at, event, attempt, detail) SELECT id, created_at, 'created', 0, NULL FROM created)
SELECT created.*, pg_notify('${CREATED_CHANNEL}', '') AS notified FROM created`;
preparable(NEW_TASKS_SQL);

/**
 * New tasks (without documents), each with its `created` event, and one NOTIFY for the workers.
 * A task whose row conflicts (its external reference is taken) answers undefined: the caller goes
 * the single-row way, which reads the existing task.
 */
export function newTaskInserts<Row extends { id: string }>(db: Kysely<Database>): BatchedCalls<GroupedNewTask, Row | undefined> {
  return new BatchedCalls(async (tasks) => {
    const rows = await run<Row & { notified?: unknown }>(
      db,
      NEW_TASKS_SQL,
      TASK_COLUMNS.map(([name]) => tasks.map((task) => task[name] ?? null)),
    );
    const byId = new Map(rows.map(({ notified: _notified, ...row }) => [row.id, row as Row]));
    return tasks.map((task) => byId.get(task.id as string));
  }, groupOptions);
}

const COMPLETIONS_SQL = `
WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS i(id, owner, result_json, finished_at)),
     done AS (UPDATE tasks t SET status = 'SUCCEEDED', result_json = input.result_json, finished_at = input.finished_at,
                     lease_owner = NULL, lease_until = NULL, error_code = NULL, error_message = NULL
              FROM input WHERE t.id = input.id AND t.status = 'RUNNING' AND t.lease_owner = input.owner
              RETURNING t.id, t.attempts, input.owner, input.finished_at),
     done_event AS (INSERT INTO task_events (task_id, at, event, attempt, detail) SELECT id, finished_at, 'succeeded', attempts, owner FROM done)
SELECT done.id, pg_notify('${FINISHED_CHANNEL}', done.id) AS notified FROM done`;
preparable(COMPLETIONS_SQL);

/** RUNNING → SUCCEEDED for tasks without a callback, each only while its caller holds the lease. */
export function taskCompletions(db: Kysely<Database>): BatchedCalls<{ id: string; owner: string; resultJson: string; now: number }, boolean> {
  return new BatchedCalls(async (completions) => {
    const rows = await run<{ id: string }>(db, COMPLETIONS_SQL, [
      completions.map((c) => c.id),
      completions.map((c) => c.owner),
      completions.map((c) => c.resultJson),
      completions.map((c) => c.now),
    ]);
    const done = new Set(rows.map((row) => row.id));
    return completions.map((c) => done.has(c.id));
  }, groupOptions);
}

const REGISTRATION_COLUMNS = [
  ['rid', 'text'],
  ['task_id', 'text'],
  ['client_id', 'text'],
  ['account_id', 'text'],
  ['user_id', 'text'],
  ['user_email', 'text'],
  ['kind', 'text'],
  ['title', 'text'],
  ['description', 'text'],
  ['name', 'text'],
  ['url', 'text'],
  ['content_type', 'text'],
  ['blob_id', 'text'],
  ['size', 'bigint'],
  ['sha1', 'text'],
  ['sha256', 'text'],
  ['timestamp_token', 'text'],
  ['tsa', 'text'],
  ['registered_at', 'bigint'],
  ['capture_json', 'text'],
  ['created_at', 'bigint'],
] as const;
export type GroupedNewRegistration = { [Column in (typeof REGISTRATION_COLUMNS)[number][0]]?: unknown };
const registrationColumnList = REGISTRATION_COLUMNS.map(([name]) => name).join(', ');

const NEW_REGISTRATIONS_SQL = `
WITH input AS (${unnestInput(REGISTRATION_COLUMNS)})
INSERT INTO registrations (${registrationColumnList}) SELECT ${registrationColumnList} FROM input
ON CONFLICT DO NOTHING RETURNING *`;
preparable(NEW_REGISTRATIONS_SQL);

/**
 * New registrations. One that conflicts (its RID drawn twice, its task or its account's bytes
 * registered already) answers undefined: the caller goes the single-row way, which tells which.
 */
export function newRegistrationInserts<Row extends { rid: string }>(db: Kysely<Database>): BatchedCalls<GroupedNewRegistration, Row | undefined> {
  return new BatchedCalls(async (registrations) => {
    const rows = await run<Row>(
      db,
      NEW_REGISTRATIONS_SQL,
      REGISTRATION_COLUMNS.map(([name]) => registrations.map((registration) => registration[name] ?? null)),
    );
    const byRid = new Map(rows.map((row) => [row.rid, row]));
    return registrations.map((registration) => byRid.get(registration.rid as string));
  }, groupOptions);
}

const CLAIMS_SQL = `
WITH picked AS (SELECT id FROM tasks WHERE status = 'PENDING' AND kind = $1 AND run_at <= $4
                ORDER BY run_at LIMIT $5 FOR UPDATE SKIP LOCKED),
     claimed AS (UPDATE tasks SET status = 'RUNNING', lease_owner = $2, lease_until = $3, attempts = attempts + 1,
                        started_at = coalesce(started_at, $4)
                 WHERE id IN (SELECT id FROM picked) RETURNING *),
     claimed_event AS (INSERT INTO task_events (task_id, at, event, attempt, detail) SELECT id, $4, 'claimed', attempts, $2 FROM claimed)
SELECT * FROM claimed ORDER BY run_at`;
preparable(CLAIMS_SQL);

export interface ClaimRequest {
  kind: string;
  owner: string;
  leaseUntil: number;
  now: number;
}

/**
 * Claims of due tasks of one kind: the slots asking at the same moment get the oldest due tasks in
 * one statement (one each, while there are enough), each with its `claimed` event. Requests of
 * another kind or owner in the same batch are claimed by statements of their own.
 */
export function dueTaskClaims<Row>(db: Kysely<Database>): BatchedCalls<ClaimRequest, Row | undefined> {
  return new BatchedCalls(async (requests) => {
    const answers: Array<Row | undefined> = new Array(requests.length).fill(undefined);
    const groups = new Map<string, number[]>();
    requests.forEach((request, index) => {
      const key = `${request.kind}\u0000${request.owner}`;
      groups.set(key, [...(groups.get(key) ?? []), index]);
    });
    for (const indexes of groups.values()) {
      const { kind, owner } = requests[indexes[0]!]!;
      // The latest clock reading of the group: what was due for any of them is due, and no lease is shorter than asked.
      const now = Math.max(...indexes.map((i) => requests[i]!.now));
      const leaseUntil = Math.max(...indexes.map((i) => requests[i]!.leaseUntil));
      const rows = await run<Row>(db, CLAIMS_SQL, [kind, owner, leaseUntil, now, indexes.length]);
      rows.forEach((row, i) => (answers[indexes[i]!] = row));
    }
    return answers;
  }, groupOptions);
}
