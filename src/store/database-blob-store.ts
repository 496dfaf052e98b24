import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import { readAll } from '../util/read-all.js';
import { uuid7, uuid7Floor } from '../util/uuid7.js';
import { assertBlobKey, buffersOf, type BlobSource, type BlobStore, type BlobWriteOptions, type StoredBlob } from './blob-store.js';
import type { Database } from './schema.js';

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
  constructor(private readonly db: Kysely<Database>) {}

  /** Every committed row is already durable in PostgreSQL; `durable` changes nothing here. */
  async write(key: string, source: BlobSource, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const hashing = options.hash ?? true;
    assertBlobKey(key);
    const staging = `tmp/${uuid7()}`;
    const hash = createHash('sha256');
    let size = 0;
    let seq = 0;
    const insert = async (data: Buffer) => {
      await this.db.insertInto('blob_chunks').values({ blob_key: staging, seq: seq++, data }).execute();
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
      await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('blob_chunks').where('blob_key', '=', key).execute();
        await trx.updateTable('blob_chunks').set({ blob_key: key }).where('blob_key', '=', staging).execute();
      });
    } catch (error) {
      await this.db.deleteFrom('blob_chunks').where('blob_key', '=', staging).execute().catch(() => {});
      throw error;
    }
    return { size, sha256: hashing ? hash.digest('hex') : '' };
  }

  async makeDurable(_keys: readonly string[]): Promise<void> {}

  readAll(key: string): Promise<Buffer> {
    return readAll(this.createReadStream(key));
  }

  /** Reads one chunk per query as the consumer asks, so memory stays at about one chunk. */
  createReadStream(key: string): Readable {
    assertBlobKey(key);
    const db = this.db;
    async function* chunks() {
      for (let seq = 0; ; seq++) {
        const row = await db
          .selectFrom('blob_chunks')
          .select('data')
          .where('blob_key', '=', key)
          .where('seq', '=', seq)
          .executeTakeFirst();
        if (!row) {
          if (seq === 0) throw Object.assign(new Error(`blob ${key} does not exist`), { code: 'ENOENT' });
          return;
        }
        yield row.data;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async size(key: string): Promise<number> {
    const row = await this.db
      .selectFrom('blob_chunks')
      .select(sql<number>`coalesce(sum(octet_length(data)), 0)`.as('size'))
      .where('blob_key', '=', key)
      .executeTakeFirst();
    return Number(row?.size ?? 0);
  }

  async exists(key: string): Promise<boolean> {
    const row = await this.db.selectFrom('blob_chunks').select('seq').where('blob_key', '=', key).where('seq', '=', 0).executeTakeFirst();
    return row !== undefined;
  }

  async delete(key: string): Promise<void> {
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
