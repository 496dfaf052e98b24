import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createWorkFolder, startChildService } from './support/child-service.js';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** A webhook receiver on 127.0.0.1 whose answer per path the test decides. */
async function startReceiver(answer: (path: string, count: number, req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      counts.set(path, (counts.get(path) ?? 0) + 1);
      received.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      answer(path, counts.get(path)!, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    on: (path: string) => received.filter((r) => r.path === path),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
const auth = basicAuth('client-a', 'secret-a');

function submitBody(reference: string, callbackUrl?: string) {
  return JSON.stringify({
    externalReference: reference,
    ...(callbackUrl && { callbackUrl }),
    signature: { format: 'CAdES', level: 'B-B' },
    documents: [{ name: 'a.txt', content: Buffer.from(reference).toString('base64') }],
  });
}

for (const store of testStores()) {
  describe(`callbacks (${store})`, () => {
    let service: TestService;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let slowNow = 0;
    let slowPeak = 0;

    before(async () => {
      receiver = await startReceiver((path, count, _req, res) => {
        if (path === '/ok') return void res.writeHead(204).end();
        if (path === '/flaky') return void res.writeHead(count <= 2 ? 500 : 200).end('x');
        if (path === '/gone') return void res.writeHead(410).end();
        if (path === '/hang') return count === 1 ? undefined : void res.writeHead(200).end(); // first attempt never answers
        if (path === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
        if (path === '/later') return void (count === 1 ? res.writeHead(503, { 'retry-after': '2' }).end() : res.writeHead(200).end());
        if (path === '/slow') {
          slowNow++;
          slowPeak = Math.max(slowPeak, slowNow);
          return void setTimeout(() => {
            slowNow--;
            res.writeHead(200).end();
          }, 200);
        }
        res.writeHead(404).end();
      });
      service = await startTestService({
        store,
        clients: { 'client-a': { secret: 'secret-a', webhookSecret }, 'client-b': { secret: 'secret-b' } },
        flags: ['--outbound-allow=127.0.0.1', '--webhook-retry-schedule=0s,300ms,300ms', '--webhook-timeout=700ms'],
      });
    });
    after(async () => {
      await service.stop();
      await receiver.close();
    });

    async function submit(reference: string, path: string) {
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: submitBody(reference, receiver.url(path)),
      });
      assert.equal(response.status, 202, await response.clone().text());
      return ((await response.json()) as any).taskId as string;
    }
    const deliveryLog = async (taskId: string, authorization = auth) =>
      (await (await fetch(`${service.url}/v1/tasks/${taskId}/deliveries`, { headers: { authorization } })).json()) as any;

    test('a finished task calls back, signed per Standard Webhooks: verified by the standardwebhooks package, a changed byte is rejected', async () => {
      const taskId = await submit('cb-ok', '/ok');
      await until(() => receiver.on('/ok').some((r) => r.body.includes(taskId)));
      const hit = receiver.on('/ok').find((r) => r.body.includes(taskId))!;
      const verifier = new Webhook(webhookSecret);
      const payload = verifier.verify(hit.body, hit.headers) as any;
      assert.equal(payload.type, 'task.succeeded');
      assert.equal(payload.data.taskId, taskId);
      assert.equal(payload.data.status, 'SUCCEEDED');
      assert.equal(payload.data.operationId, taskId);
      assert.equal(payload.data.externalReference, 'cb-ok');
      assert.equal(payload.data.links.self, `/v1/tasks/${taskId}`);
      const tampered = hit.body.replace('SUCCEEDED', 'SUCCEEDEd');
      assert.throws(() => verifier.verify(tampered, hit.headers));
      assert.throws(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(hit.body, hit.headers));

      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'DELIVERED');
      const log = await deliveryLog(taskId);
      assert.equal(log.attempts.length, 1);
      assert.equal(log.attempts[0].statusCode, 204);
      assert.equal(log.attempts[0].url, receiver.url('/ok'));
      assert.equal(log.deliveries[0].id, hit.headers['webhook-id']);
      assert.equal(log.nextAttemptAt, null);
    });

    test('500, 500, then 200: three attempts with the same webhook-id on the schedule', async () => {
      const taskId = await submit('cb-flaky', '/flaky');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'DELIVERED');
      const hits = receiver.on('/flaky');
      assert.equal(hits.length, 3);
      assert.equal(new Set(hits.map((h) => h.headers['webhook-id'])).size, 1);
      assert.ok(hits[1].at - hits[0].at >= 250, 'second attempt waited for the schedule');
      const log = await deliveryLog(taskId);
      assert.deepEqual(log.attempts.map((a: any) => a.statusCode), [500, 500, 200]);
    });

    test('410 Gone stops at once', async () => {
      const taskId = await submit('cb-gone', '/gone');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'FAILED');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(receiver.on('/gone').length, 1);
      const log = await deliveryLog(taskId);
      assert.equal(log.attempts.length, 1);
      assert.equal(log.attempts[0].statusCode, 410);
    });

    test('a hanging receiver times out and is retried', async () => {
      const taskId = await submit('cb-hang', '/hang');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'DELIVERED');
      const log = await deliveryLog(taskId);
      assert.equal(log.attempts.length, 2);
      assert.equal(log.attempts[0].error, 'timeout');
      assert.ok(log.attempts[0].durationMs >= 600 && log.attempts[0].durationMs < 5000);
      assert.equal(log.attempts[1].statusCode, 200);
    });

    test('a redirect is not followed; the attempts fail and stop after the schedule', async () => {
      const before = receiver.on('/ok').length;
      const taskId = await submit('cb-redirect', '/redirect');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'FAILED');
      assert.equal(receiver.on('/redirect').length, 3);
      assert.equal(receiver.on('/ok').length, before, 'the redirect target was never called');
      const log = await deliveryLog(taskId);
      assert.deepEqual(log.attempts.map((a: any) => a.statusCode), [302, 302, 302]);
    });

    test('Retry-After from the receiver pushes the next attempt later than the schedule', async () => {
      const taskId = await submit('cb-later', '/later');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'DELIVERED');
      const hits = receiver.on('/later');
      assert.equal(hits.length, 2);
      assert.ok(hits[1].at - hits[0].at >= 1900, `waited ${hits[1].at - hits[0].at} ms for Retry-After: 2`);
    });

    test('a refused connection is recorded and retried', async () => {
      const closed = await startReceiver(() => {});
      const url = closed.url('/nobody');
      await closed.close();
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: submitBody('cb-refused', url),
      });
      const { taskId } = (await response.json()) as any;
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'FAILED');
      const log = await deliveryLog(taskId);
      assert.deepEqual(log.attempts.map((a: any) => a.error), ['connection refused', 'connection refused', 'connection refused']);
    });

    test('one receiver gets at most 8 attempts at once', async () => {
      const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => submit(`cb-slow-${i}`, '/slow')));
      await until(async () => receiver.on('/slow').length >= ids.length, 20_000);
      assert.ok(slowPeak <= 8, `peak concurrency ${slowPeak}`);
      assert.ok(slowPeak >= 2, 'attempts did run in parallel');
    });

    test('deliver again now, and the log is private to its client', async () => {
      const taskId = await submit('cb-again', '/ok');
      await until(async () => (await deliveryLog(taskId)).deliveries[0]?.status === 'DELIVERED');
      const again = await fetch(`${service.url}/v1/tasks/${taskId}/deliveries`, { method: 'POST', headers: { authorization: auth } });
      assert.equal(again.status, 202);
      await until(async () => (await deliveryLog(taskId)).attempts.length === 2);
      const hits = receiver.on('/ok').filter((r) => r.body.includes(taskId));
      assert.equal(hits.length, 2);
      assert.equal(hits[0].headers['webhook-id'], hits[1].headers['webhook-id']);
      const stranger = await fetch(`${service.url}/v1/tasks/${taskId}/deliveries`, { headers: { authorization: basicAuth('client-b', 'secret-b') } });
      assert.equal(stranger.status, 404);
    });
  });
}

