import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { compiledQuery } from '../src/store/compiled-query.js';
import type { Store } from '../src/store/store.js';
import { openTestStore, testStores } from './support/test-service.js';

interface Notes {
  notes: { id: number; body: string | null; copy: string | null };
}

// One query module for every store, as the repositories use it: built once per dialect.
let builds = 0;
const insertNote = compiledQuery((db: Kysely<Notes>, p: { id: number; body?: string | null }) => {
  builds++;
  return db.insertInto('notes').values({ id: p.id, body: p.body, copy: p.body }).returningAll();
});
const byId = compiledQuery((db: Kysely<Notes>, p: { id: number }) => db.selectFrom('notes').selectAll().where('id', '=', p.id).limit(1));

for (const kind of testStores()) {
  describe(`compiled queries (${kind})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let db: Kysely<Notes>;
    before(async () => {
      ({ store, close } = await openTestStore(kind));
      db = store.database.db as unknown as Kysely<Notes>;
      await sql`create table notes (id integer primary key, body text, copy text)`.execute(db);
    });
    after(() => close());

    test('each call binds its own values into SQL built once; a value used twice binds twice', async () => {
      const buildsBefore = builds;
      for (let id = 1; id <= 5; id++) {
        const [row] = (await insertNote(db, { id, body: `note ${id}` })).rows;
        assert.deepEqual(row, { id, body: `note ${id}`, copy: `note ${id}` });
      }
      assert.ok(builds - buildsBefore <= 1, 'built at most once for this store');
      assert.equal((await byId(db, { id: 3 })).rows[0]?.body, 'note 3');
      assert.equal((await byId(db, { id: 42 })).rows.length, 0);
    });

    test('a value left out binds NULL; constants of the query stay; transactions share the SQL', async () => {
      const buildsBefore = builds;
      await db.transaction().execute(async (trx) => {
        await insertNote(trx, { id: 100 });
        assert.deepEqual((await byId(trx, { id: 100 })).rows[0], { id: 100, body: null, copy: null });
      });
      assert.equal(builds, buildsBefore);
    });
  });
}
