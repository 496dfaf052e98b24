import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { RequestThreads } from '../../util/request-threads.js';
import type { KeyBroadcast, SignRequest } from './signing-thread.js';

/**
 * RSA private-key operations on worker threads, so the event loop that parses uploads, runs SQL and
 * lays out PDFs uses one core while signatures use the others. An RSA-2048 signature costs ~0.3 ms;
 * a PAdES-B-T document needs two (its own and the time-stamp's), a registration one — on the event
 * loop they were a quarter of its time (bench/batch-http.ts, bench/registrations.ts profiles).
 *
 * Only software keys (PEM, PKCS#12) come here: a key is handed to every thread once (KeyObjects
 * cross threads by structured clone) and requests name it by number. PKCS#11 keys stay with their
 * token session in the main thread.
 */
export class SigningThreads {
  readonly #threads: RequestThreads<SignRequest, Uint8Array>;
  #keys = 0;

  constructor(options: { size?: number } = {}) {
    this.#threads = new RequestThreads(import.meta.url, './signing-thread', options.size ?? availableParallelism());
  }

  get size(): number {
    return this.#threads.size;
  }

  /** Makes `key` available to the threads; the answer signs a DigestInfo (RFC 8017 §9.2) with it. */
  registerRsaKey(key: KeyObject): (digestInfo: Buffer) => Promise<Buffer> {
    const keyId = this.#keys++;
    this.#threads.broadcast({ keyId, key } satisfies KeyBroadcast);
    return async (digestInfo) => {
      try {
        const signature = await this.#threads.request({ keyId, digestInfo });
        return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
      } catch (error) {
        throw new Error(`RSA signing failed: ${(error as Error).message}`, { cause: error });
      }
    };
  }

  close(): Promise<void> {
    return this.#threads.close();
  }
}
