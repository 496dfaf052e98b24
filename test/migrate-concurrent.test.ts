import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { migrations } from '../src/store/migrations/index.js';
import { openStore } from '../src/store/store.js';
import { uuid7 } from '../src/util/uuid7.js';
import { createTestDatabase, testStores } from './support/test-service.js';

// Instances sharing PostgreSQL migrate its schema when they start; a rolling upgrade or a
// `docker compose up` starts several at once. Migrations apply once each, and an older Signet
// refuses a schema newer than itself (README "Several instances").
if (testStores().includes('postgres')) {
  describe('migrations on a shared PostgreSQL', () => {
    const versions = migrations.map((migration) => migration.version);
    const latest = versions[versions.length - 1];
    let workFolder: string;

    before(async () => {
      workFolder = await mkdtemp(path.join(tmpdir(), 'signet-migrate-'));
    });
    after(async () => {
      await rm(workFolder, { recursive: true, force: true });
    });

    /** `count` pools on one database, each with a connection already open, so that the migrations start together. */
    async function openPools(url: string, count: number): Promise<StoreDatabase[]> {
      const databases = Array.from({ length: count }, () => openDatabase({ databaseUrl: url, workFolder }));
      await Promise.all(databases.map((database) => sql`SELECT 1`.execute(database.db)));
      return databases;
    }

    async function recordedVersions(database: StoreDatabase): Promise<number[]> {
      const rows = await sql<{ version: number }>`SELECT version FROM signet_migrations ORDER BY version`.execute(database.db);
      return rows.rows.map((row) => Number(row.version));
    }

    // Several rounds on fresh databases: the race on the first CREATE TABLE and on each migration's
    // lock falls differently each time.
    for (const round of [1, 2, 3]) {
      test(`four instances migrating one fresh database at once all succeed, each migration applied once (round ${round})`, async () => {
        const database = await createTestDatabase();
        const pools = await openPools(database.url, 4);
        try {
          const results = await Promise.allSettled(pools.map((pool) => migrate(pool.db, pool.dialect)));
          for (const result of results) {
            assert.equal(result.status, 'fulfilled', result.status === 'rejected' ? String(result.reason?.stack ?? result.reason) : '');
          }
          const applied = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
          assert.deepEqual(
            [...applied].sort((a, b) => a - b),
            versions,
            'every migration was applied by exactly one of the four',
          );
          assert.deepEqual(await recordedVersions(pools[0]), versions, 'each version is recorded once in signet_migrations');

          // A fifth start later finds nothing to do.
          assert.deepEqual(await migrate(pools[0].db, pools[0].dialect), []);
        } finally {
          for (const pool of pools) await pool.close();
        }

        // The schema works: a store on it takes a task and hands it to a worker.
        const store = await openStore({ databaseUrl: database.url, workFolder });
        try {
          const now = Date.now();
          const id = uuid7(now);
          const { created } = await store.tasks.insertTask(
            {
              id,
              client_id: 'client-a',
              kind: 'sign',
              status: 'PENDING',
              external_reference: `migrate-${round}`,
              request_fingerprint: 'f',
              request_json: '{}',
              description: null,
              callback_url: null,
              host: 'signet-1:8080',
              attempts: 0,
              max_attempts: 5,
              run_at: now,
              lease_owner: null,
              lease_until: null,
              created_at: now,
              started_at: null,
              finished_at: null,
              error_code: null,
              error_message: null,
              result_json: null,
            },
            [],
          );
          assert.equal(created, true);
          const claimed = await store.queue.claimNextTask('test-owner', 30_000, { kinds: ['sign'] });
          assert.equal(claimed?.id, id);
        } finally {
          await store.close();
          await database.drop();
        }
      });
    }

    test('four stores opening one fresh database at once all start', async () => {
      const database = await createTestDatabase();
      try {
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => openStore({ databaseUrl: database.url, workFolder })));
        for (const result of results) if (result.status === 'fulfilled') await result.value.close();
        for (const result of results) {
          assert.equal(result.status, 'fulfilled', result.status === 'rejected' ? String(result.reason?.stack ?? result.reason) : '');
        }
        const [check] = await openPools(database.url, 1);
        try {
          assert.deepEqual(await recordedVersions(check), versions);
        } finally {
          await check.close();
        }
      } finally {
        await database.drop();
      }
    });

    test('an older Signet refuses a schema newer than itself, naming both versions', async () => {
      const database = await createTestDatabase();
      const [pool] = await openPools(database.url, 1);
      try {
        await migrate(pool.db, pool.dialect);
        const future = latest + 1;
        await sql`INSERT INTO signet_migrations (version, name, applied_at) VALUES (${future}, ${'from-a-newer-signet'}, ${Date.now()})`.execute(pool.db);

        await assert.rejects(migrate(pool.db, pool.dialect), (error: Error) => {
          assert.match(error.message, new RegExp(`\\b${future}\\b`), error.message);
          assert.match(error.message, new RegExp(`\\b${latest}\\b`), error.message);
          assert.match(error.message, /newer than this Signet/);
          return true;
        });
        // openStore refuses the same way (and so `signet serve` does not start).
        await assert.rejects(openStore({ databaseUrl: database.url, workFolder }), /newer than this Signet/);
        // Nothing was changed by the refused starts.
        assert.deepEqual(await recordedVersions(pool), [...versions, future]);
      } finally {
        await pool.close();
        await database.drop();
      }
    });
  });
}
