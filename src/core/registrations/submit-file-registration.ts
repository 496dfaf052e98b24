import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { resolveCallbackUrl } from '../deliveries/resolve-callback-url.js';
import { enqueueTask, type SubmitResult } from '../tasks/enqueue-task.js';
import { discardContent, type StagedContent } from './stage-content.js';

/** A file registration as the client describes it; the bytes are staged already. */
export interface FileRegistrationRequest {
  userId: string;
  userEmail: string;
  title?: string;
  description?: string;
  externalReference?: string;
  callbackUrl?: string;
  /** The file's name (from the multipart part or the JSON `name`). */
  name?: string;
  contentType?: string;
}

/** What the handler needs, stored as the task's request_json (never the content itself). */
export interface RegisterFileTaskRequest {
  blobId: string;
  size: number;
  sha1: string;
  sha256: string;
  name: string;
  contentType: string;
  userId: string;
  userEmail: string;
  title: string | null;
  description: string | null;
}

/** The TSA may be down for a while: retried with backoff like signatures. */
const REGISTER_MAX_ATTEMPTS = 10;
const emailPattern = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

/**
 * SubmitFileRegistrationTask: validate, then store the task in one statement (the content is on
 * disk already). The same externalReference with the same content and fields replays the task;
 * with anything else it is a conflict. Staged bytes that no task owns are removed.
 */
export async function submitFileRegistration(
  context: CoreContext,
  client: ClientIdentity,
  request: FileRegistrationRequest,
  staged: StagedContent,
): Promise<SubmitResult> {
  try {
    validate(request);
    const callbackUrl = await resolveCallbackUrl(context, client, request.callbackUrl);
    const taskRequest: RegisterFileTaskRequest = {
      blobId: staged.blobId,
      size: staged.size,
      sha1: staged.sha1,
      sha256: staged.sha256,
      name: request.name?.trim() || 'content',
      contentType: request.contentType?.trim() || 'application/octet-stream',
      userId: request.userId,
      userEmail: request.userEmail.trim(),
      title: request.title ?? null,
      description: request.description ?? null,
    };
    const { blobId: _blobId, ...sameSubmission } = taskRequest;
    const result = await enqueueTask(context, client, {
      kind: 'register-file',
      externalReference: request.externalReference ?? null,
      identity: sameSubmission,
      requestJson: JSON.stringify(taskRequest),
      description: request.description ?? null,
      callbackUrl: callbackUrl ?? null,
      maxAttempts: REGISTER_MAX_ATTEMPTS,
    });
    if (result.replayed) await discardContent(context.store, staged);
    return result;
  } catch (error) {
    await discardContent(context.store, staged);
    throw error;
  }
}

export function validate(request: FileRegistrationRequest): void {
  if (typeof request.userId !== 'string' || request.userId.trim() === '' || request.userId.length > 200) {
    throw new SignetError('invalid_request', 'userId is required: the user’s id in the client system (at most 200 characters)', { field: 'userId' });
  }
  if (typeof request.userEmail !== 'string' || request.userEmail.length > 254 || !emailPattern.test(request.userEmail.trim())) {
    throw new SignetError('invalid_request', 'userEmail is required and must be an e-mail address', { field: 'userEmail' });
  }
  for (const [field, max] of [['title', 500], ['description', 5000], ['externalReference', 200], ['name', 500], ['contentType', 200]] as const) {
    const value = request[field];
    if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
      throw new SignetError('invalid_request', `${field} must be a string of at most ${max} characters`, { field });
    }
  }
}
