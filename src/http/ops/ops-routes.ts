import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from './metrics.js';

export interface OpsOptions {
  metrics: Metrics;
  /** Throws when the database or the work folder is unusable. */
  checkReady: () => Promise<void>;
}

/** Liveness, readiness and metrics (API.md §7). No authentication: they reveal no client data. */
export const opsRoutes: FastifyPluginAsync<OpsOptions> = async (app, { metrics, checkReady }) => {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'The process is alive' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['ops'], summary: 'The database and the work folder are usable' } }, async (request, reply) => {
    try {
      await checkReady();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'not ready');
      return reply.code(503).send({ status: 'not ready', detail: (error as Error).message });
    }
  });

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', hide: false } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};