test('several webhook secrets (a rotation) give one signature each, every one verifiable', async () => {
  const { webhookSignatureHeader } = await import('../src/outbound/webhook-signature.js');
  const [oldSecret, newSecret] = [`whsec_${randomBytes(24).toString('base64')}`, `whsec_${randomBytes(32).toString('base64')}`];
  const body = JSON.stringify({ type: 'task.succeeded' });
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = webhookSignatureHeader([oldSecret, newSecret], 'msg_1', timestamp, body);
  assert.equal(signature.split(' ').length, 2);
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
  for (const secret of [oldSecret, newSecret]) assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
});

describe('callback address policy', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({ clients: { 'client-a': { secret: 'secret-a' } } });
  });
  after(() => service.stop());

  for (const url of ['http://127.0.0.1:9/hook', 'http://localhost:9/hook', 'http://[::1]:9/hook', 'http://169.254.169.254/latest', 'http://10.1.2.3/x', 'ftp://example.com/x']) {
    test(`a callback to ${url} is refused unless allowed`, async () => {
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: submitBody(`policy-${url}`, url),
      });
      assert.equal(response.status, 422);
      const problem = (await response.json()) as any;
      assert.equal(problem.code, 'url_not_allowed');
      assert.equal(problem.field, 'callbackUrl');
    });
  }
});

