import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

describe('operations endpoints', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.stop());

  test('healthz and readyz', async () => {
    assert.deepEqual(await (await fetch(`${service.url}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${service.url}/readyz`);
    assert.equal(ready.status, 200);
  });

  test('openapi.json is OpenAPI 3.1 generated from the routes, and /docs serves the UI', async () => {
    const spec = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
    assert.equal(spec.openapi, '3.1.0');
    for (const route of ['/oauth/token', '/v1/tasks/{taskId}', '/v1/tasks', '/v1/signatures', '/v1/signatures/{id}/documents.zip', '/pki/ca.pem', '/healthz']) {
      assert.ok(spec.paths[route], `missing ${route}`);
    }
    const submit = spec.paths['/v1/signatures'].post;
    assert.ok(submit.requestBody.content['application/json'].schema.properties.documents);
    assert.ok(submit.requestBody.content['multipart/form-data']);
    assert.ok(submit.responses['202']);
    const docs = await fetch(`${service.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger-ui/i);
  });

  test('metrics in Prometheus text', async () => {
    const response = await fetch(`${service.url}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /# TYPE signet_tasks_finished_total counter/);
    assert.match(text, /process_resident_memory_bytes/);
  });

  test('the CA served at /pki/ca.pem is the development CA certificate', async () => {
    const pem = await (await fetch(`${service.url}/pki/ca.pem`)).text();
    const parsed = run('openssl', ['x509', '-noout', '-subject', '-ext', 'basicConstraints'], Buffer.from(pem));
    assert.equal(parsed.status, 0, parsed.stderr);
    assert.match(parsed.stdout, /Signet Development CA/);
    assert.match(parsed.stdout, /CA:TRUE/);
  });

  test('unknown routes are problem+json 404s', async () => {
    const response = await fetch(`${service.url}/v2/nothing`);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });
});
