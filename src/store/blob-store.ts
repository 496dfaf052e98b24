import type { Readable } from 'node:stream';

export interface StoredBlob {
  size: number;
  sha256: string;
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
  write(key: string, source: Readable | Buffer, options?: { durable?: boolean }): Promise<StoredBlob>;
  /** Flushes blobs written with `{ durable: false }` to stable storage. */
  makeDurable(keys: readonly string[]): Promise<void>;
  createReadStream(key: string): Readable;
  /** The whole blob in memory, for the formats that need all of it (a PDF to sign). */
  readAll(key: string): Promise<Buffer>;
  size(key: string): Promise<number>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
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
