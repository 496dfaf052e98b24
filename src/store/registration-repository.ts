import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, RegistrationTable } from './schema.js';
import { isUniqueViolation } from './user-repository.js';

export type RegistrationRow = Selectable<RegistrationTable>;

/** Registrations; every read a client can trigger is scoped by client id. */
export class RegistrationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Stores a registration. `rid_taken` when the RID collides (draw another), `duplicate` with the
   * existing row when this account already registered these bytes (a concurrent task won the race).
   */
  async insert(row: Insertable<RegistrationTable>): Promise<{ inserted: RegistrationRow } | { duplicate: RegistrationRow } | { ridTaken: true }> {
    try {
      return { inserted: await this.db.insertInto('registrations').values(row).returningAll().executeTakeFirstOrThrow() };
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
    return this.db.selectFrom('registrations').selectAll().where('task_id', '=', taskId).executeTakeFirst();
  }

  async findByAccountAndSha256(clientId: string, accountId: string, sha256: string): Promise<RegistrationRow | undefined> {
    return this.db
      .selectFrom('registrations')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('account_id', '=', accountId)
      .where('sha256', '=', sha256)
      .executeTakeFirst();
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

  async countForAccount(clientId: string, accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('registrations')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('client_id', '=', clientId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
