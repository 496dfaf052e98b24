import { stat } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/module-worker.js';
import type { CheckpointThreadData } from './checkpoint-thread.js';

/** SQLite's own threshold (1,000 pages of 4 KB): the WAL is copied back as often as SQLite would. */
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;
/**
 * The service's connection still checkpoints by itself past this many pages (64 MB): the safety
 * valve if the thread cannot start or keep up. database.ts sets it.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

/**
 * Checkpoints of the embedded database on a thread of their own. SQLite checkpoints inside whichever
 * COMMIT fills the WAL past 1,000 pages, on the event loop, with two fsyncs: in bench/registrations.ts
 * 124 of 12,500 commits took over 1 ms (400 ms of a 1.9 s SQLite total), every client waiting.
 *
 * The thread starts only once the WAL has reached the threshold (a quiet store, or a test, never
 * pays for it); the service's commits tell it when they wrote, and the WAL is measured at most once
 * a second.
 */
export class SqliteCheckpointer {
  #worker: Worker | undefined;
  #checkedAt = -Infinity;
  #checking = false;
  #closed = false;
  checkpoints = 0;

  constructor(private readonly databaseFile: string) {}

  /** After a commit that wrote: start the thread once the WAL is big enough to need it. */
  noteWrite(): void {
    if (this.#worker || this.#checking || this.#closed || performance.now() - this.#checkedAt < 1000) return;
    this.#checking = true;
    this.#checkedAt = performance.now();
    stat(`${this.databaseFile}-wal`)
      .then((info) => {
        if (info.size >= CHECKPOINT_WAL_BYTES && !this.#closed) this.#start();
      })
      .catch(() => {})
      .finally(() => (this.#checking = false));
  }

  get running(): boolean {
    return this.#worker !== undefined;
  }

  #start(): void {
    const workerData: CheckpointThreadData = { file: this.databaseFile, walBytes: CHECKPOINT_WAL_BYTES, intervalMs: 100 };
    const worker = startModuleWorker(import.meta.url, './checkpoint-thread', { workerData });
    worker.unref();
    worker.on('message', (message: { checkpointed?: number }) => {
      if (message.checkpointed !== undefined) this.checkpoints++;
    });
    // The connection's own checkpoints (the fallback) carry on; a later write starts a new thread.
    const forget = () => {
      if (this.#worker === worker) this.#worker = undefined;
    };
    worker.on('error', forget);
    worker.on('exit', forget);
    this.#worker = worker;
  }

  /** Before the service's connection closes: that connection then does the last checkpoint. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    // Held open until the thread has closed its connection (it is unref'd otherwise).
    worker.ref();
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('close');
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    await worker.terminate();
  }
}
