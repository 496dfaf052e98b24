import type { Readable } from 'node:stream';
import { SignetError } from '../../errors/signet-error.js';
import type { RegistrationRow } from '../../store/registration-repository.js';
import type { TaskRow } from '../../store/task-queue.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { parseRid } from './rid.js';
import { contentBlobKey } from './stage-content.js';

/** GetRegistrationInfo: a mistyped RID is `invalid_rid` (400), another client's or an unknown one `not_found`. */
export async function getRegistration(context: CoreContext, client: ClientIdentity, ridInput: string): Promise<RegistrationRow> {
  const rid = parseRid(ridInput);
  const row = await context.store.registrations.findByRid(client.id, rid);
  if (!row) throw new SignetError('not_found', `No registration ${rid} for this client service`);
  return row;
}

/** The public page: any registration by RID, without authentication (only public fields are shown). */
export async function getPublicRegistration(context: CoreContext, ridInput: string): Promise<RegistrationRow> {
  const rid = parseRid(ridInput);
  const row = await context.store.registrations.findByRidForPublic(rid);
  if (!row) throw new SignetError('not_found', `No registration ${rid}`);
  return row;
}

const hexOf = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);

/** CheckRegistrationByDataHash: exactly one of `sha1` (40 hex) or `sha256` (64 hex), within the client. */
export async function findRegistrationsByHash(
  context: CoreContext,
  client: ClientIdentity,
  query: { sha1?: string; sha256?: string },
): Promise<RegistrationRow[]> {
  const sha1 = query.sha1?.toLowerCase();
  const sha256 = query.sha256?.toLowerCase();
  if ((sha1 === undefined) === (sha256 === undefined)) {
    throw new SignetError('invalid_request', 'Give exactly one of sha1 or sha256', { field: sha1 === undefined ? 'sha256' : 'sha1' });
  }
  if (sha1 !== undefined && !hexOf(40).test(sha1)) throw new SignetError('invalid_request', 'sha1 must be 40 hex digits', { field: 'sha1' });
  if (sha256 !== undefined && !hexOf(64).test(sha256)) throw new SignetError('invalid_request', 'sha256 must be 64 hex digits', { field: 'sha256' });
  return context.store.registrations.findByHash(client.id, { sha1, sha256 });
}

export function openRegisteredContent(context: CoreContext, registration: RegistrationRow): Readable {
  return context.store.blobs.createReadStream(contentBlobKey(registration.blob_id));
}

/** GetTaskInfo's `rid`: what a finished register-* task produced. */
export function ridOfTask(task: Pick<TaskRow, 'kind' | 'result_json'>): string | undefined {
  if (task.kind === 'sign' || !task.result_json) return undefined;
  try {
    const rid = (JSON.parse(task.result_json) as { rid?: unknown }).rid;
    return typeof rid === 'string' ? rid : undefined;
  } catch {
    return undefined;
  }
}
