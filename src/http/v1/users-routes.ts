import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CoreContext } from '../../core/core-context.js';
import { getUser } from '../../core/users/user-queries.js';
import { Problem } from './schemas.js';
import { iso } from './views.js';

const User = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  registrationCount: Type.Integer({ description: 'Registrations of the account this user id is linked to' }),
});

/** GET /v1/users/{userId} (API.md §4). */
export const usersRoutes: FastifyPluginAsyncTypebox<{ context: CoreContext }> = async (app, { context }) => {
  app.get(
    '/users/:userId',
    {
      schema: {
        summary: 'A user of the client service: the account its userId is linked to',
        tags: ['registrations'],
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: User, 404: Type.Ref(Problem) },
      },
    },
    async (request) => {
      const user = await getUser(context, request.client, request.params.userId);
      return { ...user, createdAt: iso(user.createdAt)! };
    },
  );
};
