import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, getToken, startTestService, testStores, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const helloWorld = await readFile(path.join(import.meta.dirname, '../../shared/testdata/cms/hello-world.txt'));

function cadesRequest(externalReference: string, documents: Array<{ name: string; content: Buffer; externalReference?: string }>) {
  return {
    externalReference,
    signature: { format: 'CAdES', level: 'B-B' },
    documents: documents.map((d) => ({ name: d.name, externalReference: d.externalReference, content: d.content.toString('base64') })),
  };
}

for (const store of testStores()) {
  describe(`signature operations over HTTP (${store})`, () => {
    let service: TestService;
    let auth: string;
    let scratch: string;

    before(async () => {
      service = await startTestService({ store, flags: ['--max-documents=60'] });
      auth = `Bearer ${await getToken(service.url, 'client-a', 'secret-a')}`;
      scratch = await mkdtemp(path.join(tmpdir(), 'signet-verify-'));
    });
    after(async () => {
      await service.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    async function post(body: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { response, body: (await response.json()) as any };
    }

    async function download(link: string, authorization = auth): Promise<Buffer> {
      const response = await fetch(`${service.url}${link}`, { headers: { authorization } });
      assert.equal(response.status, 200, `GET ${link}`);
      return Buffer.from(await response.arrayBuffer());
    }

    test('a CAdES signature made through the API verifies with openssl, and fails after one changed byte', async () => {
      const { response, body: task } = await post(cadesRequest('verify-1', [{ name: 'hello.txt', content: helloWorld }]));
      assert.equal(response.status, 202);
      assert.equal(response.headers.get('location'), `/v1/tasks/${task.taskId}`);
      assert.equal(response.headers.get('retry-after'), '1');
      assert.equal(task.kind, 'sign');
      assert.equal(task.status, 'PENDING');
      assert.equal(task.host, `${hostname()}:${new URL(service.url).port}`);
      assert.equal(task.operationId, task.taskId);

      const finished = await waitUntilFinal(service.url, auth, task.taskId);
      assert.equal(finished.status, 'SUCCEEDED');
      const operation = (await (await fetch(`${service.url}/v1/signatures/${task.taskId}`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(operation.documents[0].status, 'SIGNED');
      const signature = await download(operation.documents[0].links.content);
      const ca = await (await fetch(`${service.url}/pki/ca.pem`)).text();

      await writeFile(path.join(scratch, 'sig.p7s'), signature);
      await writeFile(path.join(scratch, 'ca.pem'), ca);
      await writeFile(path.join(scratch, 'content'), helloWorld);
      const verify = () =>
        run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(scratch, 'sig.p7s'), '-content', path.join(scratch, 'content'), '-CAfile', path.join(scratch, 'ca.pem'), '-out', '/dev/null']);
      const good = verify();
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stderr, /Verification successful/);

      const tampered = Buffer.from(helloWorld);
      tampered[0] ^= 0x01;
      await writeFile(path.join(scratch, 'content'), tampered);
      const bad = verify();
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /digest failure|Verification failure/i);
    });

    test('Prefer: wait answers 200 with the finished operation', async () => {
      const { response, body } = await post(cadesRequest('sync-1', [{ name: 'a.txt', content: Buffer.from('sync') }]), { prefer: 'wait=10' });
      assert.equal(response.status, 200);
      assert.equal(body.status, 'SUCCEEDED');
      assert.equal(body.documents[0].status, 'SIGNED');
      assert.ok(body.executionTimeMs >= 0);
    });

    test('idempotency: same reference and content replays, other content is 409', async () => {
      const request = cadesRequest('idem-1', [{ name: 'a.txt', content: Buffer.from('first') }]);
      const first = await post(request);
      assert.equal(first.response.status, 202);
      const again = await post(request);
      assert.equal(again.response.status, 200);
      assert.equal(again.response.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.body.taskId, first.body.taskId);
      // The same request written with its keys in another order is the same request.
      const reordered = await post(JSON.stringify({ documents: request.documents, signature: { level: 'B-B', format: 'CAdES' }, externalReference: 'idem-1' }));
      assert.equal(reordered.response.status, 200);
      assert.equal(reordered.body.taskId, first.body.taskId);
      const otherCallback = await post({ ...request, callbackUrl: 'https://8.8.8.8/elsewhere' });
      assert.equal(otherCallback.response.status, 409, 'a different callback is a different request');
      const conflict = await post(cadesRequest('idem-1', [{ name: 'a.txt', content: Buffer.from('second') }]));
      assert.equal(conflict.response.status, 409);
      assert.equal(conflict.response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(conflict.body.code, 'duplicate_external_reference');
      assert.equal(conflict.body.status, 409);
    });

    test('lookup by operation and by document reference; task list filters', async () => {
      const { body: task } = await post(cadesRequest('lookup-op', [{ name: 'a.txt', content: Buffer.from('x'), externalReference: 'lookup-doc' }]));
      await waitUntilFinal(service.url, auth, task.taskId);
      for (const reference of ['lookup-op', 'lookup-doc']) {
        const list = (await (await fetch(`${service.url}/v1/signatures?externalReference=${reference}`, { headers: { authorization: auth } })).json()) as any;
        assert.deepEqual(list.items.map((o: any) => o.id), [task.taskId], reference);
      }
      const tasks = (await (await fetch(`${service.url}/v1/tasks?externalReference=lookup-op&kind=sign`, { headers: { authorization: auth } })).json()) as any;
      assert.deepEqual(tasks.items.map((t: any) => t.taskId), [task.taskId]);
      const none = (await (await fetch(`${service.url}/v1/signatures?externalReference=nothing-here`, { headers: { authorization: auth } })).json()) as any;
      assert.deepEqual(none.items, []);
    });

    test('a 50-document multipart batch signs every document and the ZIP holds them all', async () => {
      const form = new FormData();
      const documents = Array.from({ length: 50 }, (_, i) => ({ name: `doc-${i}.txt`, externalReference: `batch-doc-${i}` }));
      form.append('request', JSON.stringify({ externalReference: 'batch-50', signature: { format: 'CAdES', level: 'B-B' }, documents }));
      for (let i = 0; i < 50; i++) form.append('files', new Blob([`document number ${i}`]), `doc-${i}.txt`);
      const response = await fetch(`${service.url}/v1/signatures`, { method: 'POST', headers: { authorization: auth }, body: form });
      assert.equal(response.status, 202);
      const task = (await response.json()) as any;
      await waitUntilFinal(service.url, auth, task.taskId);
      const operation = (await (await fetch(`${service.url}/v1/signatures/${task.taskId}`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(operation.documents.length, 50);
      assert.ok(operation.documents.every((d: any) => d.status === 'SIGNED'));
      assert.deepEqual(operation.documents.map((d: any) => d.externalReference), documents.map((d) => d.externalReference));

      const zip = await download(`/v1/signatures/${task.taskId}/documents.zip`);
      await writeFile(path.join(scratch, 'batch.zip'), zip);
      const listing = run('unzip', ['-Z1', path.join(scratch, 'batch.zip')]);
      assert.equal(listing.status, 0, listing.stderr);
      const names = listing.stdout.trim().split('\n').sort();
      assert.deepEqual(names, documents.map((d) => `${d.name}.p7s`).sort());
      // Document 7's signature in the ZIP covers document 7's bytes.
      const extracted = run('unzip', ['-p', path.join(scratch, 'batch.zip'), 'doc-7.txt.p7s']);
      await writeFile(path.join(scratch, 'doc7.p7s'), Buffer.from(extracted.stdout, 'latin1'));
      const doc7 = await download(operation.documents[7].links.content);
      assert.ok(doc7.length > 0);
      await writeFile(path.join(scratch, 'doc7.txt'), 'document number 7');
      await writeFile(path.join(scratch, 'ca.pem'), await (await fetch(`${service.url}/pki/ca.pem`)).text());
      await writeFile(path.join(scratch, 'doc7.p7s'), doc7);
      const verified = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(scratch, 'doc7.p7s'), '-content', path.join(scratch, 'doc7.txt'), '-CAfile', path.join(scratch, 'ca.pem'), '-out', '/dev/null']);
      assert.equal(verified.status, 0, verified.stderr);
    });

    test('multipart with a typed JSON request part (curl -F "request=…;type=application/json")', async () => {
      const boundary = 'signet-test-boundary';
      const body = (requestJson: string) =>
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="request"\r\nContent-Type: application/json\r\n\r\n${requestJson}\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n` +
            `--${boundary}--\r\n`,
        );
      const send = (requestJson: string) =>
        fetch(`${service.url}/v1/signatures`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
          body: body(requestJson),
        });
      const good = await send(JSON.stringify({ externalReference: 'typed-json', signature: { format: 'CAdES', level: 'B-B' }, documents: [{ name: 'a.txt' }] }));
      assert.equal(good.status, 202, await good.clone().text());
      const bad = await send('{"externalReference": ');
      assert.equal(bad.status, 400);
      const badProblem = (await bad.json()) as any;
      assert.equal(badProblem.code, "invalid_json", JSON.stringify(badProblem));
      const invalid = await send(JSON.stringify({ externalReference: 'typed-json-2', documents: [{ title: 'no name' }] }));
      assert.equal(invalid.status, 400);
      assert.match(((await invalid.json()) as any).field, /^request\.documents\[0\]/);
    });

    test('one bad document fails only itself', async () => {
      const { body: task } = await post({
        externalReference: 'mixed-1',
        documents: [
          { name: 'good.txt', content: Buffer.from('fine').toString('base64'), signature: { format: 'CAdES', level: 'B-B' } },
          { name: 'later.xml', content: Buffer.from('<not-yet/>').toString('base64'), signature: { extend: true, level: 'B-LT' } },
        ],
      });
      const finished = await waitUntilFinal(service.url, auth, task.taskId);
      assert.equal(finished.status, 'SUCCEEDED');
      const operation = (await (await fetch(`${service.url}/v1/signatures/${task.taskId}`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(operation.documents[0].status, 'SIGNED');
      assert.equal(operation.documents[1].status, 'FAILED');
      assert.equal(operation.documents[1].error.code, 'not_signed');
    });

    test('an operation whose every document fails ends FAILED with a code', async () => {
      const { body: task } = await post({
        externalReference: 'all-bad',
        documents: [{ name: 'x.xml', content: Buffer.from('<x/>').toString('base64'), signature: { extend: true, level: 'B-LTA' } }],
      });
      const finished = await waitUntilFinal(service.url, auth, task.taskId);
      assert.equal(finished.status, 'FAILED');
      assert.equal(finished.error.code, 'all_documents_failed');
    });

    test('bad input: malformed JSON, bad base64, missing field, too many documents — each a 400 naming the problem', async () => {
      const malformed = await post('{"externalReference": "x", ');
      assert.equal(malformed.response.status, 400);
      assert.equal(malformed.body.code, 'invalid_json');

      const badBase64 = await post({ externalReference: 'b64', documents: [{ name: 'a.txt', content: 'not*base64!' }] });
      assert.equal(badBase64.response.status, 400);
      assert.equal(badBase64.body.code, 'invalid_base64');
      assert.equal(badBase64.body.field, 'documents[0].content');

      const missing = await post({ documents: [{ name: 'a.txt', content: 'eA==' }] });
      assert.equal(missing.response.status, 400);
      assert.equal(missing.body.code, 'invalid_request');
      assert.equal(missing.body.field, 'externalReference');

      const badLevel = await post({ externalReference: 'lvl', signature: { level: 'B-X' }, documents: [{ name: 'a.txt', content: 'eA==' }] });
      assert.equal(badLevel.response.status, 400);
      assert.match(badLevel.body.field, /^signature\.level/);

      const tooMany = await post({ externalReference: 'many', documents: Array.from({ length: 61 }, (_, i) => ({ name: `${i}.txt`, content: 'eA==' })) });
      assert.equal(tooMany.response.status, 400);
      assert.equal(tooMany.body.code, 'too_many_documents');
      assert.match(tooMany.body.detail, /at most 60/);

      const unknownKey = await post({ externalReference: 'key', signature: { key: 'nope' }, documents: [{ name: 'a.txt', content: 'eA==' }] });
      assert.equal(unknownKey.response.status, 400);
      assert.equal(unknownKey.body.field, 'documents[0].signature.key');
    });

    test('cancel: a finished task is 409; tasks of others are 404', async () => {
      const { body } = await post(cadesRequest('cancel-1', [{ name: 'a.txt', content: Buffer.from('c') }]), { prefer: 'wait=10' });
      const cancel = await fetch(`${service.url}/v1/tasks/${body.id}/cancel`, { method: 'POST', headers: { authorization: auth } });
      assert.equal(cancel.status, 409);
      assert.equal(((await cancel.json()) as any).code, 'task_not_cancellable');

      const other = basicAuth('client-b', 'secret-b');
      for (const url of [`/v1/tasks/${body.id}`, `/v1/signatures/${body.id}`, `/v1/signatures/${body.id}/documents.zip`, `/v1/signatures/${body.id}/documents/${body.documents[0].id}/content`]) {
        const response = await fetch(`${service.url}${url}`, { headers: { authorization: other } });
        assert.equal(response.status, 404, url);
        assert.equal(((await response.json()) as any).code, 'not_found');
      }
      const listed = (await (await fetch(`${service.url}/v1/signatures?externalReference=cancel-1`, { headers: { authorization: other } })).json()) as any;
      assert.deepEqual(listed.items, []);
    });

    test('the task list pages newest first with a cursor', async () => {
      for (let i = 0; i < 3; i++) await post(cadesRequest(`page-${i}`, [{ name: 'a.txt', content: Buffer.from(`p${i}`) }]));
      const first = (await (await fetch(`${service.url}/v1/tasks?limit=2`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(first.items.length, 2);
      assert.ok(first.nextCursor);
      const second = (await (await fetch(`${service.url}/v1/tasks?limit=2&cursor=${first.nextCursor}`, { headers: { authorization: auth } })).json()) as any;
      assert.ok(second.items.length >= 1);
      assert.ok(second.items[0].taskId < first.items[1].taskId);
    });
  });
}
