import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './database.js';
import { migrations } from './migrations/index.js';

/** Arbitrary constant: the PostgreSQL advisory lock that serialises instances migrating at once. */
const MIGRATION_LOCK_KEY = 7_301_946_211;

/**
 * Applies pending migrations, each in a transaction that first records itself — so two instances
 * starting together cannot both apply it (the second waits on the lock, then sees it applied).
 * Refuses to run on a database whose schema is newer than this code.
 */
export async function migrate(db: Kysely<any>, dialect: SqlDialect): Promise<number[]> {
  await db.schema
    .createTable('signet_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute()
    .catch(async (error) => {
      // Two PostgreSQL instances racing on CREATE TABLE IF NOT EXISTS can collide on the catalog.
      if (!(await tableExists(db))) throw error;
    });

  const latestKnown = migrations[migrations.length - 1].version;
  const applied: number[] = [];
  for (const migration of migrations) {
    const ran = await db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
      const newest = await trx
        .selectFrom('signet_migrations')
        .select((eb) => eb.fn.max('version').as('version'))
        .executeTakeFirst();
      const newestVersion = Number(newest?.version ?? 0);
      if (newestVersion > latestKnown) {
        throw new Error(
          `the database schema is at version ${newestVersion}, newer than this Signet (${latestKnown}); upgrade Signet`,
        );
      }
      if (newestVersion >= migration.version) return false;
      await trx
        .insertInto('signet_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
        .execute();
      await migration.up(trx, dialect);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return applied;
}

async function tableExists(db: Kysely<any>): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((t) => t.name === 'signet_migrations');
}
