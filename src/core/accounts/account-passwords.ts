import { randomBytes } from 'node:crypto';
import { hashSecret, verifySecret } from '../../config/secret-hash.js';
import { SignetError } from '../../errors/signet-error.js';
import { composeMessage } from '../../mail/mail-message.js';
import { pendingMail } from '../../store/user-repository.js';
import { currentTimeMs } from '../../util/clock.js';
import { uuid7 } from '../../util/uuid7.js';
import type { CoreContext } from '../core-context.js';
import { publicBaseUrl } from '../registrations/registration-settings.js';
import { emailKey } from '../users/resolve-user.js';
import { passwordResetMail } from './account-mail.js';
import { countAttempt, hashOf, type AccountSession } from './account-sessions.js';

export const RESET_VALID_MS = 60 * 60 * 1000;
/** One reset e-mail per account per minute, whatever is asked: nobody's mailbox is flooded through us. */
const RESET_MIN_INTERVAL_MS = 60 * 1000;
const MIN_PASSWORD_LENGTH = 10;
const MAX_PASSWORD_LENGTH = 200;

export function checkNewPassword(password: string, confirmation: string): void {
  if (password !== confirmation) throw new SignetError('invalid_request', 'The two new passwords differ', { field: 'password' });
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new SignetError('invalid_request', `A password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
  }
}

/** Changes the password (the current one is required); every other session of the account ends. */
export async function changePassword(context: CoreContext, session: AccountSession, change: { current: string; password: string; confirmation: string; ip: string }): Promise<void> {
  const accounts = context.store.accounts;
  const account = await accounts.findAccount(session.accountId);
  if (!account) throw new SignetError('unauthorized', 'The account no longer exists');
  // The current password is guessed like a login: the same counts and locks (a stolen session cannot guess freely).
  const attempt = await countAttempt(context, account.email, change.ip, currentTimeMs());
  if (attempt.refusedUntil !== undefined) {
    throw new SignetError('too_many_failed_attempts', `Too many wrong passwords in a row; try again after ${new Date(attempt.refusedUntil).toISOString()}`);
  }
  if (!(await verifySecret(account.password_hash, change.current))) {
    throw new SignetError('invalid_credentials', 'The current password is wrong', { field: 'current' });
  }
  await attempt.succeeded();
  checkNewPassword(change.password, change.confirmation);
  if (change.password === change.current) throw new SignetError('invalid_request', 'The new password is the current one', { field: 'password' });
  await accounts.setPasswordHash(account.id, await hashSecret(change.password));
  await accounts.deleteSessionsOfAccount(account.id, session.idHash);
  await accounts.deletePasswordResets(account.id);
}

/**
 * Sends a single-use reset link, valid for RESET_VALID_MS, to each account with this address. The
 * caller answers the same whatever happened here, so the answer never tells whether the address exists.
 */
export async function requestPasswordReset(context: CoreContext, email: string): Promise<void> {
  if (email.trim() === '' || email.length > 254) return;
  const now = currentTimeMs();
  const settings = context.registrations;
  for (const account of await context.store.accounts.findAccountsByEmail(emailKey(email))) {
    const latest = await context.store.accounts.latestPasswordResetAt(account.id);
    if (latest !== undefined && now - latest < RESET_MIN_INTERVAL_MS) continue;
    const token = randomBytes(32).toString('base64url');
    await context.store.accounts.createPasswordReset({ token_hash: hashOf(token), account_id: account.id, created_at: now, expires_at: now + RESET_VALID_MS });
    const link = `${publicBaseUrl(settings, context.host)}/account/reset?token=${token}`;
    const message = composeMessage({ from: settings.mailFrom, to: account.email, ...passwordResetMail(account.email, link, RESET_VALID_MS / 60_000) });
    await context.store.mailOutbox.enqueue(pendingMail({ id: uuid7(now), clientId: account.client_id, recipient: account.email, message, now }));
    settings.onMailQueued();
  }
}

/** Whether a reset link can still be used (to show its form, or say it expired). */
export async function isResetTokenUsable(context: CoreContext, token: string): Promise<boolean> {
  if (!token || token.length > 100) return false;
  return (await context.store.accounts.findUsablePasswordReset(hashOf(token), currentTimeMs())) !== undefined;
}

/** Uses the link once: the new password is set, every session of the account ends, failed logins are forgotten. */
export async function completePasswordReset(context: CoreContext, reset: { token: string; password: string; confirmation: string }): Promise<void> {
  checkNewPassword(reset.password, reset.confirmation);
  const invalid = () => new SignetError('reset_link_invalid', 'This reset link has expired or was used already; ask for a new one');
  // The slow hash is computed only for a link that works: a made-up token costs nothing.
  if (!(await isResetTokenUsable(context, reset.token))) throw invalid();
  const passwordHash = await hashSecret(reset.password);
  const accountId = await context.store.accounts.usePasswordReset(hashOf(reset.token), currentTimeMs());
  if (!accountId) throw invalid();
  const account = await context.store.accounts.findAccount(accountId);
  await context.store.accounts.setPasswordHash(accountId, passwordHash);
  await context.store.accounts.deleteSessionsOfAccount(accountId);
  await context.store.accounts.deletePasswordResets(accountId);
  if (account) await context.store.accounts.clearLoginFailures([`email:${account.email_key}`]);
}
