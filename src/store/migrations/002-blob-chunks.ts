import type { Migration } from './migration.js';

export const blobChunks: Migration = {
  version: 2,
  name: 'blob chunks (document bytes shared by every instance on PostgreSQL)',
  async up(db, dialect) {
    await db.schema
      .createTable('blob_chunks')
      .addColumn('blob_key', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
      .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_key', 'seq'])
      .execute();
  },
};
