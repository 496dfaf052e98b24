import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
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
