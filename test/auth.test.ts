import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, getToken, startTestService, testStores, type TestService } from './support/test-service.js';

async function tokenRequest(url: string, init: { authorization?: string; body: string }) {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(init.authorization && { authorization: init.authorization }) },
    body: init.body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const store of testStores()) {
  describe(`authentication (${store})`, () => {
    let service: TestService;
    before(async () => {
      service = await startTestService({ store, flags: ['--token-ttl=2'] });
    });
    after(() => service.stop());

    const tasks = (authorization?: string) =>
      fetch(`${service.url}/v1/tasks`, { headers: authorization ? { authorization } : {} });

    test('client-credentials token flow, at both paths, with Basic or form fields', async () => {
      const viaBasic = await tokenRequest(service.url, { authorization: basicAuth('client-a', 'secret-a'), body: 'grant_type=client_credentials' });
      assert.equal(viaBasic.status, 200);
      assert.equal(viaBasic.body.token_type, 'bearer');
      assert.equal(viaBasic.body.expires_in, 2);
      assert.equal(typeof viaBasic.body.scope, 'string');
      assert.equal(viaBasic.headers.get('cache-control'), 'no-store');
      assert.equal((await tasks(`Bearer ${viaBasic.body.access_token}`)).status, 200);

      const viaForm = await tokenRequest(service.url, { body: 'grant_type=client_credentials&client_id=client-a&client_secret=secret-a' });
      assert.equal(viaForm.status, 200);

      const signstash = await fetch(`${service.url}/oauth2/authorization-server/oauth/token`, {
        method: 'POST',
        headers: { authorization: basicAuth('client-a', 'secret-a'), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(signstash.status, 200);
      assert.ok(((await signstash.json()) as any).jti);
    });

    test('wrong secret and unknown client: 401 invalid_client; wrong grant: 400', async () => {
      const wrong = await tokenRequest(service.url, { authorization: basicAuth('client-a', 'nope'), body: 'grant_type=client_credentials' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      const unknown = await tokenRequest(service.url, { authorization: basicAuth('nobody', 'x'), body: 'grant_type=client_credentials' });
      assert.equal(unknown.status, 401);
      const grant = await tokenRequest(service.url, { authorization: basicAuth('client-a', 'secret-a'), body: 'grant_type=password' });
      assert.equal(grant.status, 400);
      assert.equal(grant.body.error, 'unsupported_grant_type');
    });

    test('API calls: Basic works, wrong secret / no credentials / forged or expired token are 401 problems', async () => {
      assert.equal((await tasks(basicAuth('client-a', 'secret-a'))).status, 200);
      for (const authorization of [basicAuth('client-a', 'wrong'), undefined, 'Bearer not.a.token']) {
        const response = await tasks(authorization);
        assert.equal(response.status, 401, String(authorization));
        assert.match(response.headers.get('www-authenticate') ?? '', /Bearer/);
        const problem = (await response.json()) as any;
        assert.equal(problem.code, 'unauthorized');
      }
      const token = await getToken(service.url, 'client-a', 'secret-a');
      // A token signed for client-a cannot be re-labelled for client-b.
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'client-b' })).toString('base64url')}.${signature}`;
      assert.equal((await tasks(`Bearer ${forged}`)).status, 401);

      assert.equal((await tasks(`Bearer ${token}`)).status, 200);
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await tasks(`Bearer ${token}`);
      assert.equal(expired.status, 401);
      assert.match(((await expired.json()) as any).detail, /expired/);
    });

    test('hot reload: a new client logs in without restart; a changed secret ends old tokens; a broken file changes nothing', async () => {
      const file = path.join(service.workFolder, 'client-services-config.json');
      const tokenA = await getToken(service.url, 'client-a', 'secret-a');
      await writeFile(
        file,
        JSON.stringify({ 'client-a': { secret: 'secret-a2' }, 'client-b': { secret: 'secret-b' }, 'client-c': { secret: 'secret-c' } }),
      );
      await until(async () => (await tasks(basicAuth('client-c', 'secret-c'))).status === 200);
      assert.equal((await tasks(`Bearer ${tokenA}`)).status, 401, 'token issued under the old secret');
      assert.equal((await tasks(basicAuth('client-a', 'secret-a2'))).status, 200);

      await writeFile(file, '{ "client-d": { "secret": "secret-d" }, ');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await tasks(basicAuth('client-d', 'secret-d'))).status, 401);
      assert.equal((await tasks(basicAuth('client-c', 'secret-c'))).status, 200, 'previous configuration still in force');

      // A file with a typo'd field is refused as a whole, too.
      await writeFile(file, JSON.stringify({ 'client-e': { secrte: 'secret-e' } }));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await tasks(basicAuth('client-c', 'secret-c'))).status, 200);
    });

    test('repeated failed attempts from one address are slowed down with 429', async () => {
      let status = 0;
      for (let i = 0; i < 15 && status !== 429; i++) {
        status = (await tokenRequest(service.url, { authorization: basicAuth('client-b', `guess-${i}`), body: 'grant_type=client_credentials' })).status;
      }
      assert.equal(status, 429);
      // Even the right secret is refused while the address is blocked for that client…
      const blocked = await tasks(basicAuth('client-b', 'secret-b'));
      assert.equal(blocked.status, 429);
      assert.equal(((await blocked.json()) as any).code, 'too_many_failed_attempts');
      assert.ok(blocked.headers.get('retry-after'));
      // …while other clients calling from the same address are not locked out.
      assert.equal((await tasks(basicAuth('client-c', 'secret-c'))).status, 200);
    });
  });
}
