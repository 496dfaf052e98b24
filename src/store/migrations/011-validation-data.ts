import type { Migration } from './migration.js';

/**
 * Validation data fetched from CAs (OCSP responses, CRLs, issuer certificates), kept until it stops
 * being current (an OCSP response's or CRL's nextUpdate): in the database, so that every instance on
 * PostgreSQL shares it and a 2,500-document batch asks each CA once.
 */
export const validationData: Migration = {
  version: 11,
  name: 'validation data cache (OCSP responses, CRLs)',
  async up(db, dialect) {
    await db.schema
      .createTable('validation_data')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('body', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
      .addColumn('fetched_at', 'bigint', (c) => c.notNull())
      .addColumn('valid_until', 'bigint', (c) => c.notNull())
      .execute();
  },
};
