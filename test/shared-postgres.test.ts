import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createWorkFolder, startChildService } from './support/child-service.js';
import { basicAuth, createTestDatabase, startTestService, testStores, waitUntilFinal, type TestService } from './support/test-service.js';

// Several instances on one PostgreSQL database: whichever instance a client reaches answers.
if (testStores().includes('postgres')) {
  describe('two instances sharing PostgreSQL', () => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    let apiOnly: TestService;
    let worker: TestService;
    const auth = basicAuth('client-a', 'secret-a');

    before(async () => {
      database = await createTestDatabase();
      // The first instance answers the API only; the second does the work. Separate work folders.
      apiOnly = await startTestService({ databaseUrl: database.url, flags: ['--workers=0'] });
      worker = await startTestService({ databaseUrl: database.url });
    });
    after(async () => {
      await apiOnly.stop();
      await worker.stop();
      await database.drop();
    });

    test('submitted on one instance, signed by another, downloaded from either', async () => {
      const content = Buffer.alloc(3 * 1024 * 1024 + 17, 7); // several blob chunks
      const submit = await fetch(`${apiOnly.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({
          externalReference: 'shared-1',
          signature: { format: 'CAdES', level: 'B-B' },
          documents: [{ name: 'big.bin', content: content.toString('base64') }],
        }),
      });
      // Prefer: wait on the API-only instance hears about completion on the other one (NOTIFY).
      assert.equal(submit.status, 200);
      const operation = (await submit.json()) as any;
      assert.equal(operation.status, 'SUCCEEDED');
      assert.equal(operation.host.split(':')[1], new URL(apiOnly.url).port, 'host names the instance that accepted it');

      const task = await waitUntilFinal(worker.url, auth, operation.id);
      assert.equal(task.status, 'SUCCEEDED');
      for (const service of [apiOnly, worker]) {
        const signature = await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: auth } });
        assert.equal(signature.status, 200);
        assert.equal(signature.headers.get('content-type'), 'application/pkcs7-signature');
        assert.ok((await signature.arrayBuffer()).byteLength > 500);
      }
      assert.equal(await worker.store.blobs.size(`in/${operation.documents[0].id}`), content.length);
    });

    test('tokens issued by one instance work on the other', async () => {
      const response = await fetch(`${apiOnly.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      const { access_token } = (await response.json()) as any;
      const tasks = await fetch(`${worker.url}/v1/tasks`, { headers: { authorization: `Bearer ${access_token}` } });
      assert.equal(tasks.status, 200);
    });
  });
}

if (testStores().includes('postgres')) {
  describe('callbacks with two instances sharing PostgreSQL', () => {
    test('every callback is sent once, whichever instance sends it', { timeout: 60_000 }, async () => {
      const { createServer } = await import('node:http');
      const seen = new Map<string, number>();
      const receiver = createServer((req, res) => {
        const id = String(req.headers['webhook-id']);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        req.resume();
        req.on('end', () => res.writeHead(200).end());
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const callbackUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const database = await createTestDatabase();
      const flags = ['--outbound-allow=127.0.0.1'];
      const clients = { 'client-a': { secret: 'secret-a', callbackUrl } };
      const one = await startTestService({ databaseUrl: database.url, flags, clients });
      const two = await startTestService({ databaseUrl: database.url, flags, clients });
      try {
        const auth = basicAuth('client-a', 'secret-a');
        const ids = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const response = await fetch(`${(i % 2 ? one : two).url}/v1/signatures`, {
              method: 'POST',
              headers: { authorization: auth, 'content-type': 'application/json' },
              body: JSON.stringify({ externalReference: `shared-cb-${i}`, signature: { format: 'CAdES', level: 'B-B' }, documents: [{ name: 'a.txt', content: 'YQ==' }] }),
            });
            return ((await response.json()) as any).taskId as string;
          }),
        );
        const deadline = Date.now() + 30_000;
        while (seen.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(seen.size, ids.length);
        assert.ok([...seen.values()].every((n) => n === 1), `some callbacks were sent twice: ${JSON.stringify([...seen.values()])}`);
      } finally {
        await one.stop();
        await two.stop();
        await database.drop();
        receiver.close();
      }
    });
  });
}

if (testStores().includes('postgres')) {
  describe('an instance whose clock is wrong, sharing PostgreSQL', () => {
    test('its clock 60 s ahead, it neither takes a live lease for expired nor stops working', { timeout: 60_000 }, async () => {
      const database = await createTestDatabase();
      const auth = basicAuth('client-a', 'secret-a');
      const api = await startTestService({ databaseUrl: database.url, flags: ['--workers=0'] });
      const folder = await createWorkFolder({ 'client-a': { secret: 'secret-a' } });
      const skew = path.join(folder, 'clock-ahead.mjs');
      await writeFile(skew, 'const real = Date.now; Date.now = () => real() + 60_000;\n');
      let skewed: Awaited<ReturnType<typeof startChildService>> | undefined;
      try {
        const submit = (reference: string) =>
          fetch(`${api.url}/v1/signatures`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body: JSON.stringify({
              externalReference: reference,
              signature: { format: 'CAdES', level: 'B-B' },
              documents: [{ name: 'a.txt', content: Buffer.from(reference).toString('base64') }],
            }),
          }).then(async (response) => ((await response.json()) as { taskId: string }).taskId);
        // A task another (healthy) instance holds with a 20 s lease, on the shared clock.
        const held = await submit('held-by-another');
        const claimed = await api.store.queue.claimNextTask('healthy-instance', 20_000);
        assert.equal(claimed?.id, held);

        skewed = await startChildService({
          workFolder: folder,
          nodeArgs: [`--import=${skew}`],
          flags: [`--database-url=${database.url}`, '--workers=1'],
        });
        assert.ok(
          skewed.logs.some((line) => line.includes("clock differs from PostgreSQL's")),
          'the skewed instance says its clock is off',
        );
        // It works: a new task is signed by it …
        const fresh = await submit('fresh');
        const done = await waitUntilFinal(api.url, auth, fresh, 20_000);
        assert.equal(done.status, 'SUCCEEDED');
        // … but the held one, whose lease has 20 s left on the shared clock (and 40 s ago expired on the
        // skewed machine's), is still the healthy instance's.
        const row = await api.store.tasks.findByIdForEngine(held);
        assert.equal(row?.status, 'RUNNING');
        assert.equal(row?.lease_owner, 'healthy-instance');
      } finally {
        await skewed?.kill();
        await api.stop();
        await database.drop();
      }
    });
  });
}

