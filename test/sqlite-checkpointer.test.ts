import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../src/store/database.js';

test('the embedded database is checkpointed by a thread of its own once the WAL has grown', async () => {
  const folder = await mkdtemp(path.join(tmpdir(), 'signet-checkpoint-'));
  const file = path.join(folder, 'signet.sqlite');
  try {
    const database = openDatabase({ workFolder: folder });
    const { db } = database;
    await sql`create table notes (id integer primary key, body blob not null)`.execute(db);
    const body = Buffer.alloc(16 * 1024, 7);
    // ~8 MB through the WAL: past the thread's 4 MB threshold, far below the connection's own 64 MB.
    for (let i = 0; i < 500; i++) await sql`insert into notes (id, body) values (${i}, ${body})`.execute(db);
    assert.equal(database.checkpointer!.checkpoints, 0, 'nothing is checkpointed before the thread starts');
    const deadline = Date.now() + 20_000;
    while (database.checkpointer!.checkpoints === 0 && Date.now() < deadline) {
      // Writes keep telling the checkpointer the WAL's size (it looks at most once a second).
      await sql`insert or replace into notes (id, body) values (0, ${body})`.execute(db);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(database.checkpointer!.checkpoints > 0, 'the checkpoint thread ran');
    // The pages are in the database file itself now; the connection would only have copied them at 64 MB.
    assert.ok((await stat(file)).size > 4 * 1024 * 1024, `database file holds ${(await stat(file)).size} bytes`);
    await database.close();

    const reopened = openDatabase({ workFolder: folder });
    const row = await sql<{ n: number }>`select count(*) as n from notes`.execute(reopened.db);
    assert.equal(Number(row.rows[0]!.n), 500);
    await reopened.close();
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
