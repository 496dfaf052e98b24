import type { DatabaseConnection, Dialect, Driver, Kysely, QueryCompiler, TransactionSettings } from 'kysely';
import { SignetError } from '../errors/signet-error.js';

/**
 * PostgreSQL going away (a restart, a failover, the network) is not a bug: callers get a transient
 * `database_unavailable` (HTTP 503 with Retry-After; the task engine retries) instead of whatever the
 * driver threw, which the HTTP layer could only call a 500.
 */

/** SQLSTATE classes and codes that mean "the server cannot serve us now", not "this query is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: pg_ctl stop/restart -m fast
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: a failover landed on a standby that is not promoted yet
]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** What pg says when a connection dies under it or cannot be had in time (it sets no code then). */
const UNAVAILABLE_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Connection is closed|Query read timeout/i;

export function isDatabaseUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnreachable);
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}

function translated(error: unknown): unknown {
  // PostgreSQL's text cannot hold U+0000 (SQLite's can): the caller's value, not our fault.
  if ((error as { code?: unknown })?.code === '22021') {
    return new SignetError('invalid_request', 'A text field contains the character U+0000, which cannot be stored; remove it', { cause: error });
  }
  if (!isDatabaseUnreachable(error)) return error;
  return new SignetError('database_unavailable', 'The database cannot be reached right now; nothing was lost — retry shortly', {
    transient: true,
    cause: error,
  });
}

async function translating<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translated(error);
  }
}

/** The dialect as it was, but every error of an unreachable server becomes `database_unavailable`. */
export function withUnavailableErrors(inner: Dialect): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db: Kysely<any>) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => new TranslatingDriver(inner.createDriver()),
  };
}

/**
 * Wraps each connection so its queries translate errors; the inner driver always gets back its own
 * connection object (PostgresDriver releases through a private symbol on it).
 */
class TranslatingDriver implements Driver {
  readonly #inner: Driver;
  readonly #innerOf = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return translating(() => this.#inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await translating(() => this.#inner.acquireConnection());
    const wrapped: DatabaseConnection = {
      executeQuery: (query) => translating(() => connection.executeQuery(query)),
      async *streamQuery(query, chunkSize) {
        try {
          yield* connection.streamQuery(query, chunkSize);
        } catch (error) {
          throw translated(error);
        }
      },
    };
    this.#innerOf.set(wrapped, connection);
    return wrapped;
  }

  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#innerOf.get(connection) ?? connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return translating(() => this.#inner.beginTransaction(this.#unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return translating(() => this.#inner.commitTransaction(this.#unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return translating(() => this.#inner.rollbackTransaction(this.#unwrap(connection)));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translating(() => this.#inner.savepoint!(this.#unwrap(connection), name, compile));
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translating(() => this.#inner.rollbackToSavepoint!(this.#unwrap(connection), name, compile));
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translating(() => this.#inner.releaseSavepoint!(this.#unwrap(connection), name, compile));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}
