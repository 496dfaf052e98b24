import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sweepOrphanedContent } from '../src/core/housekeeping/sweep-orphaned-content.js';
import { openStore } from '../src/store/store.js';
import { uuid7Time } from '../src/util/uuid7.js';
import { createWorkFolder, startChildService, type ChildService } from './support/child-service.js';
import { basicAuth, createTestDatabase, startTestService, testStores, waitUntilFinal } from './support/test-service.js';

/**
 * Housekeeping (issue 11 point 5): content staged for a task that was never committed and writes a
 * killed process left half done are swept; `--retention` deletes finished operations' bytes and
 * keeps their records.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const children: ChildService[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a multipart upload of three 6 MB documents and stops sending in the middle of the third:
 * the first two are staged, the third is being written (a `.tmp` file, or staging rows).
 */
function startHangingUpload(url: string): { sentThirdPart: Promise<void>; request: http.ClientRequest } {
  const boundary = '----signet-housekeeping';
  const part = (name: string) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const request = http.request(`${url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  request.on('error', () => {});
  const document = (seed: number) => Buffer.alloc(6 * 1024 * 1024, seed);
  request.write(
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="request"\r\n\r\n`),
      Buffer.from(
        JSON.stringify({
          externalReference: 'never-committed',
          signature: { format: 'CAdES', level: 'B-B' },
          documents: [{ name: 'a.bin' }, { name: 'b.bin' }, { name: 'c.bin' }],
        }),
      ),
      Buffer.from('\r\n'),
      part('a.bin'),
      document(1),
      Buffer.from('\r\n'),
      part('b.bin'),
      document(2),
      Buffer.from('\r\n'),
      part('c.bin'),
    ]),
  );
  // Half of the third document, then nothing more: the upload hangs until the process is killed.
  const sentThirdPart = new Promise<void>((resolve) => request.write(document(3).subarray(0, 5 * 1024 * 1024), () => resolve()));
  return { sentThirdPart, request };
}

