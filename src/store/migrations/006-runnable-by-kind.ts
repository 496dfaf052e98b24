import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * Workers run in lanes by task kind (signatures apart from registrations, engine/task-runner.ts), so
 * a claim asks for the oldest runnable task of one kind: this index answers that in one lookup, where
 * `tasks_runnable` would walk past every runnable task of the other kinds first.
 */
export const runnableByKind: Migration = {
  version: 6,
  name: 'runnable tasks by kind (worker lanes)',
  async up(db) {
    await db.schema
      .createIndex('tasks_runnable_by_kind')
      .on('tasks')
      .columns(['kind', 'run_at'])
      .where(sql.ref('status'), '=', 'PENDING')
      .execute();
  },
};
