import { ridOfTask } from '../../core/registrations/registration-queries.js';
import type { SignatureOperation } from '../../core/signatures/signature-queries.js';
import { taskLinks } from '../../core/tasks/task-links.js';
import type { TaskRow } from '../../store/task-queue.js';

/** Database rows → the JSON shapes of API.md §2 and §3. */

export function iso(ms: number | null): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}

export function taskView(task: TaskRow) {
  const failed = task.status === 'FAILED' && task.error_code;
  const rid = ridOfTask(task);
  return {
    taskId: task.id,
    kind: task.kind,
    status: task.status,
    externalReference: task.external_reference,
    host: task.host,
    attempts: task.attempts,
    createdAt: iso(task.created_at)!,
    startedAt: iso(task.started_at),
    finishedAt: iso(task.finished_at),
    ...(failed && { error: { code: task.error_code!, message: task.error_message ?? '' } }),
    ...(task.kind === 'sign' && { operationId: task.id }),
    ...(rid && { rid }),
    links: taskLinks(task),
  };
}

export function signatureOperationView({ task, documents }: SignatureOperation) {
  const base = `/v1/signatures/${task.id}`;
  const failed = task.status === 'FAILED' && task.error_code;
  return {
    id: task.id,
    externalReference: task.external_reference,
    description: task.description,
    status: task.status,
    host: task.host,
    createdAt: iso(task.created_at)!,
    finishedAt: iso(task.finished_at),
    executionTimeMs: task.finished_at != null ? task.finished_at - task.created_at : null,
    ...(failed && { error: { code: task.error_code!, message: task.error_message ?? '' } }),
    documents: documents.map((doc) => ({
      id: doc.id,
      externalReference: doc.external_reference,
      name: doc.name,
      contentType: doc.content_type,
      status: doc.status,
      ...(doc.status === 'FAILED' && { error: { code: doc.error_code ?? 'internal_error', message: doc.error_message ?? '' } }),
      format: doc.format,
      level: doc.level,
      size: doc.size,
      signedSize: doc.signed_size,
      sha256: doc.sha256,
      ...(doc.purged_at != null && { purged: true as const, purgedAt: iso(doc.purged_at)! }),
      links: doc.status === 'SIGNED' && doc.purged_at == null ? { content: `${base}/documents/${doc.id}/content` } : {},
    })),
    links: { self: base, task: `/v1/tasks/${task.id}`, documents: `${base}/documents.zip` },
  };
}
