import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import type { TaskInfo } from '../tasks/task-info.js';
import { getTask, isFinal } from '../tasks/task-queries.js';

/** One callback of a task (a URL and an event) and how its delivery stands. */
export interface CallbackDelivery {
  id: string;
  url: string;
  type: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  /** When the next attempt is due (PENDING deliveries only). */
  nextAttemptAt: number | null;
  attemptLog: CallbackAttempt[];
}

export interface CallbackAttempt {
  id: number;
  attemptedAt: number;
  url: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** The delivery log of a task: every attempt, and when the next one is due. */
export async function listDeliveries(
  context: CoreContext,
  client: ClientIdentity,
  taskId: string,
): Promise<{ task: TaskInfo; deliveries: CallbackDelivery[]; nextAttemptAt: number | null }> {
  const task = await getTask(context, client, taskId);
  const rows = await context.store.deliveries.listForTask(client.id, task.id);
  const deliveries = rows.map(
    (row): CallbackDelivery => ({
      id: row.id,
      url: row.url,
      type: row.event_type,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.status === 'PENDING' ? row.next_attempt_at : null,
      attemptLog: row.attemptLog.map((attempt) => ({
        id: Number(attempt.id),
        attemptedAt: attempt.attempted_at,
        url: attempt.url,
        statusCode: attempt.status_code,
        error: attempt.error,
        durationMs: attempt.duration_ms,
      })),
    }),
  );
  const pending = deliveries.flatMap((delivery) => (delivery.nextAttemptAt != null ? [delivery.nextAttemptAt] : []));
  return { task, deliveries, nextAttemptAt: pending.length > 0 ? Math.min(...pending) : null };
}

/** "Deliver again now": the task's callbacks become due at once, whatever their state. */
export async function redeliverNow(context: CoreContext, client: ClientIdentity, taskId: string): Promise<number> {
  const task = await getTask(context, client, taskId);
  if (!isFinal(task.status)) throw new SignetError('task_not_finished', `Task ${taskId} is ${task.status}; its callback is sent when it finishes`);
  const count = await context.store.deliveries.redeliverNow(client.id, task.id);
  if (count === 0) {
    throw new SignetError('no_callback_configured', `Task ${taskId} has no callback URL (none in the request, none configured for the client)`);
  }
  await context.store.notifications.deliveriesDue();
  return count;
}
