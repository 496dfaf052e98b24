import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientService } from '../../config/client-services.js';
import type { CoreContext } from '../../core/core-context.js';
import { publicBaseUrl } from '../../core/registrations/registration-settings.js';
import { contentStagingSink, discardContent, type StagedContent } from '../../core/registrations/stage-content.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { Authenticator } from '../auth/authenticator.js';
import { toProblem } from '../problem.js';
import { contentTypeParameters } from './multipart-related-reader.js';
import { performOperation } from './operations.js';
import { readSoapRequest } from './read-soap-request.js';
import { operations, type SoapVersion } from './service-contract.js';
import { contentTypeOf, faultEnvelope, responseEnvelope } from './soap-envelope-writer.js';
import type { SoapCall, SoapHeader } from './soap-envelope-reader.js';
import { copytrustWsdl } from './wsdl.js';

export interface CopytrustPluginOptions {
  context: CoreContext;
  authenticator: Authenticator;
  maxBodySize: number;
}

const SERVICE_PATH = '/copytrust/soap';
const BODY_IDLE_TIMEOUT_MS = 60_000;

/**
 * The COPYTRUST access bus (API.md §10): SOAP 1.1 and 1.2 at POST /copytrust/soap, its WSDL at
 * ?wsdl. An adapter over core/ like the Sign'Stash plugin: the body is read as it streams (FileData
 * straight into the content store), the call goes to the same core functions as the REST routes,
 * and every error — a broken envelope included — is a SOAP fault carrying the native code.
 */
export const copytrustPlugin: FastifyPluginAsync<CopytrustPluginOptions> = async (app, { context, authenticator, maxBodySize }) => {
  // The body is read by readSoapRequest as it arrives, never parsed ahead by Fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.setErrorHandler((error, request, reply) => sendFault(request, reply, error, versionFromContentType(request.headers['content-type'])));

  app.get(SERVICE_PATH, { schema: { hide: true } }, async (request, reply) => {
    const query = Object.keys((request.query ?? {}) as Record<string, unknown>).map((key) => key.toLowerCase());
    if (query.includes('wsdl') || query.includes('singlewsdl')) {
      const address = `${publicBaseUrl(context.registrations, context.host)}${SERVICE_PATH}`;
      return reply.type('text/xml; charset=utf-8').send(copytrustWsdl(address));
    }
    return reply
      .type('text/plain; charset=utf-8')
      .send(`COPYTRUST-compatible SOAP service (SOAP 1.1 and 1.2): POST envelopes here. Operations: ${Object.keys(operations).join(', ')}. WSDL: ${SERVICE_PATH}?wsdl\n`);
  });

  app.post(SERVICE_PATH, { schema: { hide: true } }, async (request, reply) => {
    let version = versionFromContentType(request.headers['content-type']);
    const socket = request.raw.socket;
    // HTTP Basic is checked before a byte of the body is read; a UsernameToken once the Header is.
    let client: ClientService | undefined = request.headers.authorization
      ? await authenticate(() => authenticator.authenticate(request.headers.authorization, request.ip))
      : undefined;
    let clientKnown: Promise<void> | undefined;
    let upload: Writable | undefined;
    let staging: Promise<StagedContent> | undefined;
    let call: SoapCall;
    try {
      // Not destroyed when reading stops early: Node discards the rest of the body after the fault is sent.
      const body = request.raw.iterator({ destroyOnReturn: false });
      // A sender that stops sending mid-body is cut off rather than held open for ever.
      watchForIdleBody(socket);
      call = await readSoapRequest(body, request.headers['content-type'], maxBodySize, {
        authenticate(header: SoapHeader) {
          version = header.version;
          clientKnown = (async () => {
            if (client) return;
            if (!header.usernameToken) {
              throw new SignetError('unauthorized', 'Send HTTP Basic credentials or a WS-Security UsernameToken (PasswordText) with the client service id and secret');
            }
            const { username, password } = header.usernameToken;
            client = await authenticate(() => authenticator.checkCredentials(username, password, request.ip));
          })();
          return clientKnown;
        },
        openFileData() {
          const { sink, staged } = contentStagingSink(context.store, clientKnown!);
          upload = sink;
          // A failure before staging starts must not be an unhandled 'error' event; staging reports it.
          sink.on('error', () => {});
          staging = staged;
          // The store failing mid-upload ends the upload too, so the reader stops waiting for room.
          staged.catch((error: unknown) => sink.destroy(error as Error));
          return sink;
        },
      });
      version = call.version;
    } catch (error) {
      // The idle timeout stays: Node discards the rest of the body, and a trickle is still cut off.
      upload?.destroy(error as Error);
      await staging?.then((staged) => discardContent(context.store, staged)).catch(() => {});
      return sendFault(request, reply, error, version);
    }
    // The whole body arrived: the connection may idle again between requests (keep-alive).
    socket.setTimeout(0);
    const staged = staging ? await staging : undefined;
    try {
      const values = await performOperation(context, client!, call, staged);
      return reply.type(contentTypeOf(call.version)).send(responseEnvelope(call.version, call.operation, operations[call.operation].response, values));
    } catch (error) {
      return sendFault(request, reply, error, call.version);
    }
  });
};