test('deliveries pending when the server is SIGKILLed arrive after the restart', { timeout: 90_000 }, async () => {
  let healthy = false;
  const receiver = await startReceiver((_path, _count, _req, res) => void res.writeHead(healthy ? 200 : 503).end());
  const workFolder = await createWorkFolder({ 'client-a': { secret: 'secret-a', webhookSecret, callbackUrl: receiver.url('/crash') } });
  const flags = ['--outbound-allow=127.0.0.1', '--webhook-retry-schedule=0s,1s,1s,1s,1s,1s,1s,1s,1s,1s', '--webhook-timeout=1s'];
  let child = await startChildService({ workFolder, flags });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${child.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: submitBody(`crash-cb-${i}`),
      });
      assert.equal(response.status, 202);
      ids.push(((await response.json()) as any).taskId);
    }
    // Every task has finished and been called back once (and refused with 503): deliveries pending.
    await until(() => ids.every((id) => receiver.received.some((r) => r.body.includes(id))), 30_000);
    await child.kill();
    healthy = true;
    child = await startChildService({ workFolder, flags });
    const delivered = new Set<string>();
    await until(async () => {
      for (const id of ids) {
        const log = (await (await fetch(`${child.url}/v1/tasks/${id}/deliveries`, { headers: { authorization: auth } })).json()) as any;
        if (log.deliveries[0]?.status === 'DELIVERED') delivered.add(id);
      }
      return delivered.size === ids.length;
    }, 30_000);
    for (const id of ids) {
      const hits = receiver.received.filter((r) => r.body.includes(id));
      assert.ok(hits.length >= 2, `task ${id}: refused before the crash, delivered after`);
      assert.equal(new Set(hits.map((h) => h.headers['webhook-id'])).size, 1);
    }
  } finally {
    await child.kill();
    await receiver.close();
    await rm(workFolder, { recursive: true, force: true });
  }
});

test('a callback of a client removed from the configuration is not sent (it could not be signed)', { timeout: 60_000 }, async () => {
  const receiver = await startReceiver((_path, _count, _req, res) => void res.writeHead(200).end());
  const { writeFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const service = await startTestService({
    clients: { 'client-a': { secret: 'secret-a', webhookSecret }, 'client-z': { secret: 'secret-z' } },
    // The first attempt waits long enough for the client to be removed meanwhile.
    flags: ['--outbound-allow=127.0.0.1', '--webhook-retry-schedule=2s,1s'],
  });
  try {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=10' },
      body: submitBody('removed-client', receiver.url('/removed')),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.status, 'SUCCEEDED');
    await writeFile(path.join(service.workFolder, 'client-services-config.json'), JSON.stringify({ 'client-z': { secret: 'secret-z' } }));
    await service.clients.reloadNow();
    await until(async () => {
      const row = await service.store.database.db.selectFrom('deliveries').select('status').where('task_id', '=', operation.id).executeTakeFirst();
      return row?.status === 'FAILED';
    }, 15_000);
    assert.equal(receiver.on('/removed').length, 0);
  } finally {
    await service.stop();
    await receiver.close();
  }
});
