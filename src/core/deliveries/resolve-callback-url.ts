import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';

/**
 * The callback URL a new task records: the request's, else the client's default. Checked now, with
 * DNS, so a client learns at once that its URL points somewhere callbacks may not go; every
 * delivery attempt checks again (addresses change).
 */
export async function resolveCallbackUrl(
  context: CoreContext,
  client: ClientIdentity,
  requested: string | undefined,
): Promise<string | undefined> {
  const url = requested ?? client.callbackUrl;
  if (!url) return undefined;
  try {
    await context.outbound.checkResolvedUrl(url);
  } catch (error) {
    if (isSignetError(error)) throw new SignetError(error.code, `callbackUrl: ${error.message}`, { field: 'callbackUrl' });
    const code = (error as NodeJS.ErrnoException).code;
    throw new SignetError('url_not_allowed', `callbackUrl: cannot resolve its host (${code ?? (error as Error).message})`, {
      field: 'callbackUrl',
    });
  }
  return url;
}
