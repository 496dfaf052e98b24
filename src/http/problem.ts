import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodes, type ErrorCode } from '../errors/codes.js';
import { isSignetError } from '../errors/signet-error.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  field?: string;
}

/** Fastify's own error codes that are the caller's fault, mapped to ours. */
const frameworkErrors: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_FILES_LIMIT: 'too_many_documents',
  FST_PARTS_LIMIT: 'too_many_documents',
  FST_FIELDS_LIMIT: 'invalid_request',
  FST_PROTO_VIOLATION: 'invalid_json',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_json',
};

/** Turns any error into an RFC 9457 problem; unknown errors become a bare 500 (details are logged, not sent). */
export function toProblem(error: unknown): Problem {
  if (isSignetError(error)) {
    return problem(error.code, error.message, error.field);
  }
  const fastifyError = error as FastifyError & { validation?: Array<{ instancePath?: string; message?: string; params?: any }> };
  if (fastifyError?.validation) {
    const first = fastifyError.validation[0] ?? {};
    const missing = first.params?.missingProperty as string | undefined;
    const field = fieldName(first.instancePath ?? '', missing);
    const where = fastifyError.validationContext && fastifyError.validationContext !== 'body' ? `${fastifyError.validationContext} ` : '';
    return problem('invalid_request', `${where}${field || 'body'}: ${first.message ?? 'is not valid'}`, field || undefined);
  }
  if (error instanceof SyntaxError || (fastifyError?.statusCode === 400 && /JSON/i.test(fastifyError.message ?? ''))) {
    return problem('invalid_json', `The body is not valid JSON: ${fastifyError.message}`);
  }
  const mapped = fastifyError?.code ? frameworkErrors[fastifyError.code] : undefined;
  if (mapped) return problem(mapped, fastifyError.message);
  if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return problem('invalid_request', fastifyError.message);
  }
  return problem('internal_error', 'Something failed on our side; it was logged. Retry later.');
}

function problem(code: ErrorCode, detail: string, field?: string): Problem {
  const { status, title } = errorCodes[code];
  return { type: `urn:signet:error:${code}`, title, status, detail, code, ...(field && { field }) };
}

/** "/documents/0/name" → "documents[0].name" — the form our messages use. */
function fieldName(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  return parts.reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export function sendProblem(reply: FastifyReply, error: unknown, request?: FastifyRequest): FastifyReply {
  const body = toProblem(error);
  // An outage is logged by the engine once; a line per refused request would bury it.
  if (body.status >= 500 && body.code !== 'database_unavailable' && request) request.log.error({ err: error }, 'request failed');
  if (body.code === 'too_many_failed_attempts') reply.header('Retry-After', '60');
  if (body.code === 'verification_busy') reply.header('Retry-After', '2');
  if (body.code === 'database_unavailable') reply.header('Retry-After', '5');
  if (body.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="signet", Basic realm="signet"');
  return reply.code(body.status).type('application/problem+json').send(body);
}
