import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Database, RegistrationTable } from './schema.js';
import { compiledQuery, everyColumn } from './compiled-query.js';
import { isUniqueViolation } from './user-repository.js';
import type { SqlDialect } from './database.js';
import { newRegistrationInserts } from './postgres-group-writes.js';

export type RegistrationRow = Selectable<RegistrationTable>;

const registrationColumns: Record<keyof Insertable<RegistrationTable>, true> = {
  rid: true,
  task_id: true,
  client_id: true,
  account_id: true,
  user_id: true,
  user_email: true,
  kind: true,
  title: true,
  description: true,
  name: true,
  url: true,
  content_type: true,
  blob_id: true,
  size: true,
  sha1: true,
  sha256: true,
  timestamp_token: true,
  tsa: true,
  registered_at: true,
  capture_json: true,
  created_at: true,
};
// Once per registration each: compiled once (compiled-query.ts).
const insertRegistration = compiledQuery((db: Kysely<Database>, row: Insertable<RegistrationTable>) =>
  db.insertInto('registrations').values(everyColumn(row, registrationColumns)).returningAll(),
);
const selectByTask = compiledQuery((db: Kysely<Database>, p: { taskId: string }) =>
  db.selectFrom('registrations').selectAll().where('task_id', '=', p.taskId),
);
const selectByAccountAndSha256 = compiledQuery((db: Kysely<Database>, p: { clientId: string; accountId: string; sha256: string }) =>
  db.selectFrom('registrations').selectAll().where('client_id', '=', p.clientId).where('account_id', '=', p.accountId).where('sha256', '=', p.sha256),
);
/**
 * The registration a task made, else this account's registration of the same bytes (the task's
 * first, if both). Two lookups joined, each by its own index: one condition with OR was planned as a
 * scan (0.37 ms against 0.02 ms, bench/registrations.ts on PostgreSQL).
 */
const selectByTaskOrAccountAndSha256 = compiledQuery((db: Kysely<Database>, p: { taskId: string; clientId: string; accountId: string; sha256: string }) =>
  db
    .selectFrom('registrations')
    .selectAll()
    .select(sql.lit(0).as('preference'))
    .where('task_id', '=', p.taskId)
    .unionAll((eb) =>
      eb
        .selectFrom('registrations')
        .selectAll()
        .select(sql.lit(1).as('preference'))
        .where('client_id', '=', p.clientId)
        .where('account_id', '=', p.accountId)
        .where('sha256', '=', p.sha256),
    )
    .orderBy('preference')
    .limit(1),
);

/** Registrations; every read a client can trigger is scoped by client id. */
export class RegistrationRepository {
  readonly #newRegistrations: ReturnType<typeof newRegistrationInserts<RegistrationRow>>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {
    this.#newRegistrations = newRegistrationInserts<RegistrationRow>(db);
  }

  /**
   * Stores a registration. `rid_taken` when the RID collides (draw another), `duplicate` with the
   * existing row when this account already registered these bytes (a concurrent task won the race).
   */
  async insert(row: Insertable<RegistrationTable>): Promise<{ inserted: RegistrationRow } | { duplicate: RegistrationRow } | { ridTaken: true }> {
    if (this.dialect === 'postgres') {
      // With the other registrations of the moment (postgres-group-writes.ts); a conflict comes back
      // undefined and takes the single-row way below, which tells a duplicate from a RID drawn twice.
      const grouped = await this.#newRegistrations.call(everyColumn(row, registrationColumns));
      if (grouped) return { inserted: grouped };
    }
    try {
      return { inserted: (await insertRegistration(this.db, row)).rows[0]! };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const byTask = await this.findByTask(row.task_id);
      if (byTask) return { duplicate: byTask };
      const same = await this.findByAccountAndSha256(row.client_id, row.account_id, row.sha256);
      if (same) return { duplicate: same };
      return { ridTaken: true };
    }
  }

  async findByRid(clientId: string, rid: string): Promise<RegistrationRow | undefined> {
    return this.db.selectFrom('registrations').selectAll().where('client_id', '=', clientId).where('rid', '=', rid).executeTakeFirst();
  }

  /** Unscoped: the public page (API.md §6) shows any registration by its RID. */
  async findByRidForPublic(rid: string): Promise<RegistrationRow | undefined> {
    return this.db.selectFrom('registrations').selectAll().where('rid', '=', rid).executeTakeFirst();
  }

  /** For the engine: the registration a task already made (a replayed handler). */
  async findByTask(taskId: string): Promise<RegistrationRow | undefined> {
    return (await selectByTask(this.db, { taskId })).rows[0];
  }

  /** Both questions a registration asks before its token, in one round trip: made already by this task? by this account? */
  async findByTaskOrAccountAndSha256(taskId: string, clientId: string, accountId: string, sha256: string): Promise<RegistrationRow | undefined> {
    const found = (await selectByTaskOrAccountAndSha256(this.db, { taskId, clientId, accountId, sha256 })).rows[0];
    if (!found) return undefined;
    const { preference: _preference, ...row } = found;
    return row;
  }

  async findByAccountAndSha256(clientId: string, accountId: string, sha256: string): Promise<RegistrationRow | undefined> {
    return (await selectByAccountAndSha256(this.db, { clientId, accountId, sha256 })).rows[0];
  }

  async findByHash(clientId: string, hash: { sha1?: string; sha256?: string }, limit = 100): Promise<RegistrationRow[]> {
    return this.db
      .selectFrom('registrations')
      .selectAll()
      .where('client_id', '=', clientId)
      .$if(hash.sha256 !== undefined, (q) => q.where('sha256', '=', hash.sha256!))
      .$if(hash.sha1 !== undefined, (q) => q.where('sha1', '=', hash.sha1!))
      .orderBy('registered_at')
      .limit(limit)
      .execute();
  }

  /** Registrations of exactly these bytes by any client, oldest first: only what the public may see. */
  async findPublicBySha256(sha256: string, limit = 100): Promise<Array<Pick<RegistrationRow, 'rid' | 'registered_at'>>> {
    return this.db.selectFrom('registrations').select(['rid', 'registered_at']).where('sha256', '=', sha256).orderBy('registered_at').limit(limit).execute();
  }

  async countForAccount(clientId: string, accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('registrations')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('client_id', '=', clientId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Which of these blob ids a registration owns (content, snapshots, certificate): the orphan sweep's question. */
  async ownedBlobIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('registrations').select('blob_id').where('blob_id', 'in', ids).execute();
    return new Set(rows.map((row) => row.blob_id));
  }
}
