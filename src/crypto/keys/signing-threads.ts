import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../util/module-worker.js';
import type { SigningThreadAnswer, SigningThreadMessage } from './signing-thread.js';

/**
 * RSA private-key operations on worker threads, so the event loop that parses uploads, runs SQL and
 * lays out PDFs uses one core while signatures use the others. An RSA-2048 signature costs ~0.3 ms;
 * a PAdES-B-T document needs two (its own and the time-stamp's), a registration one — on the event
 * loop they were a quarter of its time (bench/batch-http.ts, bench/registrations.ts profiles).
 *
 * Only software keys (PEM, PKCS#12) come here: a key is handed to every thread once (KeyObjects
 * cross threads by structured clone) and requests name it by number. PKCS#11 keys stay with their
 * token session in the main thread. Requests go to the thread with the fewest outstanding; a thread
 * that dies fails only its outstanding requests and is replaced on the next request.
 */
export class SigningThreads {
  readonly size: number;
  readonly #keys: KeyObject[] = [];
  readonly #threads: Array<Thread | undefined>;
  #nextRequest = 1;
  #closed = false;

  constructor(options: { size?: number } = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.#threads = Array.from({ length: this.size }, () => undefined);
  }

  /** Makes `key` available to the threads; the answer signs a DigestInfo (RFC 8017 §9.2) with it. */
  registerRsaKey(key: KeyObject): (digestInfo: Buffer) => Promise<Buffer> {
    const keyId = this.#keys.push(key) - 1;
    for (const thread of this.#threads) thread?.worker.postMessage({ type: 'key', keyId, key } satisfies SigningThreadMessage);
    return (digestInfo) => this.#sign(keyId, digestInfo);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0, this.#threads.length);
    for (const thread of threads) if (thread) failAll(thread, new Error('The signing threads were stopped'));
    await Promise.all(threads.map((thread) => thread?.worker.terminate()));
  }

  #sign(keyId: number, digestInfo: Buffer): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('The signing threads were stopped'));
    const thread = this.#leastBusy();
    const id = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ type: 'sign', id, keyId, digestInfo } satisfies SigningThreadMessage);
    });
  }

  #leastBusy(): Thread {
    let best: Thread | undefined;
    for (let index = 0; index < this.#threads.length; index++) {
      const thread = (this.#threads[index] ??= this.#start(index));
      if (!best || thread.pending.size < best.pending.size) best = thread;
    }
    return best!;
  }

  #start(index: number): Thread {
    const worker = startModuleWorker(import.meta.url, './signing-thread');
    // An idle thread must not keep the process alive; one with requests does (see #sign).
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    for (const [keyId, key] of this.#keys.entries()) worker.postMessage({ type: 'key', keyId, key } satisfies SigningThreadMessage);
    worker.on('message', (answer: SigningThreadAnswer) => {
      const request = thread.pending.get(answer.id);
      if (!request) return;
      thread.pending.delete(answer.id);
      if (thread.pending.size === 0) worker.unref();
      if (answer.ok) request.resolve(Buffer.from(answer.signature.buffer, answer.signature.byteOffset, answer.signature.byteLength));
      else request.reject(new Error(`RSA signing failed: ${answer.message}`));
    });
    const retire = (error: Error) => {
      if (this.#threads[index] === thread) this.#threads[index] = undefined;
      failAll(thread, error);
    };
    worker.on('error', (error) => retire(new Error(`A signing thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => retire(new Error(`A signing thread stopped (exit code ${code})`)));
    return thread;
  }
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (signature: Buffer) => void; reject: (error: Error) => void }>;
}

function failAll(thread: Thread, error: Error): void {
  for (const request of thread.pending.values()) request.reject(error);
  thread.pending.clear();
}
