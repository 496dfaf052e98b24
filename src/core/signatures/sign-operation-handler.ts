import type { TaskHandler } from '../../engine/task-runner.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { DocumentResult, DocumentRow } from '../../store/document-repository.js';
import { mapLimit } from '../../util/map-limit.js';
import type { CoreContext } from '../core-context.js';
import { signWithServiceKeys, type SignedBytes } from './sign-document.js';
import { inputBlobKey, outputBlobKey } from './stage-document.js';

/**
 * Documents signed at once within one operation; the engine's slots add parallelism across operations.
 * Eight rather than four: with four, the event loop sat idle 18 % of a 1,500-document B-T operation
 * waiting on file reads and writes (bench/batch-http.ts profile).
 */
const DOCUMENT_CONCURRENCY = 8;
/**
 * Documents whose results are flushed and recorded together. Per document, one fsync of the output
 * and one database commit cost more than signing it; per batch of 64 they nearly vanish
 * (bench/batch-http.ts).
 */
const RESULT_BATCH = 64;

/**
 * Runs a signature operation. Safe to run twice: documents already SIGNED or FAILED are skipped
 * and a document's output is written under its own id, so a replay overwrites, never duplicates.
 * A bad document fails only itself; a transient error (the TSA is down) fails the attempt so the
 * whole task is retried later, keeping what was already recorded.
 */
export function createSignOperationHandler(context: CoreContext): TaskHandler {
  return async ({ task, owner, signal }) => {
    const documents = await context.store.documents.listForTask(task.id);
    const waiting = documents.filter((doc) => doc.status === 'RECEIVED');
    try {
      await signInBatches(context, task.id, owner, waiting, signal);
    } catch (error) {
      // Out of retries (a TSA down for hours): the documents still waiting fail with the cause,
      // and the operation ends by the usual rule — SUCCEEDED if any document was signed.
      if (task.attempts < task.max_attempts || signal.aborted) throw error;
      const cause = isSignetError(error) ? error : new SignetError('internal_error', 'Signing failed repeatedly; it was logged');
      const left = (await context.store.documents.listForTask(task.id)).filter((doc) => doc.status === 'RECEIVED');
      await context.store.documents.recordResults(
        task.id,
        owner,
        left.map((doc) => ({ id: doc.id, status: 'FAILED' as const, code: cause.code, message: `Gave up after ${task.attempts} attempts: ${cause.message}` })),
      );
    }
    const finished = await context.store.documents.listForTask(task.id);
    const signed = finished.filter((doc) => doc.status === 'SIGNED').length;
    const failed = finished.length - signed;
    if (signed === 0) {
      throw new SignetError(
        'all_documents_failed',
        `None of the ${finished.length} documents could be signed; see each document's error`,
      );
    }
    return { signed, failed };
  };
}

async function signInBatches(
  context: CoreContext,
  taskId: string,
  owner: string,
  waiting: DocumentRow[],
  signal: AbortSignal,
): Promise<void> {
  // Batch N is flushed and recorded while batch N+1 is signed: the flush waits on the disk, the
  // signing on the cores (bench/batch-http.ts: 1 s of flushes in a 7 s, 2,500-document operation).
  let recording: Promise<void> = Promise.resolve();
  const concurrency = documentConcurrency(context, waiting);
  try {
    for (let start = 0; start < waiting.length; start += RESULT_BATCH) {
      signal.throwIfAborted();
      const batch = waiting.slice(start, start + RESULT_BATCH);
      const results = await mapLimit(batch, concurrency, (doc) => {
        signal.throwIfAborted();
        return signOne(context, doc);
      });
      await recording;
      recording = flushAndRecord(context, taskId, owner, results);
      // Handled where it is awaited (next batch, or the finally below); not an unhandled rejection meanwhile.
      recording.catch(() => {});
    }
  } finally {
    // Whatever happens, a batch already signed is recorded (or its failure surfaces) before returning.
    await recording;
  }
}

/**
 * DOCUMENT_CONCURRENCY, or more when every document's key takes many digests per round trip (a remote
 * CSC key's multisign): then that many documents are in flight, so their digests go in a few calls (one
 * each, with a 50-document operation, was 23 signHash calls at eight at a time). Operations that mix in
 * local keys keep eight: more would only hold more documents in memory.
 */
function documentConcurrency(context: CoreContext, documents: readonly DocumentRow[]): number {
  const options = new Set(documents.map((doc) => doc.options_json));
  const batchSizes = [...new Set([...options].map((json) => (JSON.parse(json) as { key?: string }).key))].map((name) =>
    name === undefined ? undefined : context.keys.get(name)?.batchSize,
  );
  if (batchSizes.length === 0 || batchSizes.some((size) => size === undefined)) return DOCUMENT_CONCURRENCY;
  return Math.max(DOCUMENT_CONCURRENCY, Math.min(Math.min(...(batchSizes as number[])), RESULT_BATCH));
}

/** Outputs first reach stable storage, then the statuses that point at them are committed. */
async function flushAndRecord(context: CoreContext, taskId: string, owner: string, results: DocumentResult[]): Promise<void> {
  const signedKeys = results.filter((r) => r.status === 'SIGNED').map((r) => outputBlobKey(r.id));
  await context.store.blobs.makeDurable(signedKeys);
  if (!(await context.store.documents.recordResults(taskId, owner, results))) {
    throw new SignetError('internal_error', 'The task lease was lost while signing; another attempt continues', { transient: true });
  }
}

/** Signs one document; a permanent failure is its result, a transient one aborts the attempt. */
async function signOne(context: CoreContext, doc: DocumentRow): Promise<DocumentResult> {
  try {
    let input: Buffer | undefined;
    const signed = await signWithServiceKeys(context, doc, async () => (input = await context.store.blobs.readAll(inputBlobKey(doc.id))));
    const stored = await context.store.blobs.write(outputBlobKey(doc.id), signed, { durable: false, hash: false, ...prefixOption(doc, input, signed) });
    return { id: doc.id, status: 'SIGNED', signedSize: stored.size };
  } catch (error) {
    if (isSignetError(error) && !error.transient) return { id: doc.id, status: 'FAILED', code: error.code, message: error.message };
    throw error;
  }
}

/**
 * When the signed bytes begin with the whole input (a PDF's incremental update), the store may keep a
 * reference to the input blob instead of a second copy (half the bytes of a PAdES operation on
 * PostgreSQL). Checked, not assumed: one comparison of the input's length.
 */
function prefixOption(doc: DocumentRow, input: Buffer | undefined, signed: SignedBytes): { prefix?: { key: string; size: number } } {
  if (!input || Buffer.isBuffer(signed) || signed.length < 2) return {};
  const first = signed[0]!;
  const begins = first === input || (first.length >= input.length && first.subarray(0, input.length).equals(input));
  return begins ? { prefix: { key: inputBlobKey(doc.id), size: input.length } } : {};
}
