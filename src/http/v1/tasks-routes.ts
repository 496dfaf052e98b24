import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CoreContext } from '../../core/core-context.js';
import { cancelTask, getTask, listTasks, retryTask } from '../../core/tasks/task-queries.js';
import { Problem, Task, TaskIdParams, TaskList, TaskListQuery } from './schemas.js';
import { taskView } from './views.js';

/** GetTaskInfo, the task list, cancel and retry — common to every kind of task (API.md §2). */
export const tasksRoutes: FastifyPluginAsyncTypebox<{ context: CoreContext }> = async (app, { context }) => {
  app.get(
    '/tasks/:taskId',
    {
      schema: {
        summary: 'GetTaskInfo: the state of one task',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: Type.Ref(Task), 404: Type.Ref(Problem) },
      },
    },
    async (request) => taskView(await getTask(context, request.client, request.params.taskId)),
  );

  app.get(
    '/tasks',
    {
      schema: {
        summary: 'List tasks, newest first',
        tags: ['tasks'],
        querystring: TaskListQuery,
        response: { 200: TaskList },
      },
    },
    async (request) => {
      const { items, nextCursor } = await listTasks(context, request.client, request.query);
      return { items: items.map(taskView), nextCursor };
    },
  );

  app.post(
    '/tasks/:taskId/cancel',
    {
      schema: {
        summary: 'Cancel a PENDING task',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: Type.Ref(Task), 404: Type.Ref(Problem), 409: Type.Ref(Problem) },
      },
    },
    async (request) => taskView(await cancelTask(context, request.client, request.params.taskId)),
  );

  app.post(
    '/tasks/:taskId/retry',
    {
      schema: {
        summary: 'Run a FAILED task again (for a signature operation, only its failed documents)',
        description:
          'The operator\'s answer to a task whose automatic retries ran out, once the cause is fixed (a TSA or CA back, a key renewed). ' +
          'The task keeps its id and becomes PENDING with attempts from zero; any other status is 409 task_not_retryable; ' +
          'an operation whose documents the retention deleted is 410 purged. Callbacks of the failed end still being retried stop.',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: Type.Ref(Task), 404: Type.Ref(Problem), 409: Type.Ref(Problem), 410: Type.Ref(Problem) },
      },
    },
    async (request) => taskView(await retryTask(context, request.client, request.params.taskId)),
  );
};
