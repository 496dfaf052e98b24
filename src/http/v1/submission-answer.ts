import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreContext } from '../../core/core-context.js';
import type { SubmitResult } from '../../core/tasks/enqueue-task.js';
import type { TaskInfo } from '../../core/tasks/task-info.js';
import { isFinal, waitForTask } from '../../core/tasks/task-queries.js';
import { preferredWaitMs } from '../prefer-wait.js';
import { taskView } from './views.js';

/**
 * The answer to any submission (API.md §2): `202` with Location and Retry-After; an idempotent
 * replay `200` with `Idempotent-Replayed: true`; with `Prefer: wait=N` the finished resource
 * (`finishedView`, else the task) if it finished in time.
 */
export async function answerSubmission(
  context: CoreContext,
  request: FastifyRequest,
  reply: FastifyReply,
  { task, replayed }: SubmitResult,
  finishedView: (task: TaskInfo) => Promise<unknown | undefined>,
): Promise<FastifyReply> {
  const waitMs = preferredWaitMs(request.headers.prefer);
  const current = waitMs ? await waitForTask(context, request.client, task.id, waitMs) : task;
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  if (waitMs && isFinal(current.status)) return reply.code(200).send((await finishedView(current)) ?? taskView(current));
  if (replayed) return reply.code(200).send(taskView(current));
  return reply.code(202).header('Location', `/v1/tasks/${task.id}`).header('Retry-After', '1').send(taskView(current));
}
