import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { currentTimeMs } from '../../util/clock.js';

/**
 * Access tokens are compact JWTs (RFC 7519) signed with HS256. The key lives in the shared
 * database, so a token issued by one instance is accepted by every other. Each token carries the
 * fingerprint of its client's configured secret: changing the secret, or removing the client,
 * ends every token issued before.
 */
export interface AccessTokenClaims {
  sub: string;
  /**
   * HMAC (with the token key) of the client's configured-secret fingerprint at issue time. Keyed,
   * because a token's payload is readable: a bare hash of a plain secret could be attacked offline.
   */
  sfp: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

export class AccessTokens {
  constructor(private readonly key: Buffer) {}

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  issue(clientId: string, secretFingerprint: string, ttlSeconds: number, now = currentTimeMs()): { token: string; claims: AccessTokenClaims } {
    const iat = Math.floor(now / 1000);
    const claims: AccessTokenClaims = {
      sub: clientId,
      sfp: this.bindSecret(secretFingerprint),
      scope: 'signet',
      iat,
      exp: iat + ttlSeconds,
      jti: randomBytes(16).toString('hex'),
    };
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(JSON.stringify(claims));
    return { token: `${header}.${payload}.${this.mac(`${header}.${payload}`)}`, claims };
  }

  /** The claims of a genuine, unexpired token; undefined for anything else. */
  verify(token: string, now = currentTimeMs()): AccessTokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts;
    const expected = Buffer.from(this.mac(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      if (head.alg !== 'HS256') return undefined;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
      if (claims.exp * 1000 <= now) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  /** True when the token was issued under the secret the client has now. */
  matchesSecret(claims: AccessTokenClaims, secretFingerprint: string): boolean {
    const expected = Buffer.from(this.bindSecret(secretFingerprint));
    const given = Buffer.from(String(claims.sfp));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private bindSecret(secretFingerprint: string): string {
    return this.mac(`secret:${secretFingerprint}`).slice(0, 22);
  }

  private mac(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
