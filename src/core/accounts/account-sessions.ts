import { createHash, randomBytes } from 'node:crypto';
import { hashSecret, verifySecret } from '../../config/secret-hash.js';
import { currentTimeMs } from '../../util/clock.js';
import type { CoreContext } from '../core-context.js';
import { emailKey } from '../users/resolve-user.js';

/** A logged-in end user, as the account pages need them. */
export interface AccountSession {
  /** SHA-256 of the cookie's session id: what the store knows the session by. */
  idHash: string;
  accountId: string;
  /** The client service the account belongs to (API.md §11: one account, one client). */
  clientId: string;
  email: string;
  /** Every form of the session carries it (CSRF). */
  csrfToken: string;
  expiresAt: number;
}

export type LoginResult =
  | { ok: true; sessionId: string; session: AccountSession }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; until: number };

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** A few typos never lock anyone out; this many failures in a row always do (API.md §11). */
export const FAILURES_BEFORE_LOCK = 20;
/**
 * Per client IP the bar is higher: many people may share one address (an office behind NAT), and a
 * success from it takes back only its own attempt, so that an attacker with an account of their own
 * cannot clear the count of their guesses at other addresses.
 */
export const FAILURES_FROM_ONE_IP_BEFORE_LOCK = 100;
export const LOCK_MS = 15 * 60 * 1000;

/** Checked when no account has the address, so that the time taken does not tell whether one does. */
let dummyHash: Promise<string> | undefined;

/**
 * Counts one attempt against the address and the client IP (see logIn); `succeeded()` clears the
 * address's count and takes the attempt back from the IP's.
 */
export async function countAttempt(context: CoreContext, email: string, ip: string, now: number) {
  const accounts = context.store.accounts;
  const addressKey = `email:${emailKey(email)}`;
  const ipKey = `ip:${ip}`;
  const address = await accounts.countLoginAttempt(addressKey, now, FAILURES_BEFORE_LOCK, LOCK_MS);
  const network = await accounts.countLoginAttempt(ipKey, now, FAILURES_FROM_ONE_IP_BEFORE_LOCK, LOCK_MS);
  const refused = [address.refusedUntil, network.refusedUntil].filter((until): until is number => until !== undefined);
  return {
    refusedUntil: refused.length ? Math.max(...refused) : undefined,
    async succeeded() {
      await accounts.clearLoginFailures([addressKey]);
      await accounts.forgiveLoginAttempt(ipKey, network.lockedNow);
    },
  };
}

/**
 * Logs a user in with the e-mailed (or since chosen) password. Attempts count per address and per
 * client IP in the store (so across instances), before the password is checked (so concurrent guesses
 * count too); at FAILURES_BEFORE_LOCK in a row a key is locked for LOCK_MS and refused before any
 * password is checked. A success clears the address's count and takes its own attempt back from the
 * IP's (another address's guesses from that IP still count). The same address may have accounts under
 * several client services: the one whose password matches opens. Every candidate's hash is checked,
 * and a dummy one when there is none.
 */
export async function logIn(context: CoreContext, credentials: { email: string; password: string; ip: string }): Promise<LoginResult> {
  const accounts = context.store.accounts;
  const now = currentTimeMs();
  const attempt = await countAttempt(context, credentials.email, credentials.ip, now);
  if (attempt.refusedUntil !== undefined) return { ok: false, reason: 'locked', until: attempt.refusedUntil };

  const candidates = credentials.email.trim() === '' ? [] : await accounts.findAccountsByEmail(emailKey(credentials.email));
  let match: (typeof candidates)[number] | undefined;
  for (const account of candidates) {
    if ((await verifySecret(account.password_hash, credentials.password)) && !match) match = account;
  }
  if (candidates.length === 0) await verifySecret(await (dummyHash ??= hashSecret(randomBytes(16).toString('hex'))), credentials.password);
  if (!match) return { ok: false, reason: 'invalid' };
  await attempt.succeeded();
  const sessionId = randomBytes(32).toString('base64url');
  const session: AccountSession = {
    idHash: hashOf(sessionId),
    accountId: match.id,
    clientId: match.client_id,
    email: match.email,
    csrfToken: randomBytes(24).toString('base64url'),
    expiresAt: now + SESSION_TTL_MS,
  };
  await accounts.createSession({ id_hash: session.idHash, account_id: session.accountId, csrf_token: session.csrfToken, created_at: now, expires_at: session.expiresAt });
  return { ok: true, sessionId, session };
}

/** The session a cookie names, while it is current and its account exists. */
export async function resolveSession(context: CoreContext, sessionId: string | undefined): Promise<AccountSession | undefined> {
  if (!sessionId || sessionId.length > 100) return undefined;
  const idHash = hashOf(sessionId);
  const row = await context.store.accounts.findSession(idHash, currentTimeMs());
  if (!row) return undefined;
  const account = await context.store.accounts.findAccount(row.account_id);
  if (!account) return undefined;
  return { idHash, accountId: account.id, clientId: account.client_id, email: account.email, csrfToken: row.csrf_token, expiresAt: row.expires_at };
}

export async function logOut(context: CoreContext, session: AccountSession): Promise<void> {
  await context.store.accounts.deleteSession(session.idHash);
}

/** Session ids and reset tokens are stored as their SHA-256: the database alone opens nothing. */
export function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
