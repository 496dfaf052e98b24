import { createHash } from 'node:crypto';
import type { ClientService } from '../../config/client-services.js';
import { verifySecret } from '../../config/secret-hash.js';
import { SignetError } from '../../errors/signet-error.js';
import type { AccessTokens } from './access-tokens.js';
import type { FailedAttempts } from './failed-attempts.js';

export interface ClientDirectory {
  get(id: string): ClientService | undefined;
  onChange(listener: () => void): unknown;
}

/**
 * Decides who is calling: a bearer token from the token endpoint, or HTTP Basic with the client's
 * id and secret (API.md §1). Hashed secrets take a deliberate ~50 ms to check, so a successful
 * Basic check is remembered (by a hash of what was presented, never the secret itself) until the
 * configuration changes.
 */
export class Authenticator {
  private readonly verified = new Map<string, true>();

  constructor(
    private readonly clients: ClientDirectory,
    private readonly tokens: AccessTokens,
    private readonly failures: FailedAttempts,
  ) {
    clients.onChange(() => this.verified.clear());
  }

  /** Checks a client id and secret; every failure counts against that client id from that address. */
  async checkCredentials(clientId: string, secret: string, address: string): Promise<ClientService> {
    // Failures count per address *and* client id: guessing one client's secret gets slow without
    // locking out the other clients behind the same NAT or ERP server.
    const source = `${address} ${clientId}`;
    this.refuseIfBlocked(source);
    const client = this.clients.get(clientId);
    const cacheKey = createHash('sha256').update(`${clientId}\0${secret}\0${client?.secretFingerprint ?? ''}`).digest('base64');
    if (client && this.verified.has(cacheKey)) return client;
    // Unknown ids are checked against a dummy so timing does not reveal which ids exist.
    const ok = await verifySecret(client?.secret ?? 'signet-no-such-client', secret);
    if (!client || !ok) {
      this.failures.recordFailure(source);
      throw new SignetError('invalid_client', 'Unknown client id or wrong secret');
    }
    if (this.verified.size > 1000) this.verified.clear();
    this.verified.set(cacheKey, true);
    return client;
  }

  async authenticate(authorization: string | undefined, source: string): Promise<ClientService> {
    if (!authorization) {
      throw new SignetError('unauthorized', 'Send "Authorization: Bearer <token>" (from POST /oauth/token) or HTTP Basic credentials');
    }
    const [scheme, value = ''] = authorization.split(/\s+/, 2);
    if (/^basic$/i.test(scheme)) {
      const credentials = parseBasic(value);
      if (!credentials) throw new SignetError('unauthorized', 'Malformed HTTP Basic credentials');
      try {
        return await this.checkCredentials(credentials.clientId, credentials.secret, source);
      } catch (error) {
        if (error instanceof SignetError && error.code === 'invalid_client') {
          throw new SignetError('unauthorized', 'Unknown client id or wrong secret');
        }
        throw error;
      }
    }
    if (/^bearer$/i.test(scheme)) {
      // Tokens are unguessable MACs, so bad ones are not counted as guessing: an expired token is
      // the normal prompt for a client to fetch a new one.
      const claims = this.tokens.verify(value);
      const client = claims ? this.clients.get(claims.sub) : undefined;
      if (!claims || !client || !this.tokens.matchesSecret(claims, client.secretFingerprint)) {
        throw new SignetError('unauthorized', 'The access token is invalid or expired; request a new one from POST /oauth/token');
      }
      return client;
    }
    throw new SignetError('unauthorized', `Unsupported authorization scheme "${scheme}"; use Bearer or Basic`);
  }

  private refuseIfBlocked(source: string): void {
    if (this.failures.isBlocked(source)) {
      throw new SignetError(
        'too_many_failed_attempts',
        `Too many failed authentication attempts for this client from this address; retry in ${this.failures.retryAfterSeconds(source)} s`,
      );
    }
  }
}

/**
 * RFC 7617. RFC 6749 §2.3.1 asks clients to form-urlencode id and secret first, but common clients
 * (the Sign'Stash Java client among them) do not; decoding would corrupt secrets holding '+' or
 * '%', so the values are taken as sent.
 */
export function parseBasic(value: string): { clientId: string; secret: string } | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
