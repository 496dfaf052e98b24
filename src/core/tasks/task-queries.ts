import { SignetError } from '../../errors/signet-error.js';
import type { TaskKind, TaskStatus } from '../../store/schema.js';
import type { TaskRow } from '../../store/task-queue.js';
import { isUuid } from '../../util/uuid7.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { currentTimeMs } from '../../util/clock.js';
import { discardContentOfCancelledTask } from '../registrations/stage-content.js';
import { toTaskInfo, type TaskInfo } from './task-info.js';

/** GetTaskInfo: a client's own task, else not_found (never "forbidden": others' ids stay invisible). */
export async function getTask(context: CoreContext, client: ClientIdentity, taskId: string): Promise<TaskInfo> {
  return toTaskInfo(await findOwnTask(context, client, taskId));
}

async function findOwnTask(context: CoreContext, client: ClientIdentity, taskId: string): Promise<TaskRow> {
  const task = isUuid(taskId) ? await context.store.tasks.findById(client.id, taskId) : undefined;
  if (!task) throw new SignetError('not_found', `No task ${taskId} for this client service`);
  return task;
}

export interface TaskListQuery {
  status?: TaskStatus;
  kind?: TaskKind;
  externalReference?: string;
  limit?: number;
  cursor?: string;
}

/** Newest first; `nextCursor` is the last id of a full page (ids are time-ordered). */
export async function listTasks(
  context: CoreContext,
  client: ClientIdentity,
  query: TaskListQuery,
): Promise<{ items: TaskInfo[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  if (query.cursor !== undefined && !isUuid(query.cursor)) {
    throw new SignetError('invalid_request', 'cursor must be a nextCursor value from an earlier page', { field: 'cursor' });
  }
  const items = await context.store.tasks.list(client.id, {
    status: query.status,
    kind: query.kind,
    externalReference: query.externalReference,
    before: query.cursor,
    limit,
  });
  return { items: items.map(toTaskInfo), nextCursor: items.length === limit ? items[items.length - 1].id : null };
}

export async function cancelTask(context: CoreContext, client: ClientIdentity, taskId: string): Promise<TaskInfo> {
  const existing = await findOwnTask(context, client, taskId);
  const cancelled = await context.store.tasks.cancel(client.id, existing.id);
  if (!cancelled) {
    throw new SignetError('task_not_cancellable', `Task ${taskId} is ${existing.status}; only a PENDING task can be cancelled`);
  }
  if (cancelled.kind === 'register-file') await discardContentOfCancelledTask(context.store, cancelled.id, cancelled.request_json);
  return toTaskInfo(cancelled);
}

/**
 * Operator retry (API.md §2): a FAILED task runs again once its cause was fixed — the last step of
 * the Sign'Stash retry protocol, after the automatic retries gave up. Any other status is 409.
 */
export async function retryTask(context: CoreContext, client: ClientIdentity, taskId: string): Promise<TaskInfo> {
  const existing = await findOwnTask(context, client, taskId);
  const retried = await context.store.tasks.retry(client.id, existing.id);
  if (!retried) {
    if (existing.status === 'FAILED' && existing.purged_at != null) {
      throw new SignetError('purged', `Task ${taskId} cannot run again: its documents were deleted after the retention period (--retention)`);
    }
    throw new SignetError('task_not_retryable', `Task ${taskId} is ${existing.status}; only a FAILED task can be retried`);
  }
  return toTaskInfo(retried);
}

export function isFinal(status: TaskStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
}

/**
 * `Prefer: wait=N`: resolves with the task once final, or with its state after `timeoutMs`.
 * Event-driven (in-process emitter, NOTIFY on PostgreSQL) with a slow poll as a safety net.
 */
export async function waitForTask(context: CoreContext, client: ClientIdentity, taskId: string, timeoutMs: number): Promise<TaskInfo> {
  const deadline = currentTimeMs() + timeoutMs;
  let task = await getTask(context, client, taskId);
  while (!isFinal(task.status) && currentTimeMs() < deadline) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(1000, Math.max(0, deadline - currentTimeMs())));
      const unsubscribe = context.store.notifications.onFinished((finishedId) => {
        if (finishedId === taskId) done();
      });
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
    task = await getTask(context, client, taskId);
  }
  return task;
}
