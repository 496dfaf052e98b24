import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * PostgreSQL: document bytes are stored as they are, not run through TOAST compression first. PDFs,
 * signatures and most uploads are compressed already; pglz tried every 200 KB chunk, failed, and
 * stored it raw anyway — CPU spent on every write (bench/batch-http.ts on PostgreSQL). SQLite has no
 * such step.
 */
export const blobChunksUncompressed: Migration = {
  version: 10,
  name: 'blob chunks stored uncompressed (PostgreSQL)',
  async up(db, dialect) {
    if (dialect === 'postgres') await sql`ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL`.execute(db);
  },
};
