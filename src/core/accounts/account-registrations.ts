import { SignetError } from '../../errors/signet-error.js';
import type { CoreContext } from '../core-context.js';
import { toRegistration, type Registration } from '../registrations/registration.js';
import { parseRid } from '../registrations/rid.js';
import type { AccountSession } from './account-sessions.js';

const PAGE_SIZE = 20;

/** A page of the user's registrations, newest first; `nextCursor` continues after its last one. */
export async function listAccountRegistrations(
  context: CoreContext,
  session: AccountSession,
  cursor?: string,
): Promise<{ items: Registration[]; nextCursor: string | null }> {
  const before = cursor ? parseCursor(cursor) : undefined;
  const rows = await context.store.accounts.listRegistrations(session.accountId, { limit: PAGE_SIZE, before });
  const items = rows.map(toRegistration);
  const last = items.at(-1);
  return { items, nextCursor: items.length === PAGE_SIZE && last ? Buffer.from(`${last.registeredAt}.${last.rid}`).toString('base64url') : null };
}

/** One of the user's own registrations (for its downloads); anyone else's is not_found. */
export async function getAccountRegistration(context: CoreContext, session: AccountSession, ridInput: string): Promise<Registration> {
  const rid = parseRid(ridInput);
  const row = await context.store.accounts.findRegistration(session.accountId, rid);
  if (!row) throw new SignetError('not_found', `No registration ${rid} in this account`);
  return toRegistration(row);
}

function parseCursor(cursor: string): { registeredAt: number; rid: string } {
  const match = /^(\d{1,15})\.([0-9A-Z*~$=U-]{14,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new SignetError('invalid_request', 'The page link is damaged; go back to the first page', { field: 'after' });
  return { registeredAt: Number(match[1]), rid: match[2] };
}
