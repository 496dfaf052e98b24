import type { Kysely, Selectable } from 'kysely';
import type { AccountSessionTable, Database, UserAccountTable } from './schema.js';
import type { RegistrationRow } from './registration-repository.js';

export type AccountSessionRow = Selectable<AccountSessionTable>;
type UserAccountRow = Selectable<UserAccountTable>;

/**
 * What the end-user account pages keep (API.md §11): sessions, single-use reset links and the count
 * of failed logins in a row. Every statement is one round trip guarded by its WHERE clause, so two
 * instances answering the same user at once cannot both use one reset link.
 */
export class AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A login names an e-mail only: its accounts under every client service. */
  async findAccountsByEmail(emailKey: string): Promise<UserAccountRow[]> {
    return this.db.selectFrom('user_accounts').selectAll().where('email_key', '=', emailKey).orderBy('created_at').execute();
  }

  async findAccount(accountId: string): Promise<UserAccountRow | undefined> {
    return this.db.selectFrom('user_accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
  }

  async setPasswordHash(accountId: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('user_accounts').set({ password_hash: passwordHash }).where('id', '=', accountId).execute();
  }

  async createSession(row: AccountSessionRow): Promise<void> {
    await this.db.insertInto('account_sessions').values(row).execute();
  }

  async findSession(idHash: string, now: number): Promise<AccountSessionRow | undefined> {
    return this.db.selectFrom('account_sessions').selectAll().where('id_hash', '=', idHash).where('expires_at', '>', now).executeTakeFirst();
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('account_sessions').where('id_hash', '=', idHash).execute();
  }

  /** After a password change or reset: every other session of the account ends. */
  async deleteSessionsOfAccount(accountId: string, except?: string): Promise<void> {
    let query = this.db.deleteFrom('account_sessions').where('account_id', '=', accountId);
    if (except !== undefined) query = query.where('id_hash', '!=', except);
    await query.execute();
  }

  async createPasswordReset(row: { token_hash: string; account_id: string; created_at: number; expires_at: number }): Promise<void> {
    await this.db.insertInto('password_resets').values({ ...row, used_at: null }).execute();
  }

  async latestPasswordResetAt(accountId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('password_resets')
      .select((eb) => eb.fn.max('created_at').as('at'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row?.at == null ? undefined : Number(row.at);
  }

  /** The reset link's account while it is unused and current; nothing is changed. */
  async findUsablePasswordReset(tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('password_resets')
      .select('account_id')
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row?.account_id;
  }

  /** Uses the link: of two requests with the same token, exactly one gets the account id. */
  async usePasswordReset(tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.db
      .updateTable('password_resets')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('account_id')
      .executeTakeFirst();
    return row?.account_id;
  }

  /**
   * Counts a login attempt against `key` *before* its password is checked, so that concurrent guesses
   * meet the limit as sequential ones do. One statement: the attempt that brings the failures
   * in a row to `threshold` locks the key until `now + lockMs` (and is still checked: `lockedNow`);
   * while the lock holds, attempts are counted and refused (`refusedUntil`); once it has passed, the
   * count restarts at `threshold`, so the next attempt is checked and, if wrong, locks again. The
   * returned count tells each attempt which it was, whatever the clock says.
   */
  async countLoginAttempt(key: string, now: number, threshold: number, lockMs: number): Promise<{ refusedUntil?: number; lockedNow: boolean }> {
    const row = await this.db
      .insertInto('login_failures')
      .values({ key, failures: 1, locked_until: threshold <= 1 ? now + lockMs : null, updated_at: now })
      .onConflict((conflict) =>
        conflict.column('key').doUpdateSet((eb) => {
          const lockHolds = eb('login_failures.locked_until', '>', now);
          return {
            // Every SET expression reads the row as it was (SQLite and PostgreSQL alike).
            failures: eb
              .case()
              .when(eb.and([eb('login_failures.failures', '>=', threshold), eb.not(lockHolds)]))
              .then(threshold)
              .else(eb('login_failures.failures', '+', 1))
              .end(),
            locked_until: eb
              .case()
              .when(lockHolds)
              .then(eb.ref('login_failures.locked_until'))
              .when(eb('login_failures.failures', '+', 1), '>=', threshold)
              .then(now + lockMs)
              .else(eb.ref('login_failures.locked_until'))
              .end(),
            updated_at: now,
          };
        }),
      )
      .returning(['failures', 'locked_until'])
      .executeTakeFirstOrThrow();
    const failures = Number(row.failures);
    return { lockedNow: failures === threshold, ...(failures > threshold && { refusedUntil: Number(row.locked_until) }) };
  }

  /** A successful attempt does not count against a shared key (a client IP): its count, and the lock if it set it, are taken back. */
  async forgiveLoginAttempt(key: string, lockedByIt: boolean): Promise<void> {
    await this.db
      .updateTable('login_failures')
      .set((eb) => ({
        failures: eb.case().when('failures', '>', 0).then(eb('failures', '-', 1)).else(0).end(),
        ...(lockedByIt && { locked_until: null }),
      }))
      .where('key', '=', key)
      .execute();
  }

  async clearLoginFailures(keys: readonly string[]): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', 'in', [...keys]).execute();
  }

  /** After a password change or a completed reset, no other link of the account works. */
  async deletePasswordResets(accountId: string): Promise<void> {
    await this.db.deleteFrom('password_resets').where('account_id', '=', accountId).execute();
  }

  /** An account's registrations, newest first; `before` continues after the last one of a page. */
  async listRegistrations(accountId: string, options: { limit: number; before?: { registeredAt: number; rid: string } }): Promise<RegistrationRow[]> {
    let query = this.db.selectFrom('registrations').selectAll().where('account_id', '=', accountId);
    const before = options.before;
    if (before) {
      query = query.where((eb) =>
        eb.or([eb('registered_at', '<', before.registeredAt), eb.and([eb('registered_at', '=', before.registeredAt), eb('rid', '<', before.rid)])]),
      );
    }
    return query.orderBy('registered_at', 'desc').orderBy('rid', 'desc').limit(options.limit).execute();
  }

  async findRegistration(accountId: string, rid: string): Promise<RegistrationRow | undefined> {
    return this.db.selectFrom('registrations').selectAll().where('account_id', '=', accountId).where('rid', '=', rid).executeTakeFirst();
  }

  /** Housekeeping: sessions, used or stale reset links and old failure counts that nothing will read again. */
  async deleteExpired(now: number, failuresOlderThan: number): Promise<number> {
    const sessions = await this.db.deleteFrom('account_sessions').where('expires_at', '<=', now).executeTakeFirst();
    const resets = await this.db
      .deleteFrom('password_resets')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('used_at', 'is not', null)]))
      .executeTakeFirst();
    const failures = await this.db
      .deleteFrom('login_failures')
      .where('updated_at', '<', failuresOlderThan)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .executeTakeFirst();
    return Number(sessions.numDeletedRows) + Number(resets.numDeletedRows) + Number(failures.numDeletedRows);
  }
}

