import type { Worker, WorkerOptions } from 'node:worker_threads';
import { startModuleWorker } from './module-worker.js';

/**
 * A fixed set of worker threads answering requests: each request goes to the thread with the fewest
 * outstanding, carries an id, and is answered once. Threads start on first use; an idle thread does
 * not keep the process alive. A thread that dies fails only its outstanding requests and is replaced
 * on the next request. Messages given to `broadcast` reach every thread, also those started later
 * (keys a thread must hold, for instance).
 *
 * The worker module answers `{ id, ok: true, value }` or `{ id, ok: false, message }` to each
 * `{ id, request }` it receives (see answerRequests).
 */
export class RequestThreads<Request, Answer> {
  readonly size: number;
  readonly #callerUrl: string;
  readonly #entry: string;
  readonly #broadcasts: unknown[] = [];
  readonly #broadcastKeys: Array<string | undefined> = [];
  readonly #threads: Array<Thread<Answer> | undefined>;
  #nextId = 1;
  #closed = false;

  /** `entry` is the worker module relative to `callerUrl`, without extension (startModuleWorker). */
  readonly #workerOptions: WorkerOptions;

  /** `workerOptions`: e.g. resourceLimits, so a thread that needs too much memory fails alone. */
  constructor(callerUrl: string, entry: string, size: number, workerOptions: WorkerOptions = {}) {
    this.#workerOptions = workerOptions;
    this.#callerUrl = callerUrl;
    this.#entry = entry;
    this.size = Math.max(1, size);
    this.#threads = Array.from({ length: this.size }, () => undefined);
  }

  /**
   * Sends `message` to every thread, now and when one starts later. With a `key`, it replaces the earlier
   * message of that key for threads started later (settings that change: only the latest matters).
   */
  broadcast(message: unknown, key?: string): void {
    const earlier = key === undefined ? -1 : this.#broadcastKeys.indexOf(key);
    if (earlier >= 0) this.#broadcasts[earlier] = message;
    else {
      this.#broadcasts.push(message);
      this.#broadcastKeys.push(key);
    }
    for (const thread of this.#threads) thread?.worker.postMessage({ broadcast: message });
  }

  request(request: Request): Promise<Answer> {
    if (this.#closed) return Promise.reject(new Error('The worker threads were stopped'));
    const thread = this.#leastBusy();
    const id = this.#nextId++;
    return new Promise<Answer>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0, this.#threads.length);
    for (const thread of threads) if (thread) failAll(thread, new Error('The worker threads were stopped'));
    await Promise.all(threads.map((thread) => thread?.worker.terminate()));
  }

  #leastBusy(): Thread<Answer> {
    let best: Thread<Answer> | undefined;
    for (let index = 0; index < this.#threads.length; index++) {
      const thread = (this.#threads[index] ??= this.#start(index));
      if (!best || thread.pending.size < best.pending.size) best = thread;
    }
    return best!;
  }

  #start(index: number): Thread<Answer> {
    const worker = startModuleWorker(this.#callerUrl, this.#entry, this.#workerOptions);
    worker.unref();
    const thread: Thread<Answer> = { worker, pending: new Map() };
    for (const message of this.#broadcasts) worker.postMessage({ broadcast: message });
    worker.on('message', (answer: ThreadAnswer<Answer>) => {
      const waiting = thread.pending.get(answer.id);
      if (!waiting) return;
      thread.pending.delete(answer.id);
      if (thread.pending.size === 0) worker.unref();
      if (answer.ok) waiting.resolve(answer.value);
      else waiting.reject(Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {}));
    });
    const retire = (error: Error) => {
      if (this.#threads[index] === thread) this.#threads[index] = undefined;
      failAll(thread, error);
    };
    worker.on('error', (error) => retire(new Error(`A worker thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => retire(new Error(`A worker thread stopped (exit code ${code})`)));
    return thread;
  }
}

export type ThreadAnswer<Answer> =
  | { id: number; ok: true; value: Answer }
  | { id: number; ok: false; message: string; code?: string };

interface Thread<Answer> {
  worker: Worker;
  pending: Map<number, { resolve: (value: Answer) => void; reject: (error: Error) => void }>;
}

function failAll<Answer>(thread: Thread<Answer>, error: Error): void {
  for (const waiting of thread.pending.values()) waiting.reject(error);
  thread.pending.clear();
}