if (testStores().includes('postgres')) {
  describe('prepared statements during a rolling upgrade', () => {
    test('a column added by a newer instance does not break the prepared SELECT * of a running one', async () => {
      const database = await createTestDatabase();
      const store = (await import('../src/store/store.js')).openStore;
      const folder = await createWorkFolder();
      const running = await store({ workFolder: folder, databaseUrl: database.url });
      try {
        // Prepared on every connection of the pool (ten lookups at once take ten connections).
        const lookups = () => Promise.all(Array.from({ length: 10 }, () => running.registrations.findByTask('no-such-task')));
        await lookups();
        const admin = new (await import('pg')).default.Client({ connectionString: database.url });
        await admin.connect();
        await admin.query('ALTER TABLE registrations ADD COLUMN added_by_a_newer_version text');
        await admin.end();
        assert.deepEqual(await lookups(), Array.from({ length: 10 }, () => undefined));
      } finally {
        await running.close();
        await database.drop();
      }
    });
  });
}

if (testStores().includes('postgres')) {
  describe('grouped writes on PostgreSQL', () => {
    test('a value PostgreSQL refuses (U+0000) fails its own submission with 400, not the others grouped with it', async () => {
      const service = await startTestService({ store: 'postgres' });
      try {
        const auth = basicAuth('client-a', 'secret-a');
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            fetch(`${service.url}/v1/registrations/file`, {
              method: 'POST',
              headers: { authorization: auth, 'content-type': 'application/json' },
              body: JSON.stringify({
                content: Buffer.from(`grouped ${i}`).toString('base64'),
                userId: 'u-nul',
                userEmail: 'nul@example.org',
                externalReference: i === 5 ? 'bad\u0000reference' : `good-${i}`,
              }),
            }).then(async (response) => ({ status: response.status, body: (await response.json()) as any })),
          ),
        );
        assert.equal(answers[5]!.status, 400);
        assert.equal(answers[5]!.body.code, 'invalid_request');
        for (const [i, answer] of answers.entries()) if (i !== 5) assert.equal(answer.status, 202, `submission ${i}: ${JSON.stringify(answer.body)}`);
      } finally {
        await service.stop();
      }
    });
  });
}
