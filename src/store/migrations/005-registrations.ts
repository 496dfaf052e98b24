import type { Migration } from './migration.js';

/**
 * Registrations (proof of existence), the user accounts they belong to, and the mail outbox that
 * tells new users their password. Accounts, user ids and registrations are all scoped by client id.
 */
export const registrations: Migration = {
  version: 5,
  name: 'registrations, user accounts, mail outbox',
  async up(db) {
    // An account: one person of one client service, e-mail as login, password only as a slow hash.
    await db.schema
      .createTable('user_accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      /** Lowercased e-mail: step 2 of the user algorithm links by it. */
      .addColumn('email_key', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('user_accounts_email').unique().on('user_accounts').columns(['client_id', 'email_key']).execute();

    // The client system's user ids, each linked to one account (several ids may share one).
    await db.schema
      .createTable('user_ids')
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_ids_pk', ['client_id', 'user_id'])
      .execute();

    await db.schema
      .createTable('registrations')
      .addColumn('rid', 'text', (c) => c.primaryKey())
      .addColumn('task_id', 'text', (c) => c.notNull().unique())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('user_email', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('title', 'text')
      .addColumn('description', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('blob_id', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha1', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      /** The RFC 3161 TimeStampToken, DER as base64 (a few KB). */
      .addColumn('timestamp_token', 'text', (c) => c.notNull())
      .addColumn('tsa', 'text', (c) => c.notNull())
      /** The token's genTime. */
      .addColumn('registered_at', 'bigint', (c) => c.notNull())
      /** URL registrations: final URL, redirects, status, response headers and their own token (JSON). */
      .addColumn('capture_json', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // Dedupe: the same bytes by the same account are one registration, even under concurrent tasks.
    await db.schema
      .createIndex('registrations_account_sha256')
      .unique()
      .on('registrations')
      .columns(['client_id', 'account_id', 'sha256'])
      .execute();
    // CheckRegistrationByDataHash.
    await db.schema.createIndex('registrations_sha256').on('registrations').columns(['client_id', 'sha256']).execute();
    await db.schema.createIndex('registrations_sha1').on('registrations').columns(['client_id', 'sha1']).execute();
    await db.schema.createIndex('registrations_user').on('registrations').columns(['client_id', 'user_id']).execute();

    // Messages waiting to be sent; an SMTP outage only delays them (retried with backoff).
    await db.schema
      .createTable('mail_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('recipient', 'text', (c) => c.notNull())
      /** The whole RFC 5322 message; emptied once sent (it holds a generated password). */
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .execute();
    await db.schema.createIndex('mail_outbox_due').on('mail_outbox').columns(['status', 'next_attempt_at']).execute();
  },
};
