import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { basicAuth, startTestService, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

/**
 * Operator retry (API.md §2, issue 11): a task that FAILED for a reason the operator can fix runs
 * again, same id, after the fix. The external TSA here is `openssl ts -reply` behind a few lines of
 * HTTP: misconfigured at first (it accepts SHA-1 imprints only, so it rejects Signet's SHA-256
 * requests, a refusal that asking again cannot change), then fixed.
 */

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** An RFC 3161 TSA over HTTP whose answers are made by `openssl ts -reply` with `digests` as configured. */
async function opensslTsa(pkiFolder: () => string): Promise<{ url: string; setDigests(digests: string): void; requests: () => number }> {
  const folder = await mkdtemp(path.join(tmpdir(), 'signet-openssl-tsa-'));
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  await writeFile(path.join(folder, 'serial'), '01\n');
  let digests = 'sha1';
  let requests = 0;
  let counter = 0;
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    requests += 1;
    const n = ++counter;
    const pki = pkiFolder();
    const config = path.join(folder, `tsa-${n}.cnf`);
    await writeFile(
      config,
      [
        '[ tsa ]',
        'default_tsa = test_tsa',
        '[ test_tsa ]',
        `serial = ${path.join(folder, 'serial')}`,
        `signer_cert = ${path.join(pki, 'tsa.cert.pem')}`,
        `signer_key = ${path.join(pki, 'tsa.key.pem')}`,
        `certs = ${path.join(pki, 'ca.cert.pem')}`,
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        `digests = ${digests}`,
        'accuracy = secs:1',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
    const query = path.join(folder, `q-${n}.tsq`);
    const reply = path.join(folder, `r-${n}.tsr`);
    await writeFile(query, Buffer.concat(chunks));
    const made = run('openssl', ['ts', '-reply', '-config', config, '-queryfile', query, '-out', reply]);
    if (made.status !== 0) {
      response.writeHead(500).end(made.stderr);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(await readFile(reply));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`,
    setDigests: (value) => (digests = value),
    requests: () => requests,
  };
}

test('a FAILED operation runs again after retry, once its TSA is fixed; retry of other states is 409, of another client 404', { timeout: 90_000 }, async () => {
  let service: TestService | undefined;
  const tsa = await opensslTsa(() => path.join(service!.workFolder, 'pki'));
  service = await startTestService({ flags: [`--tsa-url=${tsa.url}`] });
  cleanups.push(() => service!.stop());
  const auth = basicAuth('client-a', 'secret-a');
  const documents = ['first', 'second', 'third'].map((text) => ({ name: `${text}.txt`, content: Buffer.from(`${text} document\n`) }));

  const submitted = await fetch(`${service.url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      externalReference: 'retry-after-tsa-fix',
      signature: { format: 'CAdES', level: 'B-T' },
      documents: documents.map((doc) => ({ name: doc.name, content: doc.content.toString('base64') })),
    }),
  });
  assert.equal(submitted.status, 202);
  const { taskId } = (await submitted.json()) as { taskId: string };
  const failed = await waitUntilFinal(service.url, auth, taskId);
  assert.equal(failed.status, 'FAILED', JSON.stringify(failed));
  assert.equal(failed.error.code, 'all_documents_failed');
  const failedOperation = (await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
  assert.deepEqual(failedOperation.documents.map((doc: any) => [doc.status, doc.error?.code]), documents.map(() => ['FAILED', 'tsa_failed']));
  assert.ok(tsa.requests() >= documents.length, 'the TSA was asked and refused');

  // The dead queue is visible: the list by status, and the gauge per kind.
  const deadQueue = (await (await fetch(`${service.url}/v1/tasks?status=FAILED`, { headers: { authorization: auth } })).json()) as any;
  assert.deepEqual(deadQueue.items.map((task: any) => task.taskId), [taskId]);
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /^signet_tasks_failed\{kind="sign"\} 1$/m);
  assert.match(metrics, /^signet_tasks_failed\{kind="register-file"\} 0$/m);

  // Another client cannot see or retry it; a task that is not FAILED cannot be retried.
  const foreign = await fetch(`${service.url}/v1/tasks/${taskId}/retry`, { method: 'POST', headers: { authorization: basicAuth('client-b', 'secret-b') } });
  assert.equal(foreign.status, 404);
  assert.equal(((await foreign.json()) as any).code, 'not_found');

  // The operator fixes the TSA, then retries: same task, PENDING again, attempts from zero.
  tsa.setDigests('sha256');
  const retried = await fetch(`${service.url}/v1/tasks/${taskId}/retry`, { method: 'POST', headers: { authorization: auth } });
  assert.equal(retried.status, 200);
  const retriedTask = (await retried.json()) as any;
  assert.equal(retriedTask.taskId, taskId);
  assert.ok(['PENDING', 'RUNNING'].includes(retriedTask.status), retriedTask.status);
  assert.equal(retriedTask.error, undefined);
  const done = await waitUntilFinal(service.url, auth, taskId);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.equal(done.attempts, 1, 'attempts count from the retry');
  assert.ok(Date.parse(done.startedAt) >= Date.parse(failed.finishedAt), 'startedAt describes the latest run');

  // Every document is signed now, with a time-stamp from the fixed TSA, and verifies with openssl.
  const operation = (await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
  const folder = await mkdtemp(path.join(tmpdir(), 'signet-retry-'));
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  const ca = path.join(folder, 'ca.pem');
  await writeFile(ca, await (await fetch(`${service.url}/pki/ca.pem`)).text());
  for (const [index, doc] of operation.documents.entries()) {
    assert.equal(doc.status, 'SIGNED');
    assert.equal(doc.level, 'B-T');
    const signature = path.join(folder, `${index}.p7s`);
    const content = path.join(folder, `${index}.txt`);
    await writeFile(signature, Buffer.from(await (await fetch(`${service.url}${doc.links.content}`, { headers: { authorization: auth } })).arrayBuffer()));
    await writeFile(content, documents[index]!.content);
    const verified = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', signature, '-content', content, '-CAfile', ca, '-out', '/dev/null']);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', signature]).stdout, /id-smime-aa-timeStampToken/);
  }
  assert.match(await (await fetch(`${service.url}/metrics`)).text(), /^signet_tasks_failed\{kind="sign"\} 0$/m);

  // SUCCEEDED (or any state but FAILED) is not retryable.
  const again = await fetch(`${service.url}/v1/tasks/${taskId}/retry`, { method: 'POST', headers: { authorization: auth } });
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as any).code, 'task_not_retryable');
  const unknown = await fetch(`${service.url}/v1/tasks/0190aaaa-0000-7000-8000-000000000000/retry`, { method: 'POST', headers: { authorization: auth } });
  assert.equal(unknown.status, 404);
});