const idleBodyListener = Symbol('signet idle body listener');

/**
 * While a body is read, a socket idle for BODY_IDLE_TIMEOUT_MS is destroyed. One listener per socket,
 * whatever number of requests it carries (keep-alive); `setTimeout(0)` switches it off.
 */
function watchForIdleBody(socket: Socket & { [idleBodyListener]?: () => void }): void {
  socket.setTimeout(BODY_IDLE_TIMEOUT_MS);
  if (!socket[idleBodyListener]) {
    socket[idleBodyListener] = () => {
      if (socket.timeout) socket.destroy(new Error('the request body stopped arriving'));
    };
    socket.on('timeout', socket[idleBodyListener]);
  }
}

/** A client service's wrong secret is `unauthorized` on this surface as on /v1 (invalid_client is the token endpoint's). */
async function authenticate(check: () => Promise<ClientService>): Promise<ClientService> {
  try {
    return await check();
  } catch (error) {
    if (isSignetError(error) && error.code === 'invalid_client') throw new SignetError('unauthorized', 'Unknown client id or wrong secret');
    throw error;
  }
}

/**
 * SOAP 1.1 answers every fault with HTTP 500; SOAP 1.2 with 400 for the sender's mistakes and 500
 * otherwise. The native code travels in detail/Fault/Code; a transient failure says when to retry.
 */
function sendFault(request: FastifyRequest, reply: FastifyReply, error: unknown, version: SoapVersion): FastifyReply {
  const problem = toProblem(error);
  if (problem.status >= 500) request.log.error({ err: error }, 'SOAP request failed');
  const soapCode = problem.code === 'must_understand' ? 'MustUnderstand' : problem.code === 'version_mismatch' ? 'VersionMismatch' : undefined;
  // SOAP 1.2's HTTP binding: 400 for a Sender fault only; MustUnderstand and VersionMismatch are 500.
  const sender = problem.status < 500 && soapCode === undefined;
  if (problem.status === 503) reply.header('Retry-After', '5');
  if (problem.status === 429) reply.header('Retry-After', '60');
  const body = faultEnvelope(version, { sender: problem.status < 500, code: problem.code, message: problem.detail, soapCode });
  return reply
    .code(version === '1.1' || !sender ? 500 : 400)
    .type(contentTypeOf(version))
    .send(body);
}

/** Before the Envelope is read, the Content-Type tells the version: SOAP 1.2 is application/soap+xml (also as MTOM's type). */
function versionFromContentType(contentType: string | undefined): SoapVersion {
  const { mediaType, parameters } = contentTypeParameters(contentType ?? '');
  if (mediaType === 'application/soap+xml') return '1.2';
  if (mediaType === 'multipart/related' && /application\/soap\+xml/i.test(`${parameters['start-info'] ?? ''} ${parameters.type ?? ''}`)) return '1.2';
  return '1.1';
}

