import type { Kysely } from 'kysely';
import type { DeliveryRepository } from '../../store/delivery-repository.js';
import type { Database } from '../../store/schema.js';
import type { TaskRow } from '../../store/task-queue.js';
import { uuid7 } from '../../util/uuid7.js';
import { toTaskInfo } from '../tasks/task-info.js';
import { taskLinks } from '../tasks/task-links.js';
import { currentTimeMs } from '../../util/clock.js';

/**
 * The callback a finished task sends (API.md §5). The body is fixed now, in the transaction that
 * finishes the task, so every retry sends the same bytes under the same `webhook-id`.
 */
export function callbackBody(row: TaskRow, now: number): { type: string; body: string } {
  const task = toTaskInfo(row);
  const type = task.status === 'SUCCEEDED' ? 'task.succeeded' : 'task.failed';
  const data = {
    taskId: task.id,
    kind: task.kind,
    status: task.status,
    externalReference: task.externalReference,
    ...(task.kind === 'sign' && { operationId: task.id }),
    ...(task.rid && { rid: task.rid }),
    ...(task.error && { error: task.error }),
    links: taskLinks(task),
  };
  return { type, body: JSON.stringify({ type, timestamp: new Date(now).toISOString(), data }) };
}

/** Records the callback of a task that just finished, when it has somewhere to go. */
export async function recordCallbackDelivery(
  deliveries: DeliveryRepository,
  trx: Kysely<Database>,
  task: TaskRow,
  firstDelayMs: number,
  now = currentTimeMs(),
): Promise<void> {
  if (!task.callback_url) return;
  const { type, body } = callbackBody(task, now);
  await deliveries.insert(trx, {
    id: uuid7(now),
    task_id: task.id,
    client_id: task.client_id,
    url: task.callback_url,
    host: new URL(task.callback_url).host,
    event_type: type,
    body,
    status: 'PENDING',
    attempts: 0,
    next_attempt_at: now + firstDelayMs,
    lease_owner: null,
    lease_until: null,
    created_at: now,
    finished_at: null,
  });
}
