import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

/**
 * One schema step. Never edit one that has shipped: add the next number in a new file and list it in
 * index.ts. Each runs in its own transaction (see migrate.ts), written with Kysely's schema builder so
 * the same definition serves SQLite and PostgreSQL.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<any>, dialect: SqlDialect): Promise<void>;
}
