import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { CoreContext } from '../core/core-context.js';
import type { CrlIssuer } from '../crypto/devca/crl.js';
import type { OcspResponder } from '../crypto/devca/ocsp-responder.js';
import type { TimestampAuthority } from '../crypto/tsp/timestamp-authority.js';
import { SignetError } from '../errors/signet-error.js';
import type { AccessTokens } from './auth/access-tokens.js';
import type { Authenticator } from './auth/authenticator.js';
import { tokenRoutes } from './auth/token-routes.js';
import type { Metrics } from './ops/metrics.js';
import { opsRoutes } from './ops/ops-routes.js';
import { sendProblem } from './problem.js';
import { crlRoutes } from './public/crl-routes.js';
import { ocspRoutes } from './public/ocsp-routes.js';
import { pkiRoutes } from './public/pki-routes.js';
import { registrationPageRoutes } from './public/registration-page-routes.js';
import { tsaRoutes } from './public/tsa-routes.js';
import { verifyRoutes } from './public/verify-routes.js';
import { accountPlugin } from './account/account-plugin.js';
import { copytrustPlugin } from './copytrust/copytrust-plugin.js';
import { signstashPlugin } from './signstash/signstash-plugin.js';
import { Problem, SignatureOperation, Task } from './v1/schemas.js';
import { v1Plugin } from './v1/v1-plugin.js';

export interface AppDependencies {
  context: CoreContext;
  authenticator: Authenticator;
  tokens: AccessTokens;
  metrics: Metrics;
  trustAnchorsPem: string;
  timestampAuthority: TimestampAuthority;
  crlIssuers: CrlIssuer[];
  /** The development CA's OCSP responder, when it is in use. */
  ocspResponder?: OcspResponder;
  maxBodySize: number;
  /** Sign'Stash answers with signed content inline: the most signed bytes they carry (--max-inline-content). */
  maxInlineContent: number;
  /** POST /v1/verify requests at once (--max-verifications). */
  maxVerifications: number;
  tokenTtlSeconds: number;
  logger: boolean | object;
  /** A pino instance shared with the rest of the process; wins over `logger`. */
  loggerInstance?: FastifyBaseLogger;
  version: string;
  /** True once shutdown began: /readyz answers 503 so a load balancer stops sending work here while it drains. */
  isShuttingDown?: () => boolean;
}

/**
 * Builds the HTTP application; it does not listen (tests use `inject()` or port 0, `signet serve`
 * listens). One plugin per surface: auth (token endpoint), v1, public, ops.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.loggerInstance ? { loggerInstance: deps.loggerInstance } : { logger: deps.logger }),
    bodyLimit: deps.maxBodySize,
    trustProxy: false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // A body announced larger than the limit is refused before a byte of it is read.
  app.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > deps.maxBodySize) {
      throw new SignetError('payload_too_large', `The body (${length} bytes) exceeds the ${deps.maxBodySize}-byte limit (--max-body-size)`);
    }
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, error, request));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new SignetError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`), request),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Signet', version: deps.version, description: 'Signs documents and registers content as proof of existence.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          basic: { type: 'http', scheme: 'basic' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(Problem);
  app.addSchema(Task);
  app.addSchema(SignatureOperation);

  await app.register(multipart, { limits: { fileSize: deps.maxBodySize } });
  await app.register(tokenRoutes, { authenticator: deps.authenticator, tokens: deps.tokens, tokenTtlSeconds: deps.tokenTtlSeconds });
  await app.register(v1Plugin, { prefix: '/v1', context: deps.context, authenticator: deps.authenticator, maxBodySize: deps.maxBodySize });
  await app.register(signstashPlugin, {
    prefix: '/signstash/einvoice-integration-client-ws',
    context: deps.context,
    authenticator: deps.authenticator,
    maxBodySize: deps.maxBodySize,
    maxInlineContent: deps.maxInlineContent,
  });
  await app.register(copytrustPlugin, { context: deps.context, authenticator: deps.authenticator, maxBodySize: deps.maxBodySize });
  await app.register(accountPlugin, { context: deps.context });
  await app.register(pkiRoutes, { trustAnchorsPem: deps.trustAnchorsPem });
  await app.register(crlRoutes, { issuers: deps.crlIssuers });
  if (deps.ocspResponder) await app.register(ocspRoutes, { responder: deps.ocspResponder });
  await app.register(tsaRoutes, { authority: deps.timestampAuthority });
  await app.register(registrationPageRoutes, { context: deps.context });
  await app.register(verifyRoutes, { context: deps.context, maxBodySize: deps.maxBodySize, maxConcurrent: deps.maxVerifications, metrics: deps.metrics });
  const checkReady = async () => {
    if (deps.isShuttingDown?.()) throw new Error('shutting down: finishing the running tasks, taking no new work');
    await deps.context.store.ping();
  };
  await app.register(opsRoutes, { metrics: deps.metrics, checkReady });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
