import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { access, link, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../src/store/store.js';
import { SMALL_BLOB_BYTES } from '../src/store/small-blobs-in-database.js';
import { ProcessLocalCopies } from '../src/store/process-local-copies.js';
import { readAll } from '../src/util/read-all.js';
import { openTestStore, testStores } from './support/test-service.js';
import { until } from './support/until.js';

for (const kind of testStores()) {
  describe(`blob store (${kind})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await openTestStore(kind));
    });
    after(() => close());

    test('a buffer and a stream are stored whole, hashed, and read back by readAll and as a stream', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 5);
      const expected = createHash('sha256').update(bytes).digest('hex');
      const fromBuffer = await store.blobs.write('in/blob-a', bytes);
      const fromStream = await store.blobs.write('in/blob-b', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      // Pieces written one after the other (a signed PDF: original, then its update), an empty one among them.
      const fromPieces = await store.blobs.write('in/blob-p', [bytes.subarray(0, 7), Buffer.alloc(0), bytes.subarray(7)]);
      for (const [key, stored] of [['in/blob-a', fromBuffer], ['in/blob-b', fromStream], ['in/blob-p', fromPieces]] as const) {
        assert.equal(stored.size, bytes.length);
        assert.equal(stored.sha256, expected);
        assert.ok((await store.blobs.readAll(key)).equals(bytes));
        assert.ok((await readAll(store.blobs.createReadStream(key))).equals(bytes));
      }
    });

    test('hash: false skips the digest, not the bytes', async () => {
      const bytes = randomBytes(200 * 1024);
      const stored = await store.blobs.write('out/blob-c', bytes, { durable: false, hash: false });
      assert.deepEqual(stored, { size: bytes.length, sha256: '' });
      await store.blobs.makeDurable(['out/blob-c']);
      assert.ok((await store.blobs.readAll('out/blob-c')).equals(bytes));
    });

    test('a blob written with a prefix (a signed PDF: its original, then the update) reads back whole by every path; a rewrite without one replaces it', async () => {
      const original = randomBytes(300 * 1024);
      await store.blobs.write('in/prefix-original', original);
      for (const [key, update] of [['out/prefix-small', randomBytes(5000)], ['out/prefix-large', randomBytes(2 * 1024 * 1024 + 3)], ['out/prefix-empty', Buffer.alloc(0)]] as const) {
        const whole = Buffer.concat([original, update]);
        const stored = await store.blobs.write(key, [original, update], { prefix: { key: 'in/prefix-original', size: original.length } });
        assert.deepEqual(stored, { size: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
        assert.ok((await store.blobs.readAll(key)).equals(whole), `${key}: readAll`);
        assert.ok((await readAll(store.blobs.createReadStream(key))).equals(whole), `${key}: stream`);
        assert.equal(await store.blobs.size(key), whole.length);
        const folder = await mkdtemp(path.join(tmpdir(), 'signet-prefix-'));
        await store.blobs.copyTo(key, path.join(folder, 'copy'));
        assert.ok((await readFile(path.join(folder, 'copy'))).equals(whole), `${key}: copyTo`);
        await rm(folder, { recursive: true, force: true });
      }
      if (kind === 'postgres') {
        // Code from before migration 13 reads every chunk's data: the NULL of the marker makes it fail, not serve the update alone.
        const { rows } = await sql<{ data: Buffer | null }>`SELECT data FROM blob_chunks WHERE blob_key = 'out/prefix-small' ORDER BY seq`.execute(store.database.db);
        assert.equal(rows[0]!.data, null);
        assert.equal(rows.length, 2);
        // Rewritten by such code (its upsert sets data and leaves prefix_key): a plain blob again, not the prefix.
        await store.blobs.write('out/prefix-old', [original, Buffer.from('update')], { prefix: { key: 'in/prefix-original', size: original.length } });
        await sql`DELETE FROM blob_chunks WHERE blob_key = 'out/prefix-old' AND seq > 0`.execute(store.database.db);
        await sql`UPDATE blob_chunks SET data = ${Buffer.from('old code')} WHERE blob_key = 'out/prefix-old' AND seq = 0`.execute(store.database.db);
        assert.equal((await store.blobs.readAll('out/prefix-old')).toString(), 'old code');
        assert.equal((await readAll(store.blobs.createReadStream('out/prefix-old'))).toString(), 'old code');
        assert.equal(await store.blobs.size('out/prefix-old'), 8);
      }
      // The prefix given as a piece of its own or inside a larger first piece: the same bytes either way.
      const joined = Buffer.concat([original, Buffer.from('update')]);
      await store.blobs.write('out/prefix-joined', [joined, Buffer.from('!')], { prefix: { key: 'in/prefix-original', size: original.length } });
      assert.ok((await store.blobs.readAll('out/prefix-joined')).equals(Buffer.concat([joined, Buffer.from('!')])));
      await store.blobs.write('out/prefix-small', Buffer.from('rewritten'));
      assert.equal((await store.blobs.readAll('out/prefix-small')).toString(), 'rewritten', 'a later write without a prefix drops the reference');
      assert.equal(await store.blobs.size('out/prefix-small'), 9);
    });

    test('copyTo writes the bytes to a file (a small blob and a large one), replacing what was there; a missing blob is refused', async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'signet-copyto-'));
      try {
        for (const [key, bytes] of [['out/blob-small', randomBytes(1000)], ['out/blob-large', randomBytes(SMALL_BLOB_BYTES * 3 + 11)]] as const) {
          await store.blobs.write(key, bytes);
          const file = path.join(folder, key.replace('/', '-'));
          await writeFile(file, 'an earlier, longer content that must not survive at the end of the copy'.repeat(100));
          await store.blobs.copyTo(key, file);
          assert.ok((await readFile(file)).equals(bytes), key);
        }
        await assert.rejects(store.blobs.copyTo('out/never-written', path.join(folder, 'never')));
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });

    test('adopt takes a file as a blob with its digest (a hard link on the file store: nothing copied); the blob outlives the file', async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'signet-adopt-'));
      try {
        for (const [key, bytes] of [['in/adopt-small', randomBytes(1000)], ['in/adopt-large', randomBytes(3 * 1024 * 1024 + 1)]] as const) {
          const file = path.join(folder, key.replace('/', '-'));
          await writeFile(file, bytes);
          const stored = await store.blobs.adopt(key, file);
          assert.deepEqual(stored, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
          await store.blobs.makeDurable([key]);
          if (kind === 'sqlite') assert.equal((await stat(file)).nlink, 2, `${key}: linked, not copied`);
          await rm(file);
          assert.ok((await store.blobs.readAll(key)).equals(bytes), key);
        }
        await assert.rejects(store.blobs.adopt('in/adopt-missing', path.join(folder, 'never-written')));
        // A file with another name already (dropped by `ln`) could change under the blob: copied, not linked.
        const shared = path.join(folder, 'shared');
        await writeFile(shared, 'shared bytes');
        await link(shared, path.join(folder, 'elsewhere'));
        await store.blobs.adopt('in/adopt-shared', shared);
        assert.equal((await stat(shared)).nlink, 2, 'not linked a third time');
        await writeFile(path.join(folder, 'elsewhere'), 'changed by its producer');
        assert.equal((await store.blobs.readAll('in/adopt-shared')).toString(), 'shared bytes');
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });

    test('a missing blob is refused by readAll; delete removes one', async () => {
      await assert.rejects(store.blobs.readAll('in/never-written'));
      await store.blobs.write('in/blob-d', Buffer.from('x'));
      assert.equal(await store.blobs.exists('in/blob-d'), true);
      await store.blobs.delete('in/blob-d');
      assert.equal(await store.blobs.exists('in/blob-d'), false);
    });
  });
}

describe('temporary files of interrupted writes (file store)', () => {
  test('those older than a day or of a process that is gone go when the store opens; recent ones of a live process and blobs stay', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'signet-tmpfiles-'));
    const shard = path.join(folder, 'blobs', 'in', 'ab');
    await mkdir(shard, { recursive: true });
    // A process that has exited: its pid names the writer of an interrupted write.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const old = path.join(shard, `0190-old.${process.pid}.deadbeef.tmp`);
    const recent = path.join(shard, `0190-recent.${process.pid}.cafebabe.tmp`);
    const killed = path.join(shard, `0190-killed.${gone}.f00dfeed.tmp`);
    const blob = path.join(shard, '0190-kept-ab');
    for (const file of [old, recent, killed, blob]) await writeFile(file, 'x');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    await utimes(blob, twoDaysAgo, twoDaysAgo);
    const exists = (file: string) => access(file).then(() => true, () => false);
    const store = await openStore({ workFolder: folder });
    try {
      const deadline = Date.now() + 5000;
      while (((await exists(old)) || (await exists(killed))) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await exists(old), false, 'the abandoned temporary file is removed');
      assert.equal(await exists(killed), false, 'the temporary file of a process that is gone is removed, however recent');
      assert.equal(await exists(recent), true, 'a write that may still be in progress is left alone');
      assert.equal(await exists(blob), true, 'blobs are never touched, however old');
    } finally {
      await store.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('small blobs as database rows (embedded store)', () => {
  let folder: string;
  let store: Store;
  const fileOf = (key: string) => {
    const [area, id] = key.split('/');
    return path.join(folder, 'blobs', area!, id!.slice(-2), id!);
  };
  const exists = (file: string) => access(file).then(() => true, () => false);
  const rows = async (key: string) =>
    (await store.database.db.selectFrom('blob_chunks').select('seq').where('blob_key', '=', key).execute()).length;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'signet-smallblobs-'));
    store = await openStore({ workFolder: folder });
  });
  after(async () => {
    await store.close();
    await rm(folder, { recursive: true, force: true });
  });

  test('deleted rows give their space back to the file system (incremental vacuum, run whole)', async () => {
    const freePages = () => {
      const db = new Database(path.join(folder, 'signet.sqlite'), { readonly: true });
      try {
        return db.pragma('freelist_count', { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    const keys = Array.from({ length: 200 }, (_, i) => `reg/vacuum-${i}`);
    for (const key of keys) await store.blobs.write(key, randomBytes(SMALL_BLOB_BYTES));
    for (const key of keys) await store.blobs.delete(key);
    assert.ok(freePages() > 1000, `free pages after deleting 200 rows of 64 KB: ${freePages()}`);
    await store.reclaimSpace();
    assert.equal(freePages(), 0);
  });

  test('a small durable buffer is a row and no file; it reads back every way', async () => {
    const bytes = randomBytes(SMALL_BLOB_BYTES);
    const stored = await store.blobs.write('reg/small-a', bytes);
    assert.deepEqual(stored, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    assert.equal(await rows('reg/small-a'), 1);
    assert.equal(await exists(fileOf('reg/small-a')), false);
    assert.ok((await store.blobs.readAll('reg/small-a')).equals(bytes));
    assert.ok((await readAll(store.blobs.createReadStream('reg/small-a'))).equals(bytes));
    assert.equal(await store.blobs.size('reg/small-a'), bytes.length);
    assert.equal(await store.blobs.exists('reg/small-a'), true);
    const pieces = await store.blobs.write('reg/small-pieces', [bytes.subarray(0, 100), bytes.subarray(100)]);
    assert.equal(pieces.size, bytes.length);
    assert.equal(await rows('reg/small-pieces'), 1, 'small pieces are one row too');
    assert.ok((await store.blobs.readAll('reg/small-pieces')).equals(bytes));
  });

  test('larger buffers, streams and unflushed writes are files', async () => {
    const large = randomBytes(SMALL_BLOB_BYTES + 1);
    await store.blobs.write('reg/large-b', large);
    await store.blobs.write('reg/stream-c', Readable.from([Buffer.from('tiny')]));
    await store.blobs.write('in/unflushed-d', Buffer.from('tiny'), { durable: false });
    await store.blobs.makeDurable(['in/unflushed-d']);
    for (const key of ['reg/large-b', 'reg/stream-c', 'in/unflushed-d']) {
      assert.equal(await rows(key), 0, key);
      assert.equal(await exists(fileOf(key)), true, key);
    }
    assert.ok((await readAll(store.blobs.createReadStream('reg/large-b'))).equals(large));
    assert.equal((await store.blobs.readAll('reg/stream-c')).toString(), 'tiny');
  });

  test('a rewrite in the other tier is what readers see; delete removes both', async () => {
    const small = Buffer.from('first, small');
    const large = randomBytes(SMALL_BLOB_BYTES * 2);
    await store.blobs.write('reg/rewritten-e', small);
    await store.blobs.write('reg/rewritten-e', large);
    assert.equal(await rows('reg/rewritten-e'), 0, 'the small version no longer shadows the file');
    assert.ok((await store.blobs.readAll('reg/rewritten-e')).equals(large));
    await store.blobs.write('reg/rewritten-e', small);
    assert.ok((await store.blobs.readAll('reg/rewritten-e')).equals(small));
    assert.equal(await store.blobs.size('reg/rewritten-e'), small.length);
    await store.blobs.delete('reg/rewritten-e');
    assert.equal(await store.blobs.exists('reg/rewritten-e'), false);
    assert.equal(await exists(fileOf('reg/rewritten-e')), false);
    await assert.rejects(readAll(store.blobs.createReadStream('reg/rewritten-e')));
  });
});

describe('local copies of staged inputs (PostgreSQL mode)', () => {
  test('read once then gone; a copy is only read by its own process; folders of processes that are gone (or of an earlier process with this pid) are removed', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'signet-copies-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
      for (const name of [`${gone}-aaaaaaaaaaaa`, `${process.pid}-bbbbbbbbbbbb`, `${process.ppid}-cccccccccccc`]) await mkdir(path.join(root, name), { recursive: true });
      const copies = await ProcessLocalCopies.open(root);
      const left = (await readdir(root)).sort();
      assert.equal(left.length, 2, left.join());
      assert.ok(left.includes(`${process.ppid}-cccccccccccc`), 'a running process keeps its folder');
      const bytes = randomBytes(200 * 1024);
      await Promise.all([copies.put('in/doc-1', [bytes.subarray(0, 7), bytes.subarray(7)]), copies.put('in/doc-3', [bytes.subarray(5)])]);
      assert.ok((await copies.take('in/doc-1'))!.equals(bytes), 'copies written at once do not overlap');
      assert.ok((await copies.take('in/doc-3'))!.equals(bytes.subarray(5)));
      assert.equal(await copies.take('in/doc-1'), undefined, 'read once: a retry reads the database');
      await copies.put('in/doc-2', [bytes]);
      copies.drop('in/doc-2');
      assert.equal(await copies.take('in/doc-2'), undefined);
      await copies.close();
      assert.deepEqual(await readdir(root), [`${process.ppid}-cccccccccccc`]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('copies go into segments of 64 MB; a full segment whose copies were all read is deleted', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'signet-copies-'));
    try {
      const copies = await ProcessLocalCopies.open(root);
      const [folder] = await readdir(root);
      const chunk = randomBytes(1024 * 1024);
      await Promise.all(Array.from({ length: 70 }, (_, i) => copies.put(`in/doc-${i}`, [chunk, Buffer.from([i])])));
      assert.deepEqual((await readdir(path.join(root, folder!))).sort(), ['segment-0', 'segment-1'], 'written together, none overfills a segment');
      assert.ok((await stat(path.join(root, folder!, 'segment-0'))).size <= 64 * 1024 * 1024);
      for (let i = 0; i < 70; i++) {
        const copy = await copies.take(`in/doc-${i}`);
        assert.ok(copy && copy.length === chunk.length + 1 && copy[chunk.length] === i && copy.subarray(0, chunk.length).equals(chunk), `doc-${i}`);
      }
      await until('the first segment deleted', async () => ((await readdir(path.join(root, folder!))).join() === 'segment-1' ? true : undefined), 5000);
      // Its folder removed by someone: the next segment makes it again.
      await rm(path.join(root, folder!), { recursive: true, force: true });
      for (let i = 0; i < 70; i++) await copies.put(`in/again-${i}`, [chunk]);
      assert.ok((await copies.take('in/again-69'))!.equals(chunk));
      assert.ok((await readdir(path.join(root, folder!))).length > 0, 'the folder made again');
      await copies.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
