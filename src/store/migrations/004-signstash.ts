import type { Migration } from './migration.js';

/**
 * Sign'Stash clients name operations by a number (a Java Long). Each signature operation gets one,
 * assigned when it is created through the Sign'Stash surface, or lazily the first time a native
 * operation is looked at through it. The task id stays the operation's identity everywhere else.
 */
export const signstashOperationNumbers: Migration = {
  version: 4,
  name: "Sign'Stash numeric operation ids",
  async up(db, dialect) {
    await db.schema
      .createTable('signstash_operations')
      .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
      )
      .addColumn('task_id', 'text', (c) => c.notNull().unique())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
