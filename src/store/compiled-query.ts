import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { DialectAdapter } from 'kysely';
import { preparable } from './prepared-statements.js';

const PARAMETER = Symbol('compiled query parameter');

interface ParameterMark {
  readonly [PARAMETER]: string;
}

function isMark(value: unknown): value is ParameterMark {
  return typeof value === 'object' && value !== null && PARAMETER in value;
}

/**
 * A query of fixed shape that Kysely builds and compiles once per database; each call only binds its
 * values. Building a query allocates and freezes a tree of nodes and compiling walks it again: with a
 * dozen queries per registration that was ~15 % of the event loop in bench/registrations.ts, for SQL
 * text that never changes.
 *
 * `build` receives `params` whose properties stand for the values (marks that become the bound
 * parameters), so it must use them only as values — never to decide the query's shape, and never as
 * a list (`in`). Other constants in the query stay as Kysely bound them.
 */
export function compiledQuery<Params extends object, Row>(
  build: (db: Kysely<any>, params: Params) => Compilable<Row>,
): (db: Kysely<any>, params: Params) => Promise<QueryResult<Row>> {
  // Per dialect adapter: one query module serves the SQLite and the PostgreSQL store alike.
  const cache = new WeakMap<DialectAdapter, { query: CompiledQuery<Row>; names: Array<keyof Params | undefined> }>();
  const marks = new Proxy({} as Params, {
    get: (_target, name) => (typeof name === 'string' ? ({ [PARAMETER]: name } satisfies ParameterMark) : undefined),
  });
  return (db, params) => {
    const adapter = db.getExecutor().adapter;
    let entry = cache.get(adapter);
    if (!entry) {
      const query = build(db, marks).compile();
      preparable(query.sql);
      entry = { query, names: query.parameters.map((value) => (isMark(value) ? (value[PARAMETER] as keyof Params) : undefined)) };
      cache.set(adapter, entry);
    }
    const { query, names } = entry;
    const parameters = query.parameters.map((value, index) => {
      const name = names[index];
      // A value left out binds NULL, as Kysely's own insert would have left the column to NULL.
      return name === undefined ? value : (params[name] ?? null);
    });
    return db.executeQuery<Row>({ ...query, parameters });
  };
}

/**
 * Every column of a row, as the marks `build` got: for inserts of whole rows. `columns` names each
 * column once (a `Record` over the table's keys, so a column added to the table and not here is a
 * type error).
 */
export function everyColumn<Row extends object>(params: Row, columns: Record<keyof Row, true>): Row {
  const row = {} as Row;
  for (const column of Object.keys(columns) as Array<keyof Row>) row[column] = params[column];
  return row;
}
