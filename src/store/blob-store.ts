import type { Readable } from 'node:stream';

/** What a blob is written from: a stream, a buffer, or buffers written one after the other. */
export type BlobSource = Readable | Buffer | readonly Buffer[];

/** The buffers of a source already in memory, in order; undefined for a stream. */
export function buffersOf(source: BlobSource): readonly Buffer[] | undefined {
  if (Buffer.isBuffer(source)) return [source];
  return Array.isArray(source) ? (source as readonly Buffer[]) : undefined;
}

export interface StoredBlob {
  size: number;
  /** Hex SHA-256 of the bytes; empty when written with `{ hash: false }`. */
  sha256: string;
}

export interface BlobWriteOptions {
  /** False: may stay in the page cache until `makeDurable` (default true). */
  durable?: boolean;
  /**
   * False: skip the SHA-256 (signed outputs: nothing uses their hash, and it cost 0.12 ms of the event
   * loop per 200 KB document). Default true.
   */
  hash?: boolean;
  /**
   * The source begins with the whole of blob `key` (`size` bytes): a signed PDF is its original and an
   * update. The database store keeps a reference instead of those bytes (the prefix blob must then
   * outlive this one: delete this one first); the file store writes them all. Ignored for a stream source.
   */
  prefix?: { key: string; size: number };
}

/**
 * Where document bytes live: files in the work folder (embedded mode), or the shared PostgreSQL
 * database so that every instance can serve every document. Keys are `<area>/<id>`, e.g.
 * `in/<documentId>`. `write` resolves only once the bytes are durable.
 */
export interface BlobStore {
  /**
   * Streams `source` into the blob, hashing as it goes; on error nothing is left behind. With
   * `{ durable: false }` the bytes may still sit in the page cache: call `makeDurable` for a batch
   * of keys before anything depends on them (one round of flushes instead of one per blob).
   */
  write(key: string, source: BlobSource, options?: BlobWriteOptions): Promise<StoredBlob>;
  /**
   * Takes the bytes of `file` as the blob, like `write(key, file's bytes, { durable: false })`; on the
   * file store by a hard link when the file is on its file system (no byte copied: the hot folder's
   * claimed files). The caller must never change the file afterwards (moving it by rename is fine);
   * it may unlink it. Durable after `makeDurable`.
   */
  adopt(key: string, file: string): Promise<StoredBlob>;
  /** Flushes blobs written with `{ durable: false }` to stable storage. */
  makeDurable(keys: readonly string[]): Promise<void>;
  createReadStream(key: string): Readable;
  /**
   * Writes the blob's bytes to `file` (created or replaced; not flushed): the hot folder's outputs. On
   * the file store a kernel copy in one thread-pool call (a reflink where the file system has them).
   */
  copyTo(key: string, file: string): Promise<void>;
  /** The whole blob in memory, for the formats that need all of it (a PDF to sign). */
  readAll(key: string): Promise<Buffer>;
  size(key: string): Promise<number>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Ids of the blobs in `area` made before `createdBefore`, read from their UUIDv7 ids (every blob id
   * is one), in no particular order and possibly twice: housekeeping looks for blobs nothing owns.
   */
  listIds(area: string, createdBefore: number): AsyncIterable<string>;
  /**
   * Removes what writes that never finished left behind (a process killed mid-upload): temporary
   * files or staging rows older than `olderThanMs`, and on the file store also those whose writing
   * process no longer runs. Answers how many went.
   */
  removeAbandonedWrites(olderThanMs: number, now?: number): Promise<number>;
  /** Throws when blobs cannot be written (readiness probe). */
  checkWritable(): Promise<void>;
}

export function assertBlobKey(key: string): { area: string; id: string } {
  const [area, id, ...rest] = key.split('/');
  if (!area || !id || rest.length > 0 || !/^[a-z]+$/.test(area) || !/^[0-9a-zA-Z-]+$/.test(id)) {
    throw new Error(`invalid blob key ${JSON.stringify(key)}`);
  }
  return { area, id };
}
