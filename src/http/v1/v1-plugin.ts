import type { FastifyPluginAsync } from 'fastify';
import type { CoreContext } from '../../core/core-context.js';
import type { Authenticator } from '../auth/authenticator.js';
import { requireClient } from '../auth/authenticate-plugin.js';
import { sendProblem } from '../problem.js';
import { deliveriesRoutes } from './deliveries-routes.js';
import { registrationsRoutes } from './registrations-routes.js';
import { signaturesRoutes } from './signatures-routes.js';
import { tasksRoutes } from './tasks-routes.js';
import { usersRoutes } from './users-routes.js';

export interface V1Options {
  context: CoreContext;
  authenticator: Authenticator;
  maxBodySize: number;
}

/** The native API under /v1: every route authenticated, every error RFC 9457 problem+json. */
export const v1Plugin: FastifyPluginAsync<V1Options> = async (app, { context, authenticator, maxBodySize }) => {
  requireClient(app, authenticator);
  app.setErrorHandler((error, request, reply) => sendProblem(reply, error, request));
  await app.register(tasksRoutes, { context });
  await app.register(signaturesRoutes, { context, maxBodySize });
  await app.register(deliveriesRoutes, { context });
  await app.register(registrationsRoutes, { context, maxBodySize });
  await app.register(usersRoutes, { context });
};
