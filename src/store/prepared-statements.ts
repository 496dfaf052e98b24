import type pg from 'pg';

/**
 * PostgreSQL parses and plans every statement sent without a name, every time. The statements of
 * fixed shape (compiled once by compiled-query.ts: claims, completions, inserts of the hot paths)
 * are sent as named prepared statements instead, parsed and planned once per connection.
 * Measured (bench/registrations.ts, PostgreSQL): see the README's Speed section.
 * Only those: a name per distinct text of ad-hoc queries (`IN` lists of any length) would grow each
 * connection's statement cache without bound.
 */
const names = new Map<string, string>();

/** Registers SQL text of a fixed-shape query; called when it is compiled, once per text. */
export function preparable(sql: string): void {
  if (!names.has(sql)) names.set(sql, `signet_${names.size + 1}`);
}

/** Makes a pool client send registered texts as named prepared statements (pg prepares each once per connection). */
export function usePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' && Array.isArray(values) ? names.get(text) : undefined;
    if (name === undefined) return callback === undefined ? query(text, values) : query(text, values, callback);
    // (Results stay in text format: pg decodes every field as UTF-8, so binary bytea would be mangled.)
    if (callback !== undefined) return query({ name, text, values }, callback);
    return (query({ name, text, values }) as Promise<unknown>).catch(async (error: { code?: string }) => {
      // A newer instance added a column (a rolling upgrade): a prepared `SELECT *` or `RETURNING *`
      // now fails on this connection for ever ("cached plan must not change result type"). Prepared
      // again, it answers with the new columns, which the code reading it ignores.
      if (error?.code !== '0A000') throw error;
      await query(`DEALLOCATE ${name}`);
      delete (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements[name];
      return query({ name, text, values });
    });
  };
}
