import type { FastifyPluginAsync } from 'fastify';
import type { TimestampAuthority } from '../../crypto/tsp/timestamp-authority.js';
import { SignetError } from '../../errors/signet-error.js';

const QUERY_TYPE = 'application/timestamp-query';
const REPLY_TYPE = 'application/timestamp-reply';
/** A TimeStampReq is ~70–150 bytes (SHA-512 imprint, policy, nonce); 64 KB leaves room for extensions. */
const MAX_QUERY_BYTES = 64 * 1024;

/**
 * POST /tsa — the built-in RFC 3161 time-stamping authority over HTTP (RFC 3161 §3.4, API.md §6).
 * Every TimeStampReq gets a TimeStampResp with HTTP 200, a refused one included (`rejection` with the
 * reason in failInfo), as §3.4 transports it; only a body that is not a timestamp query at all gets a
 * problem+json (415 for another content type, 413 above 64 KB).
 */
export const tsaRoutes: FastifyPluginAsync<{ authority: TimestampAuthority }> = async (app, { authority }) => {
  // Encapsulated in this plugin: the rest of the app never parses timestamp queries.
  app.addContentTypeParser(QUERY_TYPE, { parseAs: 'buffer', bodyLimit: MAX_QUERY_BYTES }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    '/tsa',
    {
      bodyLimit: MAX_QUERY_BYTES,
      schema: {
        tags: ['public'],
        summary: 'RFC 3161 time-stamping authority',
        description:
          `Send a DER TimeStampReq as \`${QUERY_TYPE}\`; the answer is a DER TimeStampResp (\`${REPLY_TYPE}\`), ` +
          'HTTP 200 also when the request is refused (PKIStatus rejection with failInfo). Verify tokens with ' +
          '`openssl ts -verify` against the trust anchors from GET /pki/ca.pem.',
        body: { content: { [QUERY_TYPE]: { schema: { description: 'DER-encoded TimeStampReq (RFC 3161 §2.4.1)' } } } },
        response: {
          200: {
            description: 'DER-encoded TimeStampResp (RFC 3161 §2.4.2)',
            content: { [REPLY_TYPE]: { schema: { type: 'string', format: 'binary' } } },
          },
        },
      },
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body) || !isTimestampQuery(request.headers['content-type'])) {
        throw new SignetError('unsupported_media_type', `POST /tsa takes a DER TimeStampReq with Content-Type ${QUERY_TYPE}`);
      }
      const response = await authority.respond(request.body);
      return reply.type(REPLY_TYPE).header('cache-control', 'no-store').send(response);
    },
  );
};

function isTimestampQuery(contentType: string | undefined): boolean {
  return contentType?.split(';')[0].trim().toLowerCase() === QUERY_TYPE;
}
