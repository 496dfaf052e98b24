import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodes, type ErrorCode } from '../../errors/codes.js';
import { isSignetError } from '../../errors/signet-error.js';
import { toProblem } from '../problem.js';
import type { ErrorBody } from './schemas.js';

/** A mandatory attribute of a Sign'Stash request is absent (or null). `path` is Sign'Stash's own naming. */
export class MissingAttribute extends Error {
  constructor(readonly path: string) {
    super(`missing ${path}`);
    this.name = 'MissingAttribute';
  }
}

/**
 * Sign'Stash error codes. Only 0.0.2 is fixed by the examples (../shared/signstash/error-response.json);
 * the others follow the same numbering and are Signet's choice. Clients branch on the HTTP status
 * (401 → new token, 4xx → fix the request, 5xx → retry), and log code and message.
 */
const SIGNSTASH_ERRORS = {
  unexpected: { errorCode: '0.0.1', errorCodeDescription: 'Unexpected error.' },
  missing: { errorCode: '0.0.2', errorCodeDescription: 'Mandatory attribute is missing.' },
  invalid: { errorCode: '0.0.3', errorCodeDescription: 'Invalid attribute value.' },
  notFound: { errorCode: '0.0.4', errorCodeDescription: 'Resource not found.' },
  unauthorized: { errorCode: '0.0.5', errorCodeDescription: 'Authentication failed or the access token is invalid or expired.' },
  forbidden: { errorCode: '0.0.6', errorCodeDescription: 'The client service is not allowed to do this.' },
  conflict: { errorCode: '0.0.7', errorCodeDescription: 'The request conflicts with the current state of the operation.' },
  unavailable: { errorCode: '0.0.8', errorCodeDescription: 'The service is temporarily unavailable; retry later.' },
} as const;

function categoryOf(code: ErrorCode, status: number): keyof typeof SIGNSTASH_ERRORS {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (code === 'not_found') return 'notFound';
  if (status === 409) return 'conflict';
  if (status === 429 || status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'unexpected';
}

export function toSignstashError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof MissingAttribute) return { status: 400, body: { ...SIGNSTASH_ERRORS.missing, causeMessage: error.message } };
  const fastifyError = error as FastifyError;
  if (!isSignetError(error) && fastifyError?.validation) {
    const first = fastifyError.validation[0] ?? {};
    const where = fastifyError.validationContext === 'body' ? 'signDocumentRequest' : (fastifyError.validationContext ?? 'request');
    const path = first.instancePath ? `${where}${jsonPointerToPath(first.instancePath)}` : where;
    return { status: 400, body: { ...SIGNSTASH_ERRORS.invalid, causeMessage: `invalid ${path}: ${first.message ?? 'is not valid'}` } };
  }
  // Everything else goes through the native mapping first, so codes and statuses stay one table.
  const problem = toProblem(error);
  const status = errorCodes[problem.code].status;
  return { status, body: { ...SIGNSTASH_ERRORS[categoryOf(problem.code, status)], causeMessage: problem.detail } };
}

/** "/documents/0/signatureInfo" → ".documents[0].signatureInfo" */
export function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
}

export function sendSignstashError(reply: FastifyReply, error: unknown, request?: FastifyRequest): FastifyReply {
  const { status, body } = toSignstashError(error);
  // An outage is logged by the engine once; a line per refused request would bury it.
  const unavailable = isSignetError(error) && error.code === 'database_unavailable';
  if (status >= 500 && !unavailable && request) request.log.error({ err: error }, 'request failed');
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="signet"');
  if (status === 429) reply.header('Retry-After', '60');
  if (status === 503) reply.header('Retry-After', '5');
  return reply.code(status).type('application/json').send(body);
}
