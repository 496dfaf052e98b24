import type { ServeConfig } from '../config/serve-config.js';
import { resolveSecretReference } from '../config/signing-keys.js';
import { FailoverTimestampClient } from '../crypto/tsp/failover-timestamp-client.js';
import { HttpTimestampClient } from '../crypto/tsp/http-timestamp-client.js';
import type { TimestampClient } from '../crypto/tsp/timestamp-client.js';

/**
 * The time-stamping authorities of `--tsa-url`, tried in order. A URL's password may be a secret
 * reference (`https://alice:env:TSA_PASSWORD@tsa.example/`, `file:…` relative to the work folder),
 * resolved here so that no secret sits in the flag, the environment listing or the log. Undefined
 * when none is configured (the built-in TSA answers).
 */
export async function setUpExternalTsas(config: Pick<ServeConfig, 'tsaUrls' | 'workFolder'>): Promise<TimestampClient | undefined> {
  if (config.tsaUrls.length === 0) return undefined;
  const clients: TimestampClient[] = [];
  for (const [index, text] of config.tsaUrls.entries()) {
    const url = new URL(text);
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    const credentials = username || password ? { username, password: await resolveSecretReference(password, config.workFolder, `--tsa-url #${index + 1} (${url.href}) password`) } : undefined;
    clients.push(new HttpTimestampClient(url.href, { ...(credentials && { credentials }) }));
  }
  return clients.length === 1 ? clients[0] : new FailoverTimestampClient(clients);
}
