import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientService } from '../../config/client-services.js';
import type { Authenticator } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client service; set by `requireClient` on every protected route. */
    client: ClientService;
  }
}

/** Adds an onRequest hook to `scope` that authenticates every route registered in it. */
export function requireClient(scope: FastifyInstance, authenticator: Authenticator): void {
  scope.decorateRequest('client', null as unknown as ClientService);
  scope.addHook('onRequest', async (request: FastifyRequest) => {
    request.client = await authenticator.authenticate(request.headers.authorization, request.ip);
  });
}
