import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CoreContext } from '../../core/core-context.js';
import { listDeliveries, redeliverNow } from '../../core/deliveries/delivery-queries.js';
import { Problem, TaskIdParams } from './schemas.js';
import { iso } from './views.js';

const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

const DeliveryAttempt = Type.Object({
  id: Type.Integer(),
  deliveryId: Type.String(),
  attemptedAt: Type.String({ format: 'date-time' }),
  url: Type.String(),
  statusCode: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  durationMs: Type.Integer(),
});

const DeliveryLog = Type.Object({
  taskId: Type.String(),
  deliveries: Type.Array(
    Type.Object({
      id: Type.String({ description: 'the webhook-id, the same on every attempt' }),
      url: Type.String(),
      type: Type.String(),
      status: Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERED'), Type.Literal('FAILED')]),
      attempts: Type.Integer(),
      nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
    }),
  ),
  attempts: Type.Array(DeliveryAttempt),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
});

/** The callback delivery log of a task, and "deliver again now" (API.md §5). */
export const deliveriesRoutes: FastifyPluginAsyncTypebox<{ context: CoreContext }> = async (app, { context }) => {
  app.get(
    '/tasks/:taskId/deliveries',
    {
      schema: {
        summary: 'Every callback attempt of a task and the next scheduled one',
        tags: ['callbacks'],
        params: TaskIdParams,
        response: { 200: DeliveryLog, 404: Type.Ref(Problem) },
      },
    },
    async (request) => {
      const { task, deliveries, nextAttemptAt } = await listDeliveries(context, request.client, request.params.taskId);
      return {
        taskId: task.id,
        deliveries: deliveries.map((d) => ({
          id: d.id,
          url: d.url,
          type: d.type,
          status: d.status,
          attempts: d.attempts,
          nextAttemptAt: iso(d.nextAttemptAt),
        })),
        attempts: deliveries.flatMap((d) =>
          d.attemptLog.map((a) => ({
            id: a.id,
            deliveryId: d.id,
            attemptedAt: iso(a.attemptedAt)!,
            url: a.url,
            ...(a.statusCode != null && { statusCode: a.statusCode }),
            ...(a.error != null && { error: a.error }),
            durationMs: a.durationMs,
          })),
        ),
        nextAttemptAt: iso(nextAttemptAt),
      };
    },
  );

  app.post(
    '/tasks/:taskId/deliveries',
    {
      schema: {
        summary: 'Deliver the task\'s callback again now',
        tags: ['callbacks'],
        params: TaskIdParams,
        response: { 202: Type.Object({ scheduled: Type.Integer() }), 404: Type.Ref(Problem), 409: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const scheduled = await redeliverNow(context, request.client, request.params.taskId);
      return reply.code(202).send({ scheduled });
    },
  );
};
