import type { FastifyPluginAsync } from 'fastify';

/** The trust anchors a relying party needs to verify what Signet signs (API.md §6). */
export const pkiRoutes: FastifyPluginAsync<{ trustAnchorsPem: string }> = async (app, { trustAnchorsPem }) => {
  app.get('/pki/ca.pem', { schema: { tags: ['public'], summary: 'Trust anchors (PEM)' } }, async (_request, reply) => {
    return reply.type('application/x-pem-file').header('Cache-Control', 'public, max-age=300').send(trustAnchorsPem);
  });
};
