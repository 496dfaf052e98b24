import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../util/module-worker.js';
import { errorCodes, type ErrorCode } from '../../errors/codes.js';
import { SignetError } from '../../errors/signet-error.js';
import type { XadesPrepareRequest, XadesPrepared } from './xades-prepare.js';
import type { WorkerRequest, WorkerResponse } from './xades-worker.js';

/**
 * A fixed-size pool of worker threads that read, canonicalize and digest XML documents for XAdES
 * (xades-prepare.ts), so that a 200 KB invoice never holds the event loop; signing stays with the Signer
 * in the calling thread (it may be an HSM). One document per worker at a time; the rest wait in order.
 * Workers start through startModuleWorker (dist/ or TypeScript sources alike).
 */

export interface XadesPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  size?: number;
  /**
   * V8 old-generation limit per worker (default 512). Documents larger than a quarter of it are refused
   * with invalid_xml before they reach a worker: see `maxDocumentBytes`.
   */
  maxWorkerMemoryMb?: number;
}

interface Job {
  request: XadesPrepareRequest;
  transfer: ArrayBuffer[];
  resolve: (prepared: XadesPrepared) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  job: Job | null;
  jobId: number;
}

const DEFAULT_WORKER_MEMORY_MB = 512;

export class XadesPool {
  readonly size: number;
  /**
   * A worker holds the document's bytes (off-heap), its decoded text (1 or 2 bytes per character on the
   * heap) and, besides, only what the scanner's depth and attribute bounds allow. A quarter of the heap
   * limit leaves room for a two-byte string and garbage. The size is checked here rather than left to
   * resourceLimits because V8 does not always stop a worker cleanly at its limit: a 34 MB document in a
   * 16 MB worker aborted the whole process ("Reached heap limit", Node 20.20), where a 64 MB worker signed it.
   */
  readonly maxDocumentBytes: number;
  private readonly maxWorkerMemoryMb: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextJobId = 1;
  private closed = false;

  constructor(options: XadesPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.maxWorkerMemoryMb = options.maxWorkerMemoryMb ?? DEFAULT_WORKER_MEMORY_MB;
    this.maxDocumentBytes = Math.floor((this.maxWorkerMemoryMb * 1024 * 1024) / 4);
  }

  /**
   * Runs prepareXadesSignature in a worker. `transfer` lists buffers handed over to the worker (they are
   * unusable here afterwards); pass the document's own ArrayBuffer only when nothing else shares it.
   */
  prepare(request: XadesPrepareRequest, transfer: ArrayBuffer[] = []): Promise<XadesPrepared> {
    if (this.closed) return Promise.reject(new SignetError('shutting_down', 'The XML signing pool is closed'));
    if (request.document.length > this.maxDocumentBytes) {
      const megabytes = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);
      return Promise.reject(
        new SignetError(
          'invalid_xml',
          `The XML document is ${megabytes(request.document.length)} MB; XML signing accepts at most ${megabytes(this.maxDocumentBytes)} MB`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; jobs still waiting or running fail with shutting_down. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new SignetError('shutting_down', 'The XML signing pool is closed'));
    const workers = this.workers.splice(0);
    for (const entry of workers) entry.job?.reject(new SignetError('shutting_down', 'The XML signing pool is closed'));
    await Promise.all(workers.map((entry) => entry.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let entry = this.workers.find((candidate) => candidate.job === null);
      if (!entry) {
        if (this.workers.length >= this.size) return;
        entry = this.startWorker();
      }
      const job = this.queue.shift()!;
      entry.job = job;
      entry.jobId = this.nextJobId++;
      entry.worker.ref(); // a running job keeps the process alive; an idle pool does not
      const message: WorkerRequest = { id: entry.jobId, request: job.request };
      try {
        entry.worker.postMessage(message, job.transfer);
      } catch (error) {
        entry.job = null;
        entry.worker.unref();
        job.reject(error as Error);
      }
    }
  }

  private startWorker(): PoolWorker {
    const worker = createWorker(this.maxWorkerMemoryMb);
    worker.unref();
    const entry: PoolWorker = { worker, job: null, jobId: 0 };
    this.workers.push(entry);
    worker.on('message', (response: WorkerResponse) => {
      const job = entry.job;
      if (!job || response.id !== entry.jobId) return;
      entry.job = null;
      worker.unref();
      if (response.ok) job.resolve(response.prepared);
      else job.reject(reviveError(response.error));
      this.dispatch();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      this.retire(entry, workerFailure(error));
    });
    worker.on('exit', (exitCode) => {
      this.retire(entry, new SignetError('internal_error', `The XML signing worker stopped (exit code ${exitCode})`));
    });
    return entry;
  }

  /** A worker that crashed fails only its own job; the next job gets a fresh worker. */
  private retire(entry: PoolWorker, error: Error): void {
    const index = this.workers.indexOf(entry);
    if (index === -1) return;
    this.workers.splice(index, 1);
    const job = entry.job;
    entry.job = null;
    job?.reject(error);
    void entry.worker.terminate();
    if (!this.closed) this.dispatch();
  }
}

function createWorker(maxWorkerMemoryMb: number): Worker {
  return startModuleWorker(import.meta.url, './xades-worker', { resourceLimits: { maxOldGenerationSizeMb: maxWorkerMemoryMb } });
}

function workerFailure(error: Error & { code?: string }): SignetError {
  if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new SignetError('invalid_xml', 'The document needs more memory than an XML signing worker may use; it is too large to sign', {
      cause: error,
    });
  }
  return new SignetError('internal_error', `The XML signing worker failed: ${error.message}`, { cause: error });
}

function reviveError(error: { code: string | null; message: string }): Error {
  if (error.code !== null && error.code in errorCodes) return new SignetError(error.code as ErrorCode, error.message);
  return new SignetError('internal_error', `XML signing failed: ${error.message}`);
}

let defaultPool: XadesPool | null = null;

/** The process-wide pool, started on first use (workers start lazily, one per concurrent document). */
export function defaultXadesPool(): XadesPool {
  defaultPool ??= new XadesPool();
  return defaultPool;
}

/** For shutdown: stops the process-wide pool if it was started. */
export async function closeDefaultXadesPool(): Promise<void> {
  const pool = defaultPool;
  defaultPool = null;
  await pool?.close();
}
