import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import { uuid7, uuid7Floor } from '../util/uuid7.js';
import { assertBlobKey, buffersOf, type BlobSource, type BlobStore, type BlobWriteOptions, type StoredBlob } from './blob-store.js';
import type { Database } from './schema.js';
import { smallBlobWrites } from './postgres-group-writes.js';
import { compiledQuery } from './compiled-query.js';
import type { ProcessLocalCopies } from './process-local-copies.js';

/** 1 MiB: few rows for large documents, little memory per stream, far below PostgreSQL's 1 GB field cap. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Blobs as chunked rows of the shared database (PostgreSQL mode), so that any instance can serve
 * content another instance received — the point of sharing a database at all.
 *
 * A write streams chunks under a fresh staging key, outside any transaction (a slow upload must not
 * hold a transaction open), then renames them to the real key in one short transaction: readers
 * see the whole blob or none of it, and a replayed write replaces the earlier one.
 */
export class DatabaseBlobStore implements BlobStore {
  readonly #smallWrites: ReturnType<typeof smallBlobWrites>;
  readonly #smallRelaxedWrites: ReturnType<typeof smallBlobWrites>;
  /** Writes committed without a flush so far, and how many of them a barrier has flushed. */
  #relaxedWrites = 0;
  #flushedWrites = 0;

