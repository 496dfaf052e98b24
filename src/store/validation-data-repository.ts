import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { currentTimeMs } from '../util/clock.js';

/** The shared cache of validation data (migration 011): one row per key, replaced when fetched again. */
export class ValidationDataRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The cached bytes while they are current. */
  async find(key: string, now = currentTimeMs()): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('validation_data').select('body').where('key', '=', key).where('valid_until', '>', now).executeTakeFirst();
    return row?.body;
  }

  async save(key: string, body: Buffer, validUntil: number, now = currentTimeMs()): Promise<void> {
    await this.db
      .insertInto('validation_data')
      .values({ key, body, fetched_at: now, valid_until: validUntil })
      .onConflict((conflict) => conflict.column('key').doUpdateSet({ body, fetched_at: now, valid_until: validUntil }))
      .execute();
  }
}
