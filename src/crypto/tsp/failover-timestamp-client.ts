import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { TimestampClient } from './timestamp-client.js';

/** A TSA that failed transiently is skipped this long, so an outage does not cost every document a timeout. */
const COOL_DOWN_MS = 30_000;

/**
 * Several TSAs tried in order (`--tsa-url A,B,…`, as Documenso's list): the first that answers with a
 * good token wins. A TSA that failed transiently (down, 5xx, timeout) is passed over for a while and
 * tried again after; one that refused (`tsa_failed`) is passed over for this request only, since
 * another may grant it. When every TSA failed, the failure is transient if any of them was
 * (`tsa_unavailable`: the task waits and retries), else `tsa_failed`; the message names each.
 */
export class FailoverTimestampClient implements TimestampClient {
  readonly name: string;
  readonly #downUntil = new Map<TimestampClient, number>();

  constructor(
    private readonly clients: readonly TimestampClient[],
    private readonly now: () => number = Date.now,
  ) {
    if (clients.length === 0) throw new TypeError('FailoverTimestampClient needs at least one TSA');
    this.name = clients.map((client) => client.name).join(', ');
  }

  async timestamp(digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Promise<Buffer> {
    return (await this.timestampFrom(digest, hash)).token;
  }

  async timestampFrom(digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Promise<{ token: Buffer; tsa: string }> {
    const now = this.now();
    const up = this.clients.filter((client) => (this.#downUntil.get(client) ?? 0) <= now);
    // All cooling down: try them all rather than fail without asking.
    const order = up.length > 0 ? [...up, ...this.clients.filter((client) => !up.includes(client))] : [...this.clients];
    const failures: SignetError[] = [];
    for (const client of order) {
      try {
        const token = await client.timestamp(digest, hash);
        this.#downUntil.delete(client);
        return { token, tsa: client.name };
      } catch (error) {
        if (!isSignetError(error)) throw error;
        failures.push(error);
        if (error.transient) this.#downUntil.set(client, this.now() + COOL_DOWN_MS);
      }
    }
    if (failures.length === 1) throw failures[0]!;
    const message = `No time-stamping authority answered: ${failures.map((failure) => failure.message).join('; ')}`;
    const transient = failures.some((failure) => failure.transient);
    throw new SignetError(transient ? 'tsa_unavailable' : 'tsa_failed', message, { transient, cause: failures[0] });
  }
}
