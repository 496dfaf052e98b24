import { closeSync, openSync, fsyncSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { sql, SqliteDialect, SqliteDriver, type Driver, type Kysely, type SqliteDatabase, type SqliteStatement } from 'kysely';

/*
 * SQLite with group commit, for the embedded store.
 *
 * With `synchronous = FULL` every COMMIT fsyncs the WAL inside better-sqlite3, synchronously, on the
 * event loop: 32 concurrent registrations each waited for their own fsync, one after another, and the
 * loop stood still during each (bench/registrations.ts: 245 accepted/s, a third of the profile in
 * executeQuery). Here SQLite runs with `synchronous = NORMAL` (a commit writes the WAL but does not
 * sync it) and this dialect syncs the WAL itself after every transaction that wrote, before the
 * transaction's promise resolves — so callers keep FULL's promise (what they awaited is on disk) —
 * but the sync runs on the thread pool after the connection is handed on, and one fsync covers every
 * commit made before it started: concurrent transactions share their flushes.
 *
 * Why this is as durable as FULL: in WAL mode FULL means exactly "sync the WAL after each commit"
 * (sqlite.org/pragma.html#pragma_synchronous); fsync on any descriptor of the file flushes the file.
 * Checkpoints sync the WAL before copying it and the database after, in NORMAL as in FULL.
 *
 * Statements are also prepared once per SQL text (Kysely's driver prepared every query again: a
 * further 8 % of the same profile).
 */

/**
 * PostgreSQL's own words for "this transaction's commit need not wait for the disk"; this dialect
 * takes the same statement to mean the same, so one call serves both stores.
 */
const RELAXED_COMMIT_SQL = 'set local synchronous_commit = off';

/**
 * Inside a transaction: its commit need not wait for a flush. For writes whose loss on power failure
 * only repeats work (a claim: the task is PENDING again and runs again); the next flush of anyone
 * else covers them anyway. PostgreSQL: asynchronous commit for this transaction.
 *
 * A statement rather than an AsyncLocalStorage scope (the first way): a scope switches on Node's
 * promise hooks for every promise of the process; without it a registration cost the event loop
 * 2.0–2.3 ms instead of 2.6–2.9 ms (bench/registrations.ts).
 */
export async function commitWithoutWaitingForFlush(trx: Kysely<any>): Promise<void> {
  await sql.raw(RELAXED_COMMIT_SQL).execute(trx);
}

/** Prepared statements kept; Kysely's SQL for a given query shape is stable, `IN (…)` lists vary. */
const STATEMENT_CACHE_SIZE = 512;

export interface GroupCommitSqlite {
  dialect: SqliteDialect;
  /** WAL fsyncs done so far (tests and metrics: many commits should share few flushes). */
  flushCount(): number;
}

/** `afterWrite`: called after each commit that wrote (the background checkpointer listens). */
export function groupCommitSqliteDialect(sqlite: BetterSqlite3.Database, options: { afterWrite?: () => void } = {}): GroupCommitSqlite {
  const wal = new WalFlusher(sqlite.name);
  let dirty = false;
  let transactionWrote = false;
  let relaxedTransaction = false;
  const statements = new Map<string, BetterSqlite3.Statement>();
  // Not SQL to SQLite: the mark of a transaction that need not wait for its flush.
  const relaxMark: SqliteStatement = {
    reader: false,
    all: () => [],
    iterate: () => [][Symbol.iterator](),
    run: () => {
      relaxedTransaction = sqlite.inTransaction;
      return { changes: 0, lastInsertRowid: 0 };
    },
  };

  const database: SqliteDatabase = {
    prepare(sql: string): SqliteStatement {
      if (sql === RELAXED_COMMIT_SQL) return relaxMark;
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      const prepared = statement;
      return {
        reader: prepared.reader,
        all: (parameters: ReadonlyArray<unknown>) => prepared.all(parameters),
        iterate: (parameters: ReadonlyArray<unknown>) => prepared.iterate(parameters),
        run: (parameters: ReadonlyArray<unknown>) => {
          const wasInTransaction = sqlite.inTransaction;
          const result = prepared.run(parameters);
          if (sqlite.inTransaction) {
            // A statement inside a transaction (BEGIN itself only enters one).
            if (wasInTransaction) transactionWrote = true;
          } else {
            // An autocommit write, or the end of a transaction: only one that wrote needs a flush.
            if (!wasInTransaction || transactionWrote) dirty = true;
            transactionWrote = false;
          }
          return result;
        },
      };
    },
    close(): void {
      statements.clear();
      wal.close();
      sqlite.close();
    },
  };

  class GroupCommitDriver extends SqliteDriver {
    override async releaseConnection(): Promise<void> {
      const wrote = dirty;
      const relaxed = relaxedTransaction;
      dirty = false;
      relaxedTransaction = false;
      // Hand the connection on first: the next transaction runs while this one's flush is pending.
      await super.releaseConnection();
      if (wrote) options.afterWrite?.();
      if (wrote && !relaxed) await wal.flush();
    }
  }

  class GroupCommitDialect extends SqliteDialect {
    override createDriver(): Driver {
      return new GroupCommitDriver({ database });
    }
  }

  return { dialect: new GroupCommitDialect({ database }), flushCount: () => wal.flushes };
}

interface FlushWaiter {
  generation: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * One fsync of the WAL at a time; a caller that arrives while one runs waits for the next, which
 * then covers everyone who arrived meanwhile.
 */
class WalFlusher {
  readonly #file: string;
  #handle: Promise<FileHandle> | undefined;
  /** Flushes asked for / completed, as generations: a flush covers every request made before it began. */
  #requested = 0;
  #completed = 0;
  #running = false;
  #waiters: FlushWaiter[] = [];
  #closed = false;
  flushes = 0;

  constructor(databaseFile: string) {
    this.#file = `${databaseFile}-wal`;
  }

  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const generation = ++this.#requested;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ generation, resolve, reject });
      this.#run();
    });
  }

  close(): void {
    this.#closed = true;
    const handle = this.#handle;
    this.#handle = undefined;
    void handle?.then((h) => h.close()).catch(() => {});
  }

  #run(): void {
    if (this.#running || this.#completed >= this.#requested) return;
    this.#running = true;
    const generation = this.#requested;
    this.#sync().then(
      () => this.#settle(generation),
      (error: unknown) => this.#settle(generation, error),
    );
  }

  async #sync(): Promise<void> {
    this.#handle ??= openWal(this.#file);
    await (await this.#handle).sync();
    this.flushes++;
  }

  #settle(generation: number, error?: unknown): void {
    this.#running = false;
    this.#completed = generation;
    const still: FlushWaiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.generation > generation) still.push(waiter);
      else if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.#waiters = still;
    if (error !== undefined) this.#handle = undefined;
    this.#run();
  }
}

/** The WAL exists once journal_mode=WAL is set; its directory entry is made durable once. */
async function openWal(file: string): Promise<FileHandle> {
  const handle = await open(file, 'r+');
  const directory = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
  return handle;
}
