import type { FastifyPluginAsync } from 'fastify';
import { OCSP_PATH, type OcspResponder } from '../../crypto/devca/ocsp-responder.js';
import { SignetError } from '../../errors/signet-error.js';

const REQUEST_TYPE = 'application/ocsp-request';
const RESPONSE_TYPE = 'application/ocsp-response';
/** An OCSPRequest for a few certificates is a few hundred bytes; 64 KB leaves room for extensions. */
const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The development CA's OCSP responder over HTTP (RFC 6960 Appendix A.1, API.md §6): POST /pki/ocsp with
 * a DER OCSPRequest, or GET /pki/ocsp/{url-encoded base64 of it}. Every OCSPRequest gets an OCSPResponse
 * with HTTP 200, an unsuccessful one included (malformedRequest, unauthorized for another CA's
 * certificates), as the protocol carries it.
 */
export const ocspRoutes: FastifyPluginAsync<{ responder: OcspResponder }> = async (app, { responder }) => {
  app.addContentTypeParser(REQUEST_TYPE, { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BYTES }, (_request, body, done) => {
    done(null, body);
  });
  const answer = { 200: { description: 'DER OCSPResponse (RFC 6960 §4.2.1)', content: { [RESPONSE_TYPE]: { schema: { type: 'string', format: 'binary' } } } } };

  app.post(
    OCSP_PATH,
    {
      bodyLimit: MAX_REQUEST_BYTES,
      schema: {
        tags: ['public'],
        summary: 'OCSP responder of the development CA',
        description: `Send a DER OCSPRequest as \`${REQUEST_TYPE}\`; check the answer with \`openssl ocsp -issuer ca.pem -cert … -url …\`.`,
        body: { content: { [REQUEST_TYPE]: { schema: { description: 'DER-encoded OCSPRequest (RFC 6960 §4.1.1)' } } } },
        response: answer,
      },
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body) || request.headers['content-type']?.split(';')[0]!.trim().toLowerCase() !== REQUEST_TYPE) {
        throw new SignetError('unsupported_media_type', `POST ${OCSP_PATH} takes a DER OCSPRequest with Content-Type ${REQUEST_TYPE}`);
      }
      return reply.type(RESPONSE_TYPE).header('cache-control', 'no-store').send(await responder.respond(request.body));
    },
  );

  app.get(
    `${OCSP_PATH}/*`,
    { schema: { tags: ['public'], summary: 'OCSP responder of the development CA (GET form)', response: answer } },
    async (request, reply) => {
      // The rest of the path is the base64 request, URL-encoded ('/' may arrive as %2F or as a path separator).
      const encoded = (request.params as { '*': string })['*'];
      let der: Buffer;
      try {
        der = Buffer.from(decodeURIComponent(encoded), 'base64');
      } catch {
        der = Buffer.alloc(0);
      }
      // A GET answer may be cached by HTTP caches (RFC 5019 §6.2); not beyond an hour.
      return reply.type(RESPONSE_TYPE).header('cache-control', 'public, max-age=3600').send(await responder.respond(der));
    },
  );
};
