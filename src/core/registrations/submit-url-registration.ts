import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { resolveCallbackUrl } from '../deliveries/resolve-callback-url.js';
import { enqueueTask, type SubmitResult } from '../tasks/enqueue-task.js';
import { validate } from './submit-file-registration.js';

export interface UrlRegistrationRequest {
  url: string;
  userId: string;
  userEmail: string;
  title?: string;
  description?: string;
  externalReference?: string;
  callbackUrl?: string;
}

export interface RegisterUrlTaskRequest {
  url: string;
  userId: string;
  userEmail: string;
  title: string | null;
  description: string | null;
}

/** Network failures are retried a few times; a page that is gone does not come back by waiting long. */
const REGISTER_URL_MAX_ATTEMPTS = 4;

/**
 * SubmitUrlRegistrationTask: the URL is checked against the outbound address policy now (scheme,
 * DNS answers), so a refused address is a 422 `url_not_allowed` at once; the capture checks again
 * on every connection and redirect, since DNS answers change.
 */
export async function submitUrlRegistration(context: CoreContext, client: ClientIdentity, request: UrlRegistrationRequest): Promise<SubmitResult> {
  validate({ ...request });
  if (typeof request.url !== 'string' || request.url.length > 2000) {
    throw new SignetError('invalid_request', 'url is required (at most 2000 characters)', { field: 'url' });
  }
  try {
    await context.outbound.checkResolvedUrl(request.url);
  } catch (error) {
    if (isSignetError(error)) throw new SignetError(error.code, `url: ${error.message}`, { field: 'url' });
    const code = (error as NodeJS.ErrnoException).code;
    throw new SignetError('url_not_allowed', `url: cannot resolve its host (${code ?? (error as Error).message})`, { field: 'url' });
  }
  const callbackUrl = await resolveCallbackUrl(context, client, request.callbackUrl);
  const taskRequest: RegisterUrlTaskRequest = {
    url: request.url,
    userId: request.userId,
    userEmail: request.userEmail.trim(),
    title: request.title ?? null,
    description: request.description ?? null,
  };
  return enqueueTask(context, client, {
    kind: 'register-url',
    externalReference: request.externalReference ?? null,
    identity: taskRequest,
    requestJson: JSON.stringify(taskRequest),
    description: request.description ?? null,
    callbackUrl: callbackUrl ?? null,
    maxAttempts: REGISTER_URL_MAX_ATTEMPTS,
  });
}
