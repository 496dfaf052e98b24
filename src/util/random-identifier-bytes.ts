import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for identifiers (UUIDs, a PDF's /ID, temporary file names), served from a pool
 * refilled 4 KB at a time — what Node's own `crypto.randomUUID` does. Each `randomBytes(16)` is a
 * call into OpenSSL's generator: 2 µs here, and 2 % of a whole PAdES signature in a profile; from the
 * pool it is a 16-byte copy.
 *
 * Not for secrets (keys, passwords, tokens, nonces): those keep `crypto.randomBytes`, so their bytes
 * never sit in a long-lived buffer of the process.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `length` fresh random bytes (at most 256), in a buffer of their own. */
export function randomIdentifierBytes(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 256) throw new RangeError(`randomIdentifierBytes: ${length} is not a length from 0 to 256`);
  if (offset + length > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + length));
  offset += length;
  return bytes;
}
