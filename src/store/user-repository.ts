import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, MailOutboxTable, UserAccountTable, UserIdTable } from './schema.js';
import { compiledQuery } from './compiled-query.js';
import { currentTimeMs } from '../util/clock.js';

export type UserAccountRow = Selectable<UserAccountTable>;
export type UserIdRow = Selectable<UserIdTable>;
export type MailRow = Selectable<MailOutboxTable>;

/** What a new account brings along: its first user id and the e-mail that tells it its password. */
export interface NewAccount {
  account: Insertable<UserAccountTable>;
  userId: Insertable<UserIdTable>;
  mail: Insertable<MailOutboxTable>;
}

const ACCOUNT_CACHE_SIZE = 10_000;

/** Step 1 of every registration's user algorithm: compiled once (compiled-query.ts). */
const selectUserId = compiledQuery((db: Kysely<Database>, p: { clientId: string; userId: string }) =>
  db
    .selectFrom('user_ids')
    .innerJoin('user_accounts', 'user_accounts.id', 'user_ids.account_id')
    .selectAll('user_ids')
    .select(['user_accounts.email as email', 'user_accounts.created_at as account_created_at'])
    .where('user_ids.client_id', '=', p.clientId)
    .where('user_ids.user_id', '=', p.userId),
);

/**
 * User accounts and the client systems' user ids linked to them (API.md §4), scoped by client id.
 * Each write is one transaction guarded by a unique index, so two registrations racing for the same
 * new user end with one account and one e-mail: the loser sees a unique violation and reads again.
 */
export class UserRepository {
  /**
   * client id + user id → account id. A user id, once linked, is never linked elsewhere (rows of
   * `user_ids` are only ever inserted), so what any instance read stays true: most registrations come
   * from users seen before, and their lookup is one round trip fewer (bench/registrations.ts).
   */
  readonly #accountOfUser = new Map<string, string>();

  constructor(private readonly db: Kysely<Database>) {}

  /** The account a user id is linked to (step 1 of the user algorithm), from memory when seen before. */
  async accountIdOfUser(clientId: string, userId: string): Promise<string | undefined> {
    const key = `${clientId}\u0000${userId}`;
    const known = this.#accountOfUser.get(key);
    if (known !== undefined) return known;
    const row = (await selectUserId(this.db, { clientId, userId })).rows[0];
    if (row) {
      // Bounded: the oldest entry goes first (Map keeps insertion order).
      if (this.#accountOfUser.size >= ACCOUNT_CACHE_SIZE) this.#accountOfUser.delete(this.#accountOfUser.keys().next().value!);
      this.#accountOfUser.set(key, row.account_id);
    }
    return row?.account_id;
  }

  async findUserId(clientId: string, userId: string): Promise<(UserIdRow & { email: string; account_created_at: number }) | undefined> {
    return (await selectUserId(this.db, { clientId, userId })).rows[0];
  }

  async findAccountByEmail(clientId: string, emailKey: string): Promise<UserAccountRow | undefined> {
    return this.db
      .selectFrom('user_accounts')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('email_key', '=', emailKey)
      .executeTakeFirst();
  }

  async linkUserId(row: Insertable<UserIdTable>): Promise<void> {
    await this.db.insertInto('user_ids').values(row).execute();
  }

  /** The account, its first user id and its welcome e-mail: all or nothing. */
  async createAccount(created: NewAccount): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('user_accounts').values(created.account).execute();
      await trx.insertInto('user_ids').values(created.userId).execute();
      await trx.insertInto('mail_outbox').values(created.mail).execute();
    });
  }

  async countAccounts(clientId: string): Promise<number> {
    const row = await this.db
      .selectFrom('user_accounts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

/** A message for the outbox, due now (the sender takes it from there). */
export function pendingMail(mail: { id: string; clientId: string; recipient: string; message: string; now: number }): Insertable<MailOutboxTable> {
  return {
    id: mail.id,
    client_id: mail.clientId,
    recipient: mail.recipient,
    message: mail.message,
    status: 'PENDING',
    attempts: 0,
    next_attempt_at: mail.now,
    lease_until: null,
    last_error: null,
    created_at: mail.now,
    sent_at: null,
  };
}

/**
 * The mail outbox: a small queue. A sender claims a due message with a lease (the lease time is
 * the claim's token), marks it sent — emptying the message, which holds a password — or schedules
 * another attempt. A crashed sender's lease expires and the message is due again.
 */
export class MailOutboxRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(row: Insertable<MailOutboxTable>): Promise<void> {
    await this.db.insertInto('mail_outbox').values(row).execute();
  }

  async claimDue(leaseMs: number, now = currentTimeMs()): Promise<MailRow | undefined> {
    const due = (await this.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('status', '=', 'PENDING')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst()) as { id: string } | undefined;
    if (!due) return undefined;
    // The conditions again in the UPDATE: of two senders that picked the same row, one gets it.
    return this.db
      .updateTable('mail_outbox')
      .set({ lease_until: now + leaseMs })
      .where('id', '=', due.id)
      .where('status', '=', 'PENDING')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .returningAll()
      .executeTakeFirst();
  }

  async markSent(mail: MailRow, now = currentTimeMs()): Promise<void> {
    await this.db
      .updateTable('mail_outbox')
      .set((eb) => ({ status: 'SENT', message: '', sent_at: now, lease_until: null, attempts: eb('attempts', '+', 1), last_error: null }))
      .where('id', '=', mail.id)
      .where('lease_until', '=', mail.lease_until)
      .execute();
  }

  async retryLater(mail: MailRow, at: number, error: string): Promise<void> {
    await this.db
      .updateTable('mail_outbox')
      .set((eb) => ({ next_attempt_at: at, lease_until: null, attempts: eb('attempts', '+', 1), last_error: error.slice(0, 500) }))
      .where('id', '=', mail.id)
      .where('lease_until', '=', mail.lease_until)
      .execute();
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('mail_outbox')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('status', '=', 'PENDING')
      .executeTakeFirst();
    return row?.at == null ? undefined : Number(row.at);
  }

  async listForRecipient(clientId: string, recipient: string): Promise<MailRow[]> {
    return this.db
      .selectFrom('mail_outbox')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('recipient', '=', recipient)
      .orderBy('created_at')
      .execute();
  }
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  // PostgreSQL unique_violation; better-sqlite3's constraint codes.
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
