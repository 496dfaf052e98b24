import { randomInt } from 'node:crypto';
import { hashSecret } from '../../config/secret-hash.js';
import { SignetError } from '../../errors/signet-error.js';
import { composeMessage } from '../../mail/mail-message.js';
import { isUniqueViolation, pendingMail } from '../../store/user-repository.js';
import { uuid7 } from '../../util/uuid7.js';
import type { CoreContext } from '../core-context.js';
import { currentTimeMs } from '../../util/clock.js';
import { welcomeMail } from '../accounts/account-mail.js';
import { publicBaseUrl } from '../registrations/registration-settings.js';

export interface ResolvedUser {
  accountId: string;
  /** Which step of API.md §4 decided: 1 known user id, 2 linked by e-mail, 3 new account. */
  step: 1 | 2 | 3;
}

/** No 0/O, 1/l/I: the password is read from an e-mail and typed by a person. */
const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const PASSWORD_LENGTH = 16;

export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The user algorithm of API.md §4, per client service:
 * 1. a known `userId` → its account (the registration records the e-mail given now);
 * 2. else an account with that e-mail → link the `userId` to it, no second account, no e-mail;
 * 3. else a new account, login = e-mail, a generated password stored only as a scrypt hash and sent
 *    to the user through the mail outbox (in the same transaction, so exactly one e-mail per account).
 * Concurrent registrations for the same new user meet on unique indexes; the loser starts over and
 * takes step 1 or 2.
 */
export async function resolveUser(context: CoreContext, clientId: string, userId: string, userEmail: string): Promise<ResolvedUser> {
  const users = context.store.users;
  for (let round = 0; round < 3; round++) {
    const known = await users.accountIdOfUser(clientId, userId);
    if (known) return { accountId: known, step: 1 };

    const key = emailKey(userEmail);
    const account = await users.findAccountByEmail(clientId, key);
    const now = currentTimeMs();
    try {
      if (account) {
        await users.linkUserId({ client_id: clientId, user_id: userId, account_id: account.id, created_at: now });
        return { accountId: account.id, step: 2 };
      }
      const accountId = uuid7(now);
      const password = generatePassword();
      const settings = context.registrations;
      await users.createAccount({
        account: { id: accountId, client_id: clientId, email: userEmail.trim(), email_key: key, password_hash: await hashSecret(password), created_at: now },
        userId: { client_id: clientId, user_id: userId, account_id: accountId, created_at: now },
        mail: pendingMail({
          id: uuid7(now),
          clientId,
          recipient: userEmail.trim(),
          message: composeMessage({ from: settings.mailFrom, to: userEmail.trim(), ...welcomeMail(userEmail.trim(), password, publicBaseUrl(settings, context.host)) }),
          now,
        }),
      });
      settings.onMailQueued();
      return { accountId, step: 3 };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Another registration created the user id or the account meanwhile: look again.
    }
  }
  throw new SignetError('internal_error', `The user ${userId} could not be resolved`, { transient: true });
}

function generatePassword(): string {
  let password = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}
