import type { Readable } from 'node:stream';
import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { snapshotBlobKey } from './register-url-handler.js';
import { toRegistration, type Registration } from './registration.js';
import { parseRid } from './rid.js';
import { contentBlobKey } from './stage-content.js';

/** GetRegistrationInfo: a mistyped RID is `invalid_rid` (400), another client's or an unknown one `not_found`. */
export async function getRegistration(context: CoreContext, client: ClientIdentity, ridInput: string): Promise<Registration> {
  const rid = parseRid(ridInput);
  const row = await context.store.registrations.findByRid(client.id, rid);
  if (!row) throw new SignetError('not_found', `No registration ${rid} for this client service`);
  return toRegistration(row);
}

/** The public page: any registration by RID, without authentication (only public fields are shown). */
export async function getPublicRegistration(context: CoreContext, ridInput: string): Promise<Registration> {
  const rid = parseRid(ridInput);
  const row = await context.store.registrations.findByRidForPublic(rid);
  if (!row) throw new SignetError('not_found', `No registration ${rid}`);
  return toRegistration(row);
}

const hexOf = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);

/** CheckRegistrationByDataHash: exactly one of `sha1` (40 hex) or `sha256` (64 hex), within the client. */
export async function findRegistrationsByHash(
  context: CoreContext,
  client: ClientIdentity,
  query: { sha1?: string; sha256?: string },
): Promise<Registration[]> {
  const sha1 = query.sha1?.toLowerCase();
  const sha256 = query.sha256?.toLowerCase();
  if ((sha1 === undefined) === (sha256 === undefined)) {
    throw new SignetError('invalid_request', 'Give exactly one of sha1 or sha256', { field: sha1 === undefined ? 'sha256' : 'sha1' });
  }
  if (sha1 !== undefined && !hexOf(40).test(sha1)) throw new SignetError('invalid_request', 'sha1 must be 40 hex digits', { field: 'sha1' });
  if (sha256 !== undefined && !hexOf(64).test(sha256)) throw new SignetError('invalid_request', 'sha256 must be 64 hex digits', { field: 'sha256' });
  return (await context.store.registrations.findByHash(client.id, { sha1, sha256 })).map(toRegistration);
}

export function openRegisteredContent(context: CoreContext, registration: Registration): Readable {
  return context.store.blobs.createReadStream(contentBlobKey(registration.contentId));
}

/** A URL registration's browser snapshot (--capture-browser), else not_found. */
export function openSnapshot(context: CoreContext, registration: Registration, kind: 'pdf' | 'png'): { stream: Readable; size: number } {
  const file = registration.capture?.snapshot?.[kind];
  if (!file) throw new SignetError('not_found', `Registration ${registration.rid} has no browser snapshot`);
  return { stream: context.store.blobs.createReadStream(snapshotBlobKey(kind, registration.contentId)), size: file.size };
}
