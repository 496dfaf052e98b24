import type { SignatureOperation } from '../../core/signatures/signature-queries.js';
import type { TaskInfo } from '../../core/tasks/task-info.js';
import { taskLinks } from '../../core/tasks/task-links.js';

/** The core's tasks and operations → the JSON shapes of API.md §2 and §3. */

export function iso(ms: number | null): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}

export function taskView(task: TaskInfo) {
  return {
    taskId: task.id,
    kind: task.kind,
    status: task.status,
    externalReference: task.externalReference,
    host: task.host,
    attempts: task.attempts,
    createdAt: iso(task.createdAt)!,
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
    ...(task.error && { error: task.error }),
    ...(task.kind === 'sign' && { operationId: task.id }),
    ...(task.rid && { rid: task.rid }),
    links: taskLinks(task),
  };
}

export function signatureOperationView({ task, documents }: SignatureOperation) {
  const base = `/v1/signatures/${task.id}`;
  return {
    id: task.id,
    externalReference: task.externalReference,
    description: task.description,
    status: task.status,
    host: task.host,
    createdAt: iso(task.createdAt)!,
    finishedAt: iso(task.finishedAt),
    executionTimeMs: task.finishedAt != null ? task.finishedAt - task.createdAt : null,
    ...(task.error && { error: task.error }),
    documents: documents.map((doc) => ({
      id: doc.id,
      externalReference: doc.externalReference,
      name: doc.name,
      contentType: doc.contentType,
      status: doc.status,
      ...(doc.error && { error: doc.error }),
      format: doc.format,
      level: doc.level,
      size: doc.size,
      signedSize: doc.signedSize,
      sha256: doc.sha256,
      ...(doc.purgedAt != null && { purged: true as const, purgedAt: iso(doc.purgedAt)! }),
      links: doc.status === 'SIGNED' && doc.purgedAt == null ? { content: `${base}/documents/${doc.id}/content` } : {},
    })),
    links: { self: base, task: `/v1/tasks/${task.id}`, documents: `${base}/documents.zip` },
  };
}
