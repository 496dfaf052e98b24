import { Readable } from 'node:stream';
import type { Store } from '../../store/store.js';
import { SignetError } from '../../errors/signet-error.js';
import { uuid7 } from '../../util/uuid7.js';

/** A document's bytes, stored and fsynced before its operation exists in the database. */
export interface StagedDocument {
  id: string;
  size: number;
  sha256: string;
  /** A document given by its digest only (hash-only-document.ts): no bytes were stored. */
  hashOnly?: true;
}

export function inputBlobKey(documentId: string): string {
  return `in/${documentId}`;
}

export function outputBlobKey(documentId: string): string {
  return `out/${documentId}`;
}

/** Flushes staged documents to stable storage: after this, a crash cannot lose them. */
export async function makeStagedDocumentsDurable(store: Store, staged: StagedDocument[]): Promise<void> {
  await store.blobs.makeDurable(staged.filter((doc) => !doc.hashOnly).map((doc) => inputBlobKey(doc.id)));
}

/** Parts up to this size are read whole and written in the background while the next part is parsed. */
const BUFFERED_PART_BYTES = 4 * 1024 * 1024;
/** Bytes read but not yet on disk, across the parts being written: the memory one upload may hold. */
const IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Files being staged at once (each read in chunks of at most 1 MiB to hash it). */
const FILES_IN_FLIGHT = 8;

/**
 * Stages the documents of one upload as their parts arrive. Writing each part before parsing the next
 * left the server idle 60 % of a 2,500-document upload, waiting on one file creation after another
 * (bench/batch-http.ts profile: creating a file costs ~0.3 ms here). So a part that fits in
 * BUFFERED_PART_BYTES is read into memory and its write started without waiting, up to IN_FLIGHT_BYTES
 * of pending writes; a larger part streams to disk as before. `finish` waits for every write.
 */
export class UploadStager {
  readonly #store: Store;
  readonly #writes: Array<Promise<StagedDocument>> = [];
  readonly #pending = new Set<Promise<unknown>>();
  #pendingBytes = 0;
  #failure: unknown;
  /** Bytes staged so far (read, whether or not on disk yet). */
  size = 0;

  constructor(store: Store) {
    this.#store = store;
  }

  get count(): number {
    return this.#writes.length;
  }

  /** Reads one document to its end; resolves with its size once it is read, not necessarily written. */
  async stage(content: Readable): Promise<number> {
    if (this.#failure !== undefined) throw this.#failure;
    const id = uuid7();
    const chunks: Buffer[] = [];
    let size = 0;
    const iterator = content[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
      size += next.value.length;
      if (size > BUFFERED_PART_BYTES) {
        // Too big to hold: what was read so far, then the rest of the stream, straight to disk.
        const rest = Readable.from((async function* () {
          yield* chunks;
          for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value;
        })());
        const blob = await this.#track(this.#write(id, rest), 0);
        this.size += blob.size;
        return blob.size;
      }
    }
    return this.stageBuffer(Buffer.concat(chunks, size), id);
  }

  /** Stages a document already in memory: its write starts now, waiting only while too much is pending. */
  async stageBuffer(content: Buffer, id = uuid7()): Promise<number> {
    if (this.#failure !== undefined) throw this.#failure;
    this.size += content.length;
    this.#track(this.#write(id, content), content.length);
    while (this.#pendingBytes > IN_FLIGHT_BYTES && this.#failure === undefined) await Promise.race(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
    return content.length;
  }

  /**
   * Stages a file by handing it to the blob store (BlobStore.adopt: a hard link on the file store, so
   * its bytes are read once to hash them and never copied); the caller must not change the file
   * afterwards. Up to FILES_IN_FLIGHT at once; resolves once this one has started.
   */
  async stageFile(file: string): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#track(this.#adopt(uuid7(), file), 0);
    while (this.#pending.size >= FILES_IN_FLIGHT && this.#failure === undefined) await Promise.race(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Every staged document, in order, once all are written (not yet flushed: see makeStagedDocumentsDurable). */
  async finish(): Promise<StagedDocument[]> {
    await Promise.allSettled(this.#writes);
    if (this.#failure !== undefined) throw this.#failure;
    return Promise.all(this.#writes);
  }

  /** Removes whatever this upload wrote, after its writes settle (a rejected or failed upload). */
  async discard(): Promise<void> {
    const settled = await Promise.allSettled(this.#writes);
    const written = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    await discardStagedDocuments(this.#store, written);
  }

  async #write(id: string, content: Readable | Buffer): Promise<StagedDocument> {
    const blob = await this.#store.blobs.write(inputBlobKey(id), content, { durable: false });
    return { id, ...blob };
  }

  async #adopt(id: string, file: string): Promise<StagedDocument> {
    const blob = await this.#store.blobs.adopt(inputBlobKey(id), file);
    this.size += blob.size;
    return { id, ...blob };
  }

  #track(write: Promise<StagedDocument>, bytes: number): Promise<StagedDocument> {
    this.#writes.push(write);
    this.#pendingBytes += bytes;
    const settled = write.then(
      () => undefined,
      (error: unknown) => {
        this.#failure ??= error;
      },
    );
    const tracked = settled.finally(() => {
      this.#pendingBytes -= bytes;
      this.#pending.delete(tracked);
    });
    this.#pending.add(tracked);
    return write;
  }
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Stages documents given as base64 text, decoding one at a time beside the request body (their
 * writes overlap, within UploadStager's bound). Malformed base64 is `invalid_base64` naming
 * `fieldOf(index)`; on any failure what was staged is removed again.
 */
export async function stageBase64Documents(
  store: Store,
  contents: readonly string[],
  fieldOf: (index: number) => string,
): Promise<StagedDocument[]> {
  const stager = new UploadStager(store);
  try {
    for (const [index, content] of contents.entries()) {
      const compact = content.replace(/\s+/g, '');
      if (compact.length % 4 !== 0 || !base64Pattern.test(compact)) {
        throw new SignetError('invalid_base64', `${fieldOf(index)} is not valid base64`, { field: fieldOf(index) });
      }
      await stager.stageBuffer(Buffer.from(compact, 'base64'));
    }
    return await stager.finish();
  } catch (error) {
    await stager.discard();
    throw error;
  }
}

/** Removes staged bytes that no operation will own (a rejected or replayed submission). */
export async function discardStagedDocuments(store: Store, staged: StagedDocument[]): Promise<void> {
  await Promise.all(staged.filter((doc) => !doc.hashOnly).map((doc) => store.blobs.delete(inputBlobKey(doc.id)).catch(() => {})));
}
