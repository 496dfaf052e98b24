import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * Housekeeping (issue 11): `--retention` deletes the bytes of finished signature operations and
 * keeps their records, marked by `purged_at`; the sweep of orphaned content asks which blobs a
 * registration owns. Both need an index: the purge walks only operations not purged yet, oldest end
 * first; the sweep looks registrations up by blob id.
 */
export const retention: Migration = {
  version: 9,
  name: 'purged documents (retention), registrations by blob',
  async up(db) {
    await db.schema.alterTable('tasks').addColumn('purged_at', 'bigint').execute();
    await db.schema.alterTable('documents').addColumn('purged_at', 'bigint').execute();
    await sql`CREATE INDEX tasks_purgeable ON tasks (finished_at) WHERE kind = 'sign' AND purged_at IS NULL`.execute(db);
    await db.schema.createIndex('registrations_blob').on('registrations').column('blob_id').execute();
  },
};
