import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * A blob may begin with the whole of another: a signed PDF is its original followed by an update, and on
 * PostgreSQL storing the original a second time was half of the bytes a PAdES operation wrote
 * (DatabaseBlobStore, bench/batch-http.ts). Such a blob's chunk 0 is a marker — `prefix_key` set, `data`
 * NULL — and its own bytes follow from chunk 1. The NULL is deliberate: an instance still on the code
 * before this migration (a rolling upgrade) fails to read such a blob instead of serving the update
 * alone as the document. (SQLite never writes them: it keeps `data` NOT NULL.)
 */
export const blobPrefix: Migration = {
  version: 13,
  name: 'blobs that begin with another blob',
  async up(db, dialect) {
    await sql`ALTER TABLE blob_chunks ADD COLUMN prefix_key TEXT`.execute(db);
    if (dialect === 'postgres') await sql`ALTER TABLE blob_chunks ALTER COLUMN data DROP NOT NULL`.execute(db);
  },
};
