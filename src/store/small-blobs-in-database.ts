import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import { compiledQuery } from './compiled-query.js';
import { assertBlobKey, buffersOf, type BlobSource, type BlobStore, type BlobWriteOptions, type StoredBlob } from './blob-store.js';
import type { Database } from './schema.js';
import { listIdsOfRows } from './database-blob-store.js';

/**
 * Up to this size a durable write is one row of `blob_chunks` instead of a file. A 1 KB registration
 * as a file took a create, write, fsync, close, rename and folder fsync (six thread-pool round trips,
 * ~0.4 ms of the event loop and ~1 ms of kernel time on the machines measured) and a stat before its
 * token; as a row it is one INSERT whose flush the group commit shares with every other commit.
 * Measured with bench/registrations.ts: see the README's Speed section.
 */
export const SMALL_BLOB_BYTES = 64 * 1024;

// Once or twice per registration: compiled once (compiled-query.ts).
const upsertRow = compiledQuery((db: Kysely<Database>, p: { key: string; data: Buffer }) =>
  db
    .insertInto('blob_chunks')
    .values({ blob_key: p.key, seq: 0, data: p.data })
    .onConflict((conflict) => conflict.columns(['blob_key', 'seq']).doUpdateSet({ data: p.data })),
);
const selectRow = compiledQuery((db: Kysely<Database>, p: { key: string }) =>
  db.selectFrom('blob_chunks').select('data').where('blob_key', '=', p.key).where('seq', '=', 0),
);
/** `exists` and `size` (a check before every registration's token) need not read the bytes. */
const selectRowSize = compiledQuery((db: Kysely<Database>, p: { key: string }) =>
  db.selectFrom('blob_chunks').select(sql<number>`length(data)`.as('size')).where('blob_key', '=', p.key).where('seq', '=', 0),
);

/**
 * The embedded store's blobs: small durable writes as database rows, everything else as files
 * (`FileBlobStore`). Reads look for a row first (one indexed lookup), then for the file.
 *
 * Writes that go to files: streams, anything larger than SMALL_BLOB_BYTES, and unflushed writes
 * (`durable: false`, the batch staging whose flush `makeDurable` does per file). A durable file write
 * removes a row of the same key first, so an earlier small version never shadows a larger rewrite;
 * a small rewrite of a key that was a file replaces what readers see at once (rows are read first),
 * and `delete` removes both.
 */
export class SmallBlobsInDatabase implements BlobStore {
  constructor(
    private readonly files: BlobStore,
    private readonly db: Kysely<Database>,
    private readonly maxBytes = SMALL_BLOB_BYTES,
  ) {}

  async write(key: string, source: BlobSource, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    assertBlobKey(key);
    const durable = options.durable ?? true;
    const buffers = buffersOf(source);
    const size = buffers?.reduce((sum, buffer) => sum + buffer.length, 0) ?? Infinity;
    if (!buffers || size > this.maxBytes || !durable) {
      if (durable) await this.db.deleteFrom('blob_chunks').where('blob_key', '=', key).execute();
      return this.files.write(key, source, options);
    }
    const data = buffers.length === 1 ? buffers[0] : Buffer.concat(buffers, size);
    await upsertRow(this.db, { key, data });
    return { size, sha256: options.hash === false ? '' : createHash('sha256').update(data).digest('hex') };
  }

  adopt(key: string, file: string): Promise<StoredBlob> {
    // Like a write with durable: false, which always goes to a file.
    return this.files.adopt(key, file);
  }

  makeDurable(keys: readonly string[]): Promise<void> {
    // Only unflushed writes need it, and those are always files.
    return this.files.makeDurable(keys);
  }

  createReadStream(key: string): Readable {
    const row = this.row(key);
    const files = this.files;
    async function* bytes() {
      const data = await row;
      if (data) yield data;
      else yield* files.createReadStream(key);
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async copyTo(key: string, file: string): Promise<void> {
    const data = await this.row(key);
    if (!data) return this.files.copyTo(key, file);
    try {
      await writeFile(file, data);
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
  }

  async readAll(key: string): Promise<Buffer> {
    return (await this.row(key)) ?? this.files.readAll(key);
  }

  async size(key: string): Promise<number> {
    const row = await this.rowSize(key);
    return row ? Number(row.size) : this.files.size(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.rowSize(key)) !== undefined || this.files.exists(key);
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom('blob_chunks').where('blob_key', '=', key).execute();
    await this.files.delete(key);
  }

  checkWritable(): Promise<void> {
    return this.files.checkWritable();
  }

  /** Rows, then files: an id stored both ways (a rewrite between the two) may come twice. */
  async *listIds(area: string, createdBefore: number): AsyncIterable<string> {
    yield* listIdsOfRows(this.db, area, createdBefore);
    yield* this.files.listIds(area, createdBefore);
  }

  /** Rows are written whole, in one statement: only the files can be left half-written. */
  removeAbandonedWrites(olderThanMs: number, now?: number): Promise<number> {
    return this.files.removeAbandonedWrites(olderThanMs, now);
  }

  private async rowSize(key: string): Promise<{ size: number } | undefined> {
    assertBlobKey(key);
    return (await selectRowSize(this.db, { key })).rows[0];
  }

  private async row(key: string): Promise<Buffer | undefined> {
    assertBlobKey(key);
    // (NULL data is PostgreSQL's marker of a blob with a prefix, migration 013; never written here.)
    return (await selectRow(this.db, { key })).rows[0]?.data ?? undefined;
  }
}
