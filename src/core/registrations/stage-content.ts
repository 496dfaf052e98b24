import { createHash } from 'node:crypto';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { SMALL_BLOB_BYTES } from '../../store/small-blobs-in-database.js';
import type { Store } from '../../store/store.js';
import { uuid7 } from '../../util/uuid7.js';

/** Content to register, durable before its task exists; both hashes computed on the way in. */
export interface StagedContent {
  blobId: string;
  size: number;
  sha256: string;
  sha1: string;
}

export function contentBlobKey(blobId: string): string {
  return `reg/${blobId}`;
}

/**
 * Streams the content to the blob store once: the store hashes SHA-256 while writing, a tap in
 * front of it hashes SHA-1, so neither hash needs a second read and memory stays at one chunk.
 */
export async function stageContent(store: Store, source: Readable | Buffer): Promise<StagedContent> {
  const blobId = uuid7();
  const sha1 = createHash('sha1');
  if (Buffer.isBuffer(source)) {
    sha1.update(source);
    const stored = await store.blobs.write(contentBlobKey(blobId), source);
    return { blobId, ...stored, sha1: sha1.digest('hex') };
  }
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sha1.update(chunk);
      callback(null, chunk);
    },
  });
  source.once('error', (error) => tap.destroy(error));
  // The store attaches its listeners only once its file is open: a source failing before that must
  // not be an unhandled 'error' event (a crash); the store's pipeline still sees the error and rejects.
  tap.on('error', () => {});
  const stored = await store.blobs.write(contentBlobKey(blobId), source.pipe(tap));
  return { blobId, ...stored, sha1: sha1.digest('hex') };
}

export async function discardContent(store: Store, staged: StagedContent | undefined): Promise<void> {
  if (staged) await store.blobs.delete(contentBlobKey(staged.blobId)).catch(() => {});
}

/**
 * A register-file task cancelled while PENDING will never register its staged content: the bytes
 * go. Unless an earlier attempt already recorded the registration (its completion was lost and the
 * task was waiting to retry): then the registration owns them and they stay.
 */
export async function discardContentOfCancelledTask(store: Store, taskId: string, requestJson: string): Promise<void> {
  if (await store.registrations.findByTask(taskId)) return;
  const { blobId } = JSON.parse(requestJson) as { blobId?: string };
  if (blobId) await store.blobs.delete(contentBlobKey(blobId)).catch(() => {});
}

/**
 * Where content that arrives in pieces (a SOAP FileData) is written: up to SMALL_BLOB_BYTES stays in
 * memory and is staged as one buffer — on the embedded store one database row whose flush the group
 * commit shares, instead of a file with two fsyncs (bench/soap.ts: 0.56× the REST rate before) — and
 * anything larger streams to the store as it comes. Streaming starts once `ready` resolves (the caller's
 * authentication); `staged` settles when the bytes are durable, or with the error that ended them.
 */
export function contentStagingSink(store: Store, ready: Promise<unknown>): { sink: Writable; staged: Promise<StagedContent> } {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let spill: PassThrough | undefined;
  let ended = false;
  let settle!: { resolve: (staged: StagedContent) => void; reject: (error: Error) => void };
  const staged = new Promise<StagedContent>((resolve, reject) => (settle = { resolve, reject }));
  staged.catch(() => {});
  const start = (source: Readable | Buffer) =>
    ready
      .then(() => {
        if (!Buffer.isBuffer(source) && source.destroyed) throw source.errored ?? new Error('the upload was abandoned');
        return stageContent(store, source);
      })
      .then(settle.resolve, settle.reject);
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (spill) {
        if (spill.write(chunk)) callback();
        else spill.once('drain', () => callback());
        return;
      }
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes <= SMALL_BLOB_BYTES) return callback();
      spill = new PassThrough({ highWaterMark: 1024 * 1024 });
      spill.on('error', () => {});
      void start(spill);
      for (const piece of held) spill.write(piece);
      held = [];
      callback();
    },
    final(callback) {
      ended = true;
      if (spill) spill.end();
      else void start(Buffer.concat(held, heldBytes));
      callback();
    },
    destroy(error, callback) {
      // After a clean end (autoDestroy) the staging decides; before it, or with an error, it is over.
      if (error || !ended) {
        spill?.destroy(error ?? undefined);
        settle.reject(error ?? new Error('the upload was abandoned'));
      }
      callback(error);
    },
  });
  return { sink, staged };
}
