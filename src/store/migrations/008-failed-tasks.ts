import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * The dead queue: FAILED tasks, counted per kind at every metrics scrape (`signet_tasks_failed`) and
 * listed by operators (`GET /v1/tasks?status=FAILED`). Without it each scrape read every task.
 */
export const failedTasks: Migration = {
  version: 8,
  name: 'failed tasks by kind (dead queue)',
  async up(db) {
    await db.schema
      .createIndex('tasks_failed_by_kind')
      .on('tasks')
      .columns(['kind'])
      .where(sql.ref('status'), '=', 'FAILED')
      .execute();
  },
};
