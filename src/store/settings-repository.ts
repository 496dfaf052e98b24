import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Small shared values every instance must agree on (e.g. the token signing key). */
export class SettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Returns the stored value, or stores `create()`'s — first writer wins across instances. */
  async getOrCreate(key: string, create: () => string): Promise<string> {
    const existing = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    if (existing) return existing.value;
    await this.db
      .insertInto('settings')
      .values({ key, value: create() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
    return stored.value;
  }
}
