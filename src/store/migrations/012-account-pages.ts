import type { Migration } from './migration.js';

/**
 * The end-user account pages (API.md §11): sessions and single-use password-reset links live in the
 * database, so that any instance on PostgreSQL answers a user who logged in through another; failed
 * logins are counted there too, so that "20 failures in a row" holds across instances. Only hashes of
 * session ids and reset tokens are stored: reading the database does not let anyone log in.
 */
export const accountPages: Migration = {
  version: 12,
  name: 'account pages: sessions, password resets, failed logins',
  async up(db) {
    await db.schema
      .createTable('account_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('account_sessions_account').on('account_sessions').column('account_id').execute();
    await db.schema.createIndex('account_sessions_expiry').on('account_sessions').column('expires_at').execute();

    await db.schema
      .createTable('password_resets')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('password_resets_account').on('password_resets').columns(['account_id', 'created_at']).execute();

    await db.schema
      .createTable('login_failures')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('locked_until', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    // A login names an e-mail, not a client service: the accounts of every client with that address.
    await db.schema.createIndex('user_accounts_email_key').on('user_accounts').column('email_key').execute();
    // GET /account: an account's registrations, newest first.
    await db.schema.createIndex('registrations_account_time').on('registrations').columns(['account_id', 'registered_at']).execute();
  },
};
