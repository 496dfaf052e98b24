import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * A blob may begin with the whole of another (`prefix_key` on its first chunk): a signed PDF is its
 * original followed by an update, and on PostgreSQL storing the original a second time was half of the
 * bytes a PAdES operation wrote (DatabaseBlobStore, bench/batch-http.ts). NULL for every other blob.
 */
export const blobPrefix: Migration = {
  version: 13,
  name: 'blobs that begin with another blob',
  async up(db) {
    await sql`ALTER TABLE blob_chunks ADD COLUMN prefix_key TEXT`.execute(db);
  },
};
