import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ConfigError } from './config-error.js';

/*
 * Client secrets at rest: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (PHC string format, base64 without
 * padding) as written by `signet hash-secret`, or plain text as Sign'Stash files hold them.
 * ln=15, r=8 costs 32 MiB per check. Measured here (2 cores, Node 20.20): 114 ms per check, 8
 * concurrent checks 444 ms (libuv's pool); plain secrets 17 µs. Cheap for a token request,
 * expensive for a guesser, too dear for every HTTP Basic request: cache successful checks.
 */

const prefix = '$scrypt$';
const cost = { ln: 15, r: 8, p: 1 };
const saltBytes = 16;
const hashBytes = 32;

/** Caps on parameters read from a file, so a mistyped `ln=40` cannot take the machine's memory. */
const maxMemoryBytes = 256 * 1024 * 1024;
const maxParallelism = 16;

/** Per-process key for comparing plain secrets: equal-length MACs, so length and prefix do not leak. */
const comparisonKey = randomBytes(32);

export interface ScryptHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export function isHashedSecret(stored: string): boolean {
  return stored.startsWith(prefix);
}

export async function hashSecret(secret: string): Promise<string> {
  if (secret === '') throw new ConfigError('the secret must not be empty');
  const salt = randomBytes(saltBytes);
  const hash = await deriveKey(secret, { ...cost, salt }, hashBytes);
  return `${prefix}ln=${cost.ln},r=${cost.r},p=${cost.p}$${unpadded(salt)}$${unpadded(hash)}`;
}

/**
 * Whether `presented` matches the stored secret, in time that depends on neither. A malformed
 * `$scrypt$` value never matches (client-services.ts refuses such files before they get here).
 */
export async function verifySecret(stored: string, presented: string): Promise<boolean> {
  if (!isHashedSecret(stored)) {
    return timingSafeEqual(mac(stored), mac(presented));
  }
  const parsed = parseHashedSecret(stored);
  if (parsed === undefined) return false;
  const candidate = await deriveKey(presented, parsed, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}

/** The parts of a `$scrypt$` string, or undefined when it is malformed or its cost is out of bounds. */
export function parseHashedSecret(stored: string): ScryptHash | undefined {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(
    stored,
  );
  if (!match) return undefined;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const salt = Buffer.from(match[4], 'base64');
  const hash = Buffer.from(match[5], 'base64');
  const valid =
    ln >= 1 &&
    r >= 1 &&
    p >= 1 &&
    p <= maxParallelism &&
    memoryOf(ln, r) <= maxMemoryBytes &&
    salt.length >= 8 &&
    hash.length >= 16 &&
    hash.length <= 64;
  return valid ? { ln, r, p, salt, hash } : undefined;
}

function deriveKey(secret: string, params: Omit<ScryptHash, 'hash'>, length: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    // Node refuses anything above 32 MiB by default, which is exactly what ln=15,r=8 needs.
    maxmem: memoryOf(params.ln, params.r) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(secret, params.salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** scrypt's working memory: 128 · N · r bytes. */
function memoryOf(ln: number, r: number): number {
  return 128 * 2 ** ln * r;
}

function mac(text: string): Buffer {
  return createHmac('sha256', comparisonKey).update(text, 'utf8').digest();
}

function unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
