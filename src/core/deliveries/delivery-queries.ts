import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { getTask, isFinal } from '../tasks/task-queries.js';

/** The delivery log of a task: every attempt, and when the next one is due. */
export async function listDeliveries(context: CoreContext, client: ClientIdentity, taskId: string) {
  const task = await getTask(context, client, taskId);
  const deliveries = await context.store.deliveries.listForTask(client.id, task.id);
  const pending = deliveries.filter((d) => d.status === 'PENDING' && d.next_attempt_at != null).map((d) => d.next_attempt_at!);
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