  /**
   * `relaxed` (database.ts) takes the writes made with `durable: false`: committed without waiting
   * for the WAL flush, which `makeDurable` then does once for the batch.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly relaxed: Kysely<Database> = db,
    /** Staged inputs kept as local files too, for this process's signer (process-local-copies.ts). */
    private readonly copies?: ProcessLocalCopies,
  ) {
    this.#smallWrites = smallBlobWrites(db);
    this.#smallRelaxedWrites = smallBlobWrites(relaxed);
  }

  /** Durable writes are flushed when they resolve; others once `makeDurable` has run after them. */
  async write(key: string, source: BlobSource, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const durable = options.durable ?? true;
    // A staged input's local copy is written beside its row, not after it (the upload waits for both).
    const buffers = buffersOf(source);
    const input = key.startsWith('in/');
    // A write without buffers makes no copy, and an earlier one of the key must not outlive it.
    if (input && !buffers) this.copies?.drop(key);
    const copying = input && buffers ? this.copies?.put(key, buffers) : undefined;
    let stored: StoredBlob;
    try {
      stored = await this.#write(durable ? this.db : this.relaxed, durable ? this.#smallWrites : this.#smallRelaxedWrites, key, source, options);
    } catch (error) {
      if (copying) await copying.then(() => this.copies!.drop(key));
      throw error;
    }
    await copying;
    if (!durable) this.#relaxedWrites++;
    return stored;
  }

  async #write(db: Kysely<Database>, smallWrites: ReturnType<typeof smallBlobWrites>, key: string, source: BlobSource, options: BlobWriteOptions): Promise<StoredBlob> {
    const hashing = options.hash ?? true;
    assertBlobKey(key);
    const buffers = buffersOf(source);
    if (buffers && options.prefix) return this.#writeAfterPrefix(db, key, buffers, options.prefix, hashing);
    const total = buffers?.reduce((sum, buffer) => sum + buffer.length, 0) ?? Infinity;
    if (buffers && total <= CHUNK_BYTES) {
      // One chunk: written in place by one statement, which replaces an earlier version whole (its
      // other chunks too), together with the other small writes of the moment (postgres-group-writes.ts).
      // Staging and renaming took five round trips (bench/registrations.ts).
      const data = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers, total);
      // Grouped writes send bytes as hex inside an array (pg's encoding of bytea[]): worth it for
      // small blobs only; a larger one goes alone, as binary.
      if (total <= GROUPED_WRITE_BYTES) await smallWrites.call({ key, data });
      else await replaceWithOneChunk(db, { key, data });
      return { size: total, sha256: hashing ? createHash('sha256').update(data).digest('hex') : '' };
    }
    const staging = `tmp/${uuid7()}`;
    const hash = createHash('sha256');
    let size = 0;
    let seq = 0;
    const insert = async (data: Buffer) => {
      await db.insertInto('blob_chunks').values({ blob_key: staging, seq: seq++, data }).execute();
    };
    try {
      // Chunks are cut by offset, never by re-concatenating what is left (that was quadratic).
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of buffersOf(source) ?? (source as Readable)) {
        let bytes = chunk as Buffer;
        if (hashing) hash.update(bytes);
        size += bytes.length;
        while (pendingBytes + bytes.length >= CHUNK_BYTES) {
          const take = CHUNK_BYTES - pendingBytes;
          await insert(pending.length === 0 ? bytes.subarray(0, take) : Buffer.concat([...pending, bytes.subarray(0, take)]));
          pending = [];
          pendingBytes = 0;
          bytes = bytes.subarray(take);
        }
        if (bytes.length > 0) {
          pending.push(bytes);
          pendingBytes += bytes.length;
        }
      }
      // Always at least one chunk, so an empty blob exists too.
      if (pendingBytes > 0 || seq === 0) await insert(Buffer.concat(pending));
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('blob_chunks').where('blob_key', '=', key).execute();
        await trx.updateTable('blob_chunks').set({ blob_key: key }).where('blob_key', '=', staging).execute();
      });
    } catch (error) {
      await db.deleteFrom('blob_chunks').where('blob_key', '=', staging).execute().catch(() => {});
      throw error;
    }
    return { size, sha256: hashing ? hash.digest('hex') : '' };
  }

  adopt(key: string, file: string): Promise<StoredBlob> {
    return this.write(key, createReadStream(file), { durable: false });
  }

  /**
   * Only what follows the prefix is stored: chunk 0 a marker naming the prefix blob (`data` NULL, so
   * that code from before migration 013 fails to read it rather than serve the update alone), the
   * update from chunk 1 — kilobytes for a PAdES output instead of a second copy of its original, in one
   * statement that also replaces an earlier version whole.
   */
  async #writeAfterPrefix(db: Kysely<Database>, key: string, buffers: readonly Buffer[], prefix: { key: string; size: number }, hashing: boolean): Promise<StoredBlob> {
    assertBlobKey(prefix.key);
    if (prefix.key === key) throw new Error(`blob ${key} cannot begin with itself`);
    const hash = createHash('sha256');
    const rest: Buffer[] = [];
    let skip = prefix.size;
    let size = 0;
    for (const buffer of buffers) {
      if (hashing) hash.update(buffer);
      size += buffer.length;
      const drop = Math.min(skip, buffer.length);
      skip -= drop;
      if (drop < buffer.length) rest.push(buffer.subarray(drop));
    }
    if (skip > 0) throw new Error(`blob ${key} is shorter than its prefix ${prefix.key}`);
    const data = Buffer.concat(rest);
    const chunks = Array.from({ length: Math.ceil(data.length / CHUNK_BYTES) }, (_, index) => data.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES));
    await replaceWithPrefixedChunks(db, { key, prefixKey: prefix.key, chunks });
    return { size, sha256: hashing ? hash.digest('hex') : '' };
  }

  /**
   * A flush barrier: a transaction that writes (one row of `settings`) commits synchronously, so
   * PostgreSQL flushes the WAL up to its commit record — which covers every asynchronous commit before
   * it, the WAL being one sequence. (A transaction that only takes an id writes no WAL and commits
   * without a flush.) One round trip for a batch of staged documents or signed outputs.
   */
  async makeDurable(keys: readonly string[]): Promise<void> {
    const written = this.#relaxedWrites;
    if (keys.length === 0 || written === this.#flushedWrites) return;
    await sql`INSERT INTO settings (key, value) VALUES ('wal_flush_barrier', '') ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(this.db);
    this.#flushedWrites = Math.max(this.#flushedWrites, written);
  }

  /** The whole blob in one query: its caller holds all of it anyway (a stream reads a chunk per query). */
  async readAll(key: string): Promise<Buffer> {
    assertBlobKey(key);
    const copy = await this.copies?.take(key);
    if (copy) return copy;
    const { rows } = await chunksOf(this.db, { key });
    if (rows.length === 0) throw Object.assign(new Error(`blob ${key} does not exist`), { code: 'ENOENT' });
    const prefixKey = markerOf(rows[0]!);
    const own = (prefixKey ? rows.slice(1) : rows).map((row) => fromBase64(row.data64 ?? ''));
    if (prefixKey) return Buffer.concat([await this.readAll(prefixKey), ...own]);
    return own.length === 1 ? own[0]! : Buffer.concat(own);
  }

  async copyTo(key: string, file: string): Promise<void> {
    try {
      await pipeline(this.createReadStream(key), createWriteStream(file));
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
  }

  /** Reads one chunk per query as the consumer asks, so memory stays at about one chunk. */
  createReadStream(key: string): Readable {
    assertBlobKey(key);
    const db = this.db;
    const prefixStream = (prefixKey: string) => this.createReadStream(prefixKey);
    async function* chunks() {
      for (let seq = 0; ; seq++) {
        const row = (await chunkOf(db, { key, seq })).rows[0];
        if (!row) {
          if (seq === 0) throw Object.assign(new Error(`blob ${key} does not exist`), { code: 'ENOENT' });
          return;
        }
        const prefixKey = seq === 0 ? markerOf(row) : null;
        if (prefixKey) yield* prefixStream(prefixKey);
        else yield fromBase64(row.data64 ?? '');
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async size(key: string): Promise<number> {
    const row = await this.db
      .selectFrom('blob_chunks')
      .select([sql<number>`coalesce(sum(octet_length(data)), 0)`.as('size'), sql<string | null>`max(prefix_key) FILTER (WHERE seq = 0 AND data IS NULL)`.as('prefix_key')])
      .where('blob_key', '=', key)
      .executeTakeFirst();
    const own = Number(row?.size ?? 0);
    return row?.prefix_key ? own + (await this.size(row.prefix_key)) : own;
  }

  async exists(key: string): Promise<boolean> {
    return (await firstChunkOf(this.db, { key })).rows.length > 0;
  }

  async delete(key: string): Promise<void> {
    await this.copies?.drop(key);
    await this.db.deleteFrom('blob_chunks').where('blob_key', '=', key).execute();
  }

  async *listIds(area: string, createdBefore: number): AsyncIterable<string> {
    yield* listIdsOfRows(this.db, area, createdBefore);
  }

  /** Staging rows (`tmp/<uuid7>`) of writes whose process died before the rename; by age alone. */
  async removeAbandonedWrites(olderThanMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const id of this.listIds('tmp', now - olderThanMs)) {
      await this.delete(`tmp/${id}`);
      removed++;
    }
    return removed;
  }

  async checkWritable(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }
}

/** Up to this size a one-chunk write joins the grouped statement (postgres-group-writes.ts). */
const GROUPED_WRITE_BYTES = 64 * 1024;

const replaceWithOneChunk = compiledQuery((db: Kysely<Database>, p: { key: string; data: Buffer }) =>
  db
    .with('older_chunks', (qc) => qc.deleteFrom('blob_chunks').where('blob_key', '=', p.key).where('seq', '>', 0))
    .insertInto('blob_chunks')
    .values({ blob_key: p.key, seq: 0, data: p.data })
    .onConflict((conflict) => conflict.columns(['blob_key', 'seq']).doUpdateSet({ data: (eb) => eb.ref('excluded.data'), prefix_key: null })),
);

/*
 * Chunks are read as base64 text, not as bytea: pg receives every field as text and bytea comes as hex,
 * twice the bytes, which the event loop decoded as a string and then as hex — a tenth of the
 * instance's profile when signing 2,500 × 200 KB on PostgreSQL (bench/batch-http.ts). Base64 is a
 * third smaller and Node decodes it natively. (Binary results: pg decodes all fields as UTF-8.)
 */
const chunksOf = compiledQuery((db: Kysely<Database>, p: { key: string }) =>
  db.selectFrom('blob_chunks').select([sql<string | null>`encode(data, 'base64')`.as('data64'), 'prefix_key']).where('blob_key', '=', p.key).orderBy('seq'),
);
const chunkOf = compiledQuery((db: Kysely<Database>, p: { key: string; seq: number }) =>
  db.selectFrom('blob_chunks').select([sql<string | null>`encode(data, 'base64')`.as('data64'), 'prefix_key']).where('blob_key', '=', p.key).where('seq', '=', p.seq),
);

/**
 * The prefix blob a chunk 0 names, if it is a marker: `prefix_key` with no bytes. A chunk 0 with bytes
 * and a `prefix_key` was rewritten by code from before migration 13 (which leaves that column alone):
 * a plain blob.
 */
function markerOf(row: { data64: string | null; prefix_key: string | null }): string | null {
  return row.data64 === null ? row.prefix_key : null;
}

/** A blob that begins with another: its marker chunk 0, then its own chunks, replacing any earlier version whole. */
const replaceWithPrefixedChunks = async (db: Kysely<Database>, p: { key: string; prefixKey: string; chunks: readonly Buffer[] }) => {
  await db
    .with('older_chunks', (qc) => qc.deleteFrom('blob_chunks').where('blob_key', '=', p.key).where('seq', '>', p.chunks.length))
    .insertInto('blob_chunks')
    .values([{ blob_key: p.key, seq: 0, data: null, prefix_key: p.prefixKey }, ...p.chunks.map((data, index) => ({ blob_key: p.key, seq: index + 1, data, prefix_key: null }))])
    .onConflict((conflict) => conflict.columns(['blob_key', 'seq']).doUpdateSet({ data: (eb) => eb.ref('excluded.data'), prefix_key: (eb) => eb.ref('excluded.prefix_key') }))
    .execute();
};

/** Once before every registration's token: compiled once, a prepared statement (prepared-statements.ts). */
const firstChunkOf = compiledQuery((db: Kysely<Database>, p: { key: string }) =>
  db.selectFrom('blob_chunks').select('seq').where('blob_key', '=', p.key).where('seq', '=', 0),
);

/**
 * Blob ids of one area made before a time, from the rows' keys: UUIDv7 ids sort by time, so this is
 * a range of the primary key, read a page at a time.
 */
export async function* listIdsOfRows(db: Kysely<Database>, area: string, createdBefore: number): AsyncIterable<string> {
  const end = `${area}/${uuid7Floor(createdBefore)}`;
  let after = `${area}/`;
  for (;;) {
    const rows = await db
      .selectFrom('blob_chunks')
      .select('blob_key')
      .distinct()
      .where('blob_key', '>', after)
      .where('blob_key', '<', end)
      .orderBy('blob_key')
      .limit(500)
      .execute();
    for (const row of rows) yield row.blob_key.slice(area.length + 1);
    if (rows.length < 500) return;
    after = rows[rows.length - 1]!.blob_key;
  }
}

/** PostgreSQL's `encode(…, 'base64')` breaks lines every 76 characters; Node's decoder skips them. */
function fromBase64(text: string): Buffer {
  return Buffer.from(text, 'base64');
}
