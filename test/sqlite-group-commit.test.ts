import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { commitWithoutWaitingForFlush, groupCommitSqliteDialect } from '../src/store/sqlite-group-commit.js';

interface Db {
  items: { id: number; note: string };
}

const folder = mkdtempSync(path.join(tmpdir(), 'signet-group-commit-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function open(name: string) {
  const sqlite = new BetterSqlite3(path.join(folder, name));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  let prepares = 0;
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    prepares++;
    return prepare(source);
  }) as typeof sqlite.prepare;
  const groupCommit = groupCommitSqliteDialect(sqlite);
  const db = new Kysely<Db>({ dialect: groupCommit.dialect });
  return { db, sqlite, flushes: groupCommit.flushCount, prepares: () => prepares };
}

describe('SQLite group commit', () => {
  test('a transaction resolves only after a WAL flush that began after its commit', async () => {
    const { db, flushes } = open('one.sqlite');
    await sql`create table items (id integer primary key, note text)`.execute(db);
    const before = flushes();
    await db.transaction().execute((trx) => trx.insertInto('items').values({ id: 1, note: 'a' }).execute());
    assert.equal(flushes(), before + 1);
    // An autocommit write is a commit too.
    await db.insertInto('items').values({ id: 2, note: 'b' }).execute();
    assert.equal(flushes(), before + 2);
    // Reads flush nothing.
    await db.selectFrom('items').selectAll().execute();
    await db.transaction().execute((trx) => trx.selectFrom('items').selectAll().execute());
    assert.equal(flushes(), before + 2);
    await db.destroy();
  });

  test('concurrent transactions share flushes, and every one of them is committed', async () => {
    const { db, flushes } = open('many.sqlite');
    await sql`create table items (id integer primary key, note text)`.execute(db);
    const before = flushes();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => db.transaction().execute((trx) => trx.insertInto('items').values({ id: i, note: `n${i}` }).execute())),
    );
    const used = flushes() - before;
    assert.ok(used >= 1, 'at least one flush');
    assert.ok(used < 200, `200 commits should share flushes, used ${used}`);
    const { n } = (await db.selectFrom('items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow());
    assert.equal(Number(n), 200);
    await db.destroy();
  });

  test('a transaction marked commitWithoutWaitingForFlush commits without flushing; the next ordinary commit flushes for it', async () => {
    const { db, flushes } = open('relaxed.sqlite');
    await sql`create table items (id integer primary key, note text)`.execute(db);
    const before = flushes();
    await db.transaction().execute(async (trx) => {
      await commitWithoutWaitingForFlush(trx);
      await trx.insertInto('items').values({ id: 1, note: 'claim' }).execute();
    });
    assert.equal(flushes(), before);
    await db.insertInto('items').values({ id: 2, note: 'ordinary' }).execute();
    assert.equal(flushes(), before + 1);
    assert.equal((await db.selectFrom('items').selectAll().execute()).length, 2);
    await db.destroy();
  });

  test('a statement is prepared once per SQL text', async () => {
    const { db, prepares } = open('prepared.sqlite');
    await sql`create table items (id integer primary key, note text)`.execute(db);
    const before = prepares();
    for (let i = 0; i < 50; i++) await db.insertInto('items').values({ id: i, note: 'x' }).execute();
    for (let i = 0; i < 50; i++) await db.selectFrom('items').selectAll().where('id', '=', i).execute();
    assert.equal(prepares() - before, 2);
    await db.destroy();
  });

  test('a failed statement rolls back and leaves the connection usable', async () => {
    const { db } = open('failure.sqlite');
    await sql`create table items (id integer primary key, note text)`.execute(db);
    await db.insertInto('items').values({ id: 1, note: 'a' }).execute();
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 2, note: 'b' }).execute();
        await trx.insertInto('items').values({ id: 1, note: 'duplicate' }).execute();
      }),
      /UNIQUE/,
    );
    assert.deepEqual((await db.selectFrom('items').select('id').execute()).map((r) => r.id), [1]);
    await db.destroy();
  });
});
