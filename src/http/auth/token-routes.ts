import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { AccessTokens } from './access-tokens.js';
import { parseBasic, type Authenticator } from './authenticator.js';

export interface TokenRoutesOptions {
  authenticator: Authenticator;
  tokens: AccessTokens;
  tokenTtlSeconds: number;
}

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  jti: Type.String(),
});
const OAuthError = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) });

/**
 * OAuth 2.0 client-credentials grant (RFC 6749 §4.4) at `/oauth/token`, and at the Sign'Stash path
 * so existing clients work unchanged. Errors follow RFC 6749 §5.2 (`{error}`), not problem+json,
 * because OAuth client libraries parse that shape.
 */
export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRoutesOptions> = async (app, { authenticator, tokens, tokenTtlSeconds }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler((error, _request, reply) => {
    if (isSignetError(error) && error.code === 'too_many_failed_attempts') {
      return reply.code(429).header('Retry-After', '60').send({ error: 'slow_down', error_description: error.message });
    }
    if (isSignetError(error) && (error.code === 'invalid_client' || error.code === 'unauthorized')) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Basic realm="signet"')
        .send({ error: 'invalid_client', error_description: error.message });
    }
    if (isSignetError(error) && error.code === 'unsupported_grant_type') {
      return reply.code(400).send({ error: 'unsupported_grant_type', error_description: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(400).send({ error: 'invalid_request', error_description: (error as Error).message });
    }
    _request.log.error({ err: error }, 'token request failed');
    return reply.code(500).send({ error: 'server_error', error_description: 'The token could not be issued; it was logged' });
  });

  const handler = async (request: any, reply: any) => {
    const form = (request.body ?? {}) as Record<string, string>;
    if (form.grant_type !== 'client_credentials') {
      throw new SignetError('unsupported_grant_type', 'grant_type must be "client_credentials"');
    }
    const basic = /^basic\s+/i.test(request.headers.authorization ?? '')
      ? parseBasic(request.headers.authorization.replace(/^basic\s+/i, ''))
      : undefined;
    const clientId = basic?.clientId ?? form.client_id;
    const secret = basic?.secret ?? form.client_secret;
    if (!clientId || secret === undefined) {
      throw new SignetError('invalid_client', 'Authenticate with HTTP Basic or client_id and client_secret form fields');
    }
    const client = await authenticator.checkCredentials(clientId, secret, request.ip);
    const { token, claims } = tokens.issue(client.id, client.secretFingerprint, tokenTtlSeconds);
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
    return { access_token: token, token_type: 'bearer' as const, expires_in: tokenTtlSeconds, scope: claims.scope, jti: claims.jti };
  };

  const schema = {
    summary: 'OAuth 2.0 client-credentials token',
    tags: ['auth'],
    consumes: ['application/x-www-form-urlencoded'],
    response: { 200: TokenResponse, 400: OAuthError, 401: OAuthError, 429: OAuthError, 500: OAuthError },
  };
  app.post('/oauth/token', { schema }, handler);
  app.post('/oauth2/authorization-server/oauth/token', { schema: { ...schema, summary: 'The same, at the Sign\'Stash path' } }, handler);
};
