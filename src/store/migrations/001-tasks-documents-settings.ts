import { sql } from 'kysely';
import type { Migration } from './migration.js';

export const tasksDocumentsSettings: Migration = {
  version: 1,
  name: 'tasks, documents, settings',
  async up(db, dialect) {
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('external_reference', 'text')
      .addColumn('request_fingerprint', 'text', (c) => c.notNull())
      .addColumn('request_json', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('callback_url', 'text')
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('run_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('result_json', 'text')
      .execute();

    // Idempotency: one task per (client, kind, reference). NULL references never collide.
    await db.schema
      .createIndex('tasks_client_kind_reference')
      .unique()
      .on('tasks')
      .columns(['client_id', 'kind', 'external_reference'])
      .execute();
    // Exactly what the claim query asks for: runnable tasks by due time, and expired leases.
    await db.schema
      .createIndex('tasks_runnable')
      .on('tasks')
      .column('run_at')
      .where(sql.ref('status'), '=', 'PENDING')
      .execute();
    await db.schema
      .createIndex('tasks_leased')
      .on('tasks')
      .column('lease_until')
      .where(sql.ref('status'), '=', 'RUNNING')
      .execute();
    // Task lists are per client, newest first, paged by id (ids are time-ordered UUIDv7).
    await db.schema.createIndex('tasks_client_id').on('tasks').columns(['client_id', 'id']).execute();

    await db.schema
      .createTable('task_events')
      .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
      )
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('task_events_task').on('task_events').column('task_id').execute();

    await db.schema
      .createTable('documents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('external_reference', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('options_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('signed_size', 'bigint')
      .addColumn('signed_at', 'bigint')
      .execute();
    await db.schema.createIndex('documents_task').on('documents').columns(['task_id', 'position']).execute();
    await db.schema
      .createIndex('documents_client_reference')
      .on('documents')
      .columns(['client_id', 'external_reference'])
      .execute();
  },
};