async function signOne(url: string, reference: string): Promise<{ taskId: string; documentId: string }> {
  const response = await fetch(`${url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=20' },
    body: JSON.stringify({ externalReference: reference, signature: { format: 'CAdES', level: 'B-B' }, documents: [{ name: 'kept.txt', content: Buffer.from(reference).toString('base64') }] }),
  });
  assert.equal(response.status, 200);
  const operation = (await response.json()) as any;
  assert.equal(operation.status, 'SUCCEEDED');
  return { taskId: operation.id, documentId: operation.documents[0].id };
}

for (const kind of testStores()) {
  describe(`sweeping what a killed upload left (${kind})`, () => {
    test('staged documents of a submission never committed, and its interrupted write, are gone after the sweep; owned content stays', { timeout: 90_000 }, async () => {
      const database = kind === 'postgres' ? await createTestDatabase() : undefined;
      if (database) cleanups.push(() => database.drop());
      const workFolder = await createWorkFolder();
      cleanups.push(() => rmSync(workFolder, { recursive: true, force: true }));
      const flags = database ? [`--database-url=${database.url}`] : [];
      const child = await startChildService({ workFolder, flags });
      children.push(child);

      const kept = await signOne(child.url, 'kept-operation');
      const registration = await fetch(`${child.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ content: Buffer.from('registered content').toString('base64'), userId: 'u-1', userEmail: 'u1@example.org' }),
      });
      assert.equal(registration.status, 200);
      const rid = ((await registration.json()) as { rid: string }).rid;

      const upload = startHangingUpload(child.url);
      await upload.sentThirdPart;
      const store = await openStore({ workFolder, databaseUrl: database?.url });
      cleanups.push(() => store.close());
      const staged = async () => {
        const ids: string[] = [];
        for await (const id of store.blobs.listIds('in', Date.now() + 1000)) ids.push(id);
        return ids.filter((id) => id !== kept.documentId);
      };
      const interrupted = () =>
        kind === 'sqlite'
          ? readdirSync(path.join(workFolder, 'blobs', 'in'), { recursive: true }).filter((name) => String(name).endsWith('.tmp')).length
          : 0;
      // The two complete documents are staged (and, on the file store, the third is being written).
      await waitFor(async () => (await staged()).length >= 2 && (kind === 'postgres' || interrupted() >= 1), 20_000, 'the upload staged');
      child.process.kill('SIGKILL');
      await child.exited;
      upload.request.destroy();

      const orphaned = await staged();
      assert.ok(orphaned.length >= 2, `staged before the kill: ${orphaned.length}`);
      let stagingRows = 0;
      if (kind === 'postgres') for await (const id of store.blobs.listIds('tmp', Date.now() + 1000)) if (uuid7Time(id)) stagingRows++;
      // A sweep that considers only older content leaves these alone: they may be an upload in progress.
      const early = await sweepOrphanedContent({ store }, { olderThanMs: 60 * 60 * 1000 });
      assert.equal(early.orphans, 0);
      assert.deepEqual((await staged()).sort(), orphaned.sort());

      const swept = await sweepOrphanedContent({ store }, { olderThanMs: 0 });
      assert.equal(swept.orphans, orphaned.length, JSON.stringify(swept));
      assert.deepEqual(await staged(), [], 'the staged documents are gone');
      assert.equal(interrupted(), 0, 'the interrupted write is gone');
      if (kind === 'postgres') {
        assert.ok(stagingRows >= 1, 'the killed write left staging rows');
        assert.equal(swept.abandonedWrites, stagingRows);
        const left: string[] = [];
        for await (const id of store.blobs.listIds('tmp', Date.now() + 1000)) left.push(id);
        assert.deepEqual(left, []);
      }
      // What tasks and registrations own is untouched.
      assert.ok(await store.blobs.exists(`in/${kept.documentId}`));
      assert.ok(await store.blobs.exists(`out/${kept.documentId}`));
      const row = await store.registrations.findByRidForPublic(rid);
      assert.ok(row && (await store.blobs.exists(`reg/${row.blob_id}`)));
    });
  });

  describe(`--retention (${kind})`, () => {
    test('a finished operation loses its bytes and keeps its record; content routes answer 410 purged; registrations stay', { timeout: 60_000 }, async () => {
      const service = await startTestService({ store: kind, flags: ['--retention=1s'] });
      cleanups.push(() => service.stop());
      const { taskId, documentId } = await signOne(service.url, 'to-be-purged');
      // An operation that FAILED (not a PDF), purged too: an operator's retry has nothing to sign.
      const failing = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ externalReference: 'failed-then-purged', signature: { format: 'PAdES', level: 'B-B' }, documents: [{ name: 'x.pdf', content: Buffer.from('not a pdf').toString('base64') }] }),
      });
      const failedId = ((await failing.json()) as { id: string }).id;
      assert.equal((await waitUntilFinal(service.url, AUTH, failedId)).status, 'FAILED');
      const content = `${service.url}/v1/signatures/${taskId}/documents/${documentId}/content`;
      const registration = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ content: Buffer.from('evidence').toString('base64'), userId: 'u-2', userEmail: 'u2@example.org' }),
      });
      const rid = ((await registration.json()) as { rid: string }).rid;

      let operation: any;
      await waitFor(
        async () => {
          operation = await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: AUTH } })).json();
          return operation.documents[0].purged === true;
        },
        20_000,
        'the operation purged',
      );
      assert.equal(operation.status, 'SUCCEEDED');
      assert.equal(operation.documents[0].status, 'SIGNED');
      assert.ok(Date.parse(operation.documents[0].purgedAt) > 0);
      assert.deepEqual(operation.documents[0].links, {});
      for (const url of [content, `${service.url}/v1/signatures/${taskId}/documents.zip`]) {
        const response = await fetch(url, { headers: { authorization: AUTH } });
        assert.equal(response.status, 410, url);
        assert.equal(((await response.json()) as any).code, 'purged');
      }
      assert.equal((await waitUntilFinal(service.url, AUTH, taskId)).status, 'SUCCEEDED', 'the task record remains');
      await waitFor(
        async () => ((await (await fetch(`${service.url}/v1/signatures/${failedId}`, { headers: { authorization: AUTH } })).json()) as any).documents[0].purged === true,
        20_000,
        'the failed operation purged',
      );
      const retry = await fetch(`${service.url}/v1/tasks/${failedId}/retry`, { method: 'POST', headers: { authorization: AUTH } });
      assert.equal(retry.status, 410);
      assert.equal(((await retry.json()) as any).code, 'purged');
      assert.equal(await service.store.blobs.exists(`in/${documentId}`), false);
      assert.equal(await service.store.blobs.exists(`out/${documentId}`), false);
      // A registration is evidence: never purged.
      const deposited = await fetch(`${service.url}/v1/registrations/${rid}/content`, { headers: { authorization: AUTH } });
      assert.equal(deposited.status, 200);
      assert.equal(await deposited.text(), 'evidence');
      if (kind === 'sqlite') {
        // Freed pages go back to the file system (auto_vacuum = INCREMENTAL, vacuumed after each purge).
        const db = new Database(path.join(service.workFolder, 'signet.sqlite'), { readonly: true });
        assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
        db.close();
      }
    });
  });
}
