import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { currentTimeMs } from '../util/clock.js';

/** Numeric operation ids of the Sign'Stash surface ↔ task ids; every query is scoped by client id. */
export class SignstashRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The operation's number, assigned on first use; a concurrent first use gets the same number. */
  async numberForTask(clientId: string, taskId: string, now = currentTimeMs()): Promise<number> {
    const existing = await this.findNumber(clientId, taskId);
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('signstash_operations')
      .values({ task_id: taskId, client_id: clientId, created_at: now })
      .onConflict((oc) => oc.column('task_id').doNothing())
      .execute();
    const assigned = await this.findNumber(clientId, taskId);
    if (assigned === undefined) throw new Error(`No Sign'Stash number for task ${taskId}`);
    return assigned;
  }

  async findNumber(clientId: string, taskId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('signstash_operations')
      .select('id')
      .where('client_id', '=', clientId)
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.id);
  }

  async findTaskId(clientId: string, id: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('signstash_operations')
      .select('task_id')
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.task_id;
  }
}
