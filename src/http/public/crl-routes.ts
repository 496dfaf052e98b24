import type { FastifyPluginAsync } from 'fastify';
import { crlPath, type CrlIssuer } from '../../crypto/devca/crl.js';

/**
 * GET /pki/crl/{issuer}.crl — the CRLs of the CAs Signet runs itself (the development CA), DER as
 * RFC 2585 §4 / RFC 5280 §4.2.1.13 want at a CRL distribution point (`application/pkix-crl`).
 * One static route per issuer: the names are known at start-up and nothing else is served here.
 */
export const crlRoutes: FastifyPluginAsync<{ issuers: CrlIssuer[] }> = async (app, { issuers }) => {
  for (const issuer of issuers) {
    app.get(
      crlPath(issuer.name),
      {
        schema: {
          tags: ['public'],
          summary: `Certificate revocation list of ${issuer.name}`,
          response: { 200: { description: 'DER X.509 v2 CRL', content: { 'application/pkix-crl': { schema: { type: 'string', format: 'binary' } } } } },
        },
      },
      async (_request, reply) => {
        const crl = await issuer.current();
        return reply
          .type('application/pkix-crl')
          .header('cache-control', `public, max-age=${Math.min(3600, issuer.secondsUntilReissue())}`)
          .send(crl);
      },
    );
  }
};
