import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { FALLBACK_AUTOCHECKPOINT_PAGES, SqliteCheckpointer } from './sqlite-checkpointer.js';
import { groupCommitSqliteDialect } from './sqlite-group-commit.js';
import { withUnavailableErrors } from './database-unavailable.js';
import { usePreparedStatements } from './prepared-statements.js';

export type SqlDialect = 'sqlite' | 'postgres';

export interface StoreDatabase {
  db: Kysely<Database>;
  /**
   * For writes that need not be flushed before their commit returns (claims, lease renewals, blobs
   * written with `durable: false`): PostgreSQL, a pool committing asynchronously; SQLite, `db`
   * (its group commit is told per transaction, commitWithoutWaitingForFlush).
   */
  relaxed: Kysely<Database>;
  dialect: SqlDialect;
  /** PostgreSQL only: a pool for LISTEN connections and NOTIFY (Kysely's pool releases clients after each query). */
  pgPool?: pg.Pool;
  /**
   * Gives the space of deleted rows back to the file system. SQLite: `PRAGMA incremental_vacuum` run
   * whole (through Kysely it is stepped once and frees one page). PostgreSQL: nothing — autovacuum
   * makes the space reusable; the files shrink only with VACUUM FULL, an operator's call.
   */
  reclaimSpace(): Promise<void>;
  /** SQLite only: the background checkpoints. */
  checkpointer?: SqliteCheckpointer;
  close(): Promise<void>;
}

/** BIGINT (OID 20) comes back from pg as a string by default; our BIGINTs are milliseconds and sizes. */
const pgTypes = {
  getTypeParser(oid: number, format?: any) {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export function openDatabase(options: { databaseUrl?: string; workFolder: string }): StoreDatabase {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openSqlite(path.join(options.workFolder, 'signet.sqlite'));
}

function openPostgres(connectionString: string): StoreDatabase {
  const db = new Kysely<Database>({ dialect: withUnavailableErrors(new PostgresDialect({ pool: postgresPool(connectionString, 10) })) });
  // Writes that a crash may lose because they are only ever repeated (claims, lease renewals) or
  // flushed by a later barrier (blobs written with `durable: false`): their own pool, whose sessions
  // commit asynchronously, so each is one statement without a wait for the WAL flush. A transaction
  // with SET LOCAL took four round trips for the same (bench/batch-http.ts on PostgreSQL).
  const relaxedPool = postgresPool(connectionString, 4, { synchronous_commit: 'off' });
  const relaxed = new Kysely<Database>({ dialect: withUnavailableErrors(new PostgresDialect({ pool: relaxedPool })) });
  const listenPool = postgresPool(connectionString, 2);
  return {
    db,
    relaxed,
    dialect: 'postgres',
    pgPool: listenPool,
    reclaimSpace: async () => {},
    async close() {
      await relaxed.destroy();
      await db.destroy();
      await listenPool.end();
    },
  };
}

function postgresPool(connectionString: string, max: number, settings: Record<string, string> = {}): pg.Pool {
  const options = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ');
  const pool = new pg.Pool({
    connectionString,
    max,
    types: pgTypes,
    // While the server is down or restarting, a request waits at most this long for a connection
    // and then answers 503 (database-unavailable.ts); pg's default is to wait for ever.
    connectionTimeoutMillis: 5000,
    // A server gone silent (a partition, a failover without a reset) must not hold a statement, and
    // every grouped write queued behind it, for the quarter of an hour TCP takes to give up: probes
    // after 10 s of silence, and no statement waits more than two minutes (the longest is a
    // migration building an index).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: 120_000,
    ...(options && { options }),
  });
  // A connection the server ends ("terminating connection due to administrator command") emits
  // 'error'. The pool listens only on idle clients; one checked out between two queries of a
  // transaction had no listener, and the unhandled 'error' ended the process (issue 11). Every client
  // gets one: the query in flight fails on its own, and pg drops the broken client on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    usePreparedStatements(client);
  });
  pool.on('error', () => {});
  return pool;
}

function openSqlite(file: string): StoreDatabase {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  // Space freed by deletions (purged documents, sweeps) goes back to the file system with
  // `PRAGMA incremental_vacuum` (Store.reclaimSpace), which needs auto_vacuum = INCREMENTAL. A new
  // file gets it before its first table; an older one is converted once, by a VACUUM at this start.
  if (sqlite.pragma('auto_vacuum', { simple: true }) !== 2) {
    sqlite.pragma('auto_vacuum = INCREMENTAL');
    const hasTables = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").get() !== undefined;
    if (hasTables) sqlite.exec('VACUUM');
  }
  // WAL lets readers proceed during writes. Each commit is durable on power loss too, which a 202
  // promises (DESIGN invariant 1): synchronous=NORMAL leaves the WAL sync to the group-commit
  // dialect, which does it before the transaction resolves (sqlite-group-commit.ts). busy_timeout
  // covers a second process (a CLI command) touching the same file.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Checkpoints run on a thread of their own (sqlite-checkpointer.ts); this connection checkpoints
  // only if the WAL grows far past SQLite's usual 1,000 pages.
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  const checkpointer = new SqliteCheckpointer(file);
  const db = new Kysely<Database>({ dialect: groupCommitSqliteDialect(sqlite, { afterWrite: () => checkpointer.noteWrite() }).dialect });
  return {
    db,
    relaxed: db,
    dialect: 'sqlite',
    // Synchronous, between two statements of the event loop: a transaction the group commit holds open
    // would take it in (it is allowed inside one), never interleave with it.
    reclaimSpace: async () => void sqlite.exec('PRAGMA incremental_vacuum'),
    checkpointer,
    async close() {
      await checkpointer.close();
      await db.destroy();
    },
  };
}
