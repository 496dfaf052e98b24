import { timestampWithSource } from '../../crypto/tsp/timestamp-client.js';
import { SignetError } from '../../errors/signet-error.js';
import type { RegistrationRow } from '../../store/registration-repository.js';
import type { RegistrationKind } from '../../store/schema.js';
import type { TaskRow } from '../../store/task-queue.js';
import type { CoreContext } from '../core-context.js';
import { generateRid } from './rid.js';
import { contentBlobKey, type StagedContent } from './stage-content.js';
import { tokenFacts } from './token-facts.js';
import { currentTimeMs } from '../../util/clock.js';

/** What a register-* task's result_json holds: GetTaskInfo's `rid`. */
export interface RegistrationResult {
  rid: string;
  /** True when these bytes were already registered by this user: the existing RID is answered. */
  existing?: boolean;
}

export interface ContentToRegister extends StagedContent {
  kind: RegistrationKind;
  name: string;
  contentType: string;
  url: string | null;
  userId: string;
  userEmail: string;
  title: string | null;
  description: string | null;
  /** URL captures: more evidence (headers and their token), obtained only for a new registration. */
  capture?: () => Promise<string>;
}

/**
 * The common end of every registration: answer the existing RID when this account registered these
 * bytes before, else obtain an RFC 3161 token over the content's SHA-256 and store the registration
 * under a fresh RID. The (client, account, sha256) unique index keeps concurrent duplicates out;
 * a registration already made by this task (a replay) is found by its task id.
 */
export async function recordRegistration(
  context: CoreContext,
  task: TaskRow,
  accountId: string,
  content: ContentToRegister,
): Promise<RegistrationResult> {
  const { registrations, blobs } = context.store;
  // A replay finds what this task registered; otherwise this account may have registered these bytes.
  const earlier = await registrations.findByTaskOrAccountAndSha256(task.id, task.client_id, accountId, content.sha256);
  if (earlier?.task_id === task.id) return { rid: earlier.rid };
  if (earlier) return answerExisting(context, earlier, content.blobId);

  if (!(await blobs.exists(contentBlobKey(content.blobId)))) {
    throw new SignetError('internal_error', `The staged content of task ${task.id} is missing`);
  }
  const digest = Buffer.from(content.sha256, 'hex');
  const { token, tsa } = await timestampWithSource(context.timestamps, digest, 'sha256');
  const info = tokenFacts(token);
  if (!info.digest.equals(digest)) {
    throw new SignetError('tsa_failed', 'The time-stamp token does not cover the content’s SHA-256', { transient: true });
  }
  const captureJson = content.capture ? await content.capture() : null;
  for (let draw = 0; draw < 5; draw++) {
    const outcome = await registrations.insert({
      rid: generateRid(),
      task_id: task.id,
      client_id: task.client_id,
      account_id: accountId,
      user_id: content.userId,
      user_email: content.userEmail,
      kind: content.kind,
      title: content.title,
      description: content.description,
      name: content.name,
      url: content.url,
      content_type: content.contentType,
      blob_id: content.blobId,
      size: content.size,
      sha1: content.sha1,
      sha256: content.sha256,
      timestamp_token: token.toString('base64'),
      tsa,
      registered_at: info.genTime.getTime(),
      capture_json: captureJson,
      created_at: currentTimeMs(),
    });
    if ('inserted' in outcome) return { rid: outcome.inserted.rid };
    if ('duplicate' in outcome) {
      return outcome.duplicate.task_id === task.id ? { rid: outcome.duplicate.rid } : answerExisting(context, outcome.duplicate, content.blobId);
    }
    // A RID collision (2^-60 per pair): draw again.
  }
  throw new SignetError('internal_error', 'No free RID after five draws');
}

/** Dedupe: the bytes are the user's already; the staged copy is not needed. */
async function answerExisting(context: CoreContext, existing: RegistrationRow, stagedBlobId: string): Promise<RegistrationResult> {
  if (existing.blob_id !== stagedBlobId) await context.store.blobs.delete(contentBlobKey(stagedBlobId)).catch(() => {});
  return { rid: existing.rid, existing: true };
}
