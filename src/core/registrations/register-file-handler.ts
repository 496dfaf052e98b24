import type { TaskHandler } from '../../engine/task-runner.js';
import type { CoreContext } from '../core-context.js';
import { resolveUser } from '../users/resolve-user.js';
import { recordRegistration } from './record-registration.js';
import type { RegisterFileTaskRequest } from './submit-file-registration.js';

export type { RegistrationResult } from './record-registration.js';

/**
 * Runs a file registration: resolve the user (API.md §4), then record the staged content (dedupe,
 * RFC 3161 token, RID). Safe to run twice: a registration is found again by its task id (in
 * recordRegistration, with the duplicate check). A TSA
 * outage throws a transient error, so the task is retried later.
 */
export function createRegisterFileHandler(context: CoreContext): TaskHandler {
  return async ({ task }) => {
    // A replay is recognised by recordRegistration's first lookup (by task or by account and bytes).
    const request = JSON.parse(task.request_json) as RegisterFileTaskRequest;
    const user = await resolveUser(context, task.client_id, request.userId, request.userEmail);
    return recordRegistration(context, task, user.accountId, {
      blobId: request.blobId,
      size: request.size,
      sha1: request.sha1,
      sha256: request.sha256,
      kind: 'file',
      name: request.name,
      contentType: request.contentType,
      url: null,
      userId: request.userId,
      userEmail: request.userEmail,
      title: request.title,
      description: request.description,
    });
  };
}
