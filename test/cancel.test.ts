import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';

for (const store of testStores()) {
  describe(`cancelling a pending task (${store})`, () => {
    let service: TestService;
    const auth = basicAuth('client-a', 'secret-a');
    // An instance without workers: submitted tasks stay PENDING until someone cancels them.
    before(async () => {
      service = await startTestService({ store, flags: ['--workers=0'] });
    });
    after(() => service.stop());

    test('PENDING → CANCELLED once; a second cancel is 409; others cannot cancel it', async () => {
      const submit = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          externalReference: 'to-cancel',
          signature: { format: 'CAdES', level: 'B-B' },
          documents: [{ name: 'a.txt', content: 'YQ==' }],
        }),
      });
      assert.equal(submit.status, 202);
      const { taskId } = (await submit.json()) as any;

      const stranger = await fetch(`${service.url}/v1/tasks/${taskId}/cancel`, { method: 'POST', headers: { authorization: basicAuth('client-b', 'secret-b') } });
      assert.equal(stranger.status, 404);

      const cancel = await fetch(`${service.url}/v1/tasks/${taskId}/cancel`, { method: 'POST', headers: { authorization: auth } });
      assert.equal(cancel.status, 200);
      const cancelled = (await cancel.json()) as any;
      assert.equal(cancelled.status, 'CANCELLED');
      assert.ok(cancelled.finishedAt);

      const again = await fetch(`${service.url}/v1/tasks/${taskId}/cancel`, { method: 'POST', headers: { authorization: auth } });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as any).code, 'task_not_cancellable');

      const info = (await (await fetch(`${service.url}/v1/tasks/${taskId}`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(info.status, 'CANCELLED');
      const listed = (await (await fetch(`${service.url}/v1/tasks?status=CANCELLED`, { headers: { authorization: auth } })).json()) as any;
      assert.deepEqual(listed.items.map((t: any) => t.taskId), [taskId]);
      // A cancelled task is never claimed.
      assert.equal(await service.store.queue.claimNextTask('probe', 1000), undefined);
    });

    test('a cancelled file registration leaves no staged content behind', async () => {
      const submit = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ content: Buffer.from('never registered').toString('base64'), userId: 'u-1', userEmail: 'u@example.org' }),
      });
      assert.equal(submit.status, 202);
      const { taskId } = (await submit.json()) as any;
      const task = await service.store.tasks.findByIdForEngine(taskId);
      const { blobId } = JSON.parse(task!.request_json) as { blobId: string };
      assert.equal(await service.store.blobs.exists(`reg/${blobId}`), true, 'staged before the 202');
      const cancel = await fetch(`${service.url}/v1/tasks/${taskId}/cancel`, { method: 'POST', headers: { authorization: auth } });
      assert.equal(cancel.status, 200);
      assert.equal(await service.store.blobs.exists(`reg/${blobId}`), false);
    });

    test('Prefer: wait on an instance without workers answers 202 after the wait', async () => {
      const started = Date.now();
      const submit = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=1' },
        body: JSON.stringify({ externalReference: 'waits', documents: [{ name: 'a.txt', content: 'YQ==' }] }),
      });
      assert.equal(submit.status, 202);
      assert.ok(Date.now() - started >= 900, 'held for about the preferred wait');
      assert.equal(((await submit.json()) as any).status, 'PENDING');
    });
  });
}
