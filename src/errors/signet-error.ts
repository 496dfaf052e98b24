import { errorCodes, type ErrorCode } from './codes.js';

/**
 * The one error type our layers throw on purpose. `code` is stable and public; `message` is for a
 * person and must say what to do; `field` names the offending input when there is one.
 * `transient` marks failures worth retrying (a timestamp server down), never a bad input.
 */
export class SignetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field?: string;
  readonly transient: boolean;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { field?: string; cause?: unknown; transient?: boolean } = {},
  ) {
    super(message ?? errorCodes[code].title, { cause: options.cause });
    this.name = 'SignetError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.field = options.field;
    this.transient = options.transient ?? false;
  }
}

export function isSignetError(error: unknown): error is SignetError {
  return error instanceof SignetError;
}
