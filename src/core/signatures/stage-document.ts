import type { Readable } from 'node:stream';
import type { Store } from '../../store/store.js';
import { SignetError } from '../../errors/signet-error.js';
import { uuid7 } from '../../util/uuid7.js';

/** A document's bytes, stored and fsynced before its operation exists in the database. */
export interface StagedDocument {
  id: string;
  size: number;
  sha256: string;
}

export function inputBlobKey(documentId: string): string {
  return `in/${documentId}`;
}

export function outputBlobKey(documentId: string): string {
  return `out/${documentId}`;
}

/**
 * Streams one document to disk, hashing it on the way. Called while the request is still being
 * read, so a multipart batch of any size passes through a fixed amount of memory. Not yet flushed:
 * the submission makes the whole batch durable at once before it stores the operation.
 */
export async function stageDocument(store: Store, content: Readable | Buffer): Promise<StagedDocument> {
  const id = uuid7();
  const blob = await store.blobs.write(inputBlobKey(id), content, { durable: false });
  return { id, ...blob };
}

/** Flushes staged documents to stable storage: after this, a crash cannot lose them. */
export async function makeStagedDocumentsDurable(store: Store, staged: StagedDocument[]): Promise<void> {
  await store.blobs.makeDurable(staged.map((doc) => inputBlobKey(doc.id)));
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Stages documents given as base64 text, one at a time, so only one decoded document is in memory
 * beside the request body. Malformed base64 is `invalid_base64` naming `fieldOf(index)`; on any
 * failure what was staged is removed again.
 */
export async function stageBase64Documents(
  store: Store,
  contents: readonly string[],
  fieldOf: (index: number) => string,
): Promise<StagedDocument[]> {
  const staged: StagedDocument[] = [];
  try {
    for (const [index, content] of contents.entries()) {
      const compact = content.replace(/\s+/g, '');
      if (compact.length % 4 !== 0 || !base64Pattern.test(compact)) {
        throw new SignetError('invalid_base64', `${fieldOf(index)} is not valid base64`, { field: fieldOf(index) });
      }
      staged.push(await stageDocument(store, Buffer.from(compact, 'base64')));
    }
  } catch (error) {
    await discardStagedDocuments(store, staged);
    throw error;
  }
  return staged;
}

/** Removes staged bytes that no operation will own (a rejected or replayed submission). */
export async function discardStagedDocuments(store: Store, staged: StagedDocument[]): Promise<void> {
  await Promise.all(staged.map((doc) => store.blobs.delete(inputBlobKey(doc.id)).catch(() => {})));
}
