import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';

export interface UserInfo {
  userId: string;
  email: string;
  createdAt: number;
  registrationCount: number;
}

/**
 * GetUser: the account a client's user id is linked to. `createdAt` is the account's creation,
 * `registrationCount` counts the account's registrations (under every user id linked to it).
 */
export async function getUser(context: CoreContext, client: ClientIdentity, userId: string): Promise<UserInfo> {
  const user = await context.store.users.findUserId(client.id, userId);
  if (!user) throw new SignetError('not_found', `No user ${userId} for this client service`);
  return {
    userId: user.user_id,
    email: user.email,
    createdAt: user.account_created_at,
    registrationCount: await context.store.registrations.countForAccount(client.id, user.account_id),
  };
}
