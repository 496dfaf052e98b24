import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateRid, parseRid } from '../src/core/registrations/rid.js';
import { basicAuth, getToken, startTestService, testStores, waitUntilFinal, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';

const helloWorld = await readFile(path.join(import.meta.dirname, '../../shared/testdata/cms/hello-world.txt'));

describe('RIDs', () => {
  test('12 Crockford symbols in groups plus a mod-37 check symbol; read back as typed', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const rid = generateRid();
      assert.match(rid, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]$/);
      assert.equal(parseRid(rid), rid);
      assert.equal(parseRid(rid.toLowerCase().replace(/-/g, '')), rid);
      seen.add(rid);
    }
    assert.equal(seen.size, 2000);
  });

  test('the check symbol is Crockford’s mod 37 of the value', () => {
    // 0000-0000-0001 has value 1: check symbol "1"; value 36 ("0000-0000-0014") has check "U".
    assert.equal(parseRid('0000-0000-0001-1'), '0000-0000-0001-1');
    assert.equal(parseRid('0000-0000-0014-U'), '0000-0000-0014-U');
    assert.equal(parseRid('0000-0000-0015-0'), '0000-0000-0015-0'); // 37 mod 37 = 0
    assert.equal(parseRid('OOOO-OOOO-OOOl-i'), '0000-0000-0001-1'); // O→0, l/i→1
  });

  test('every single-symbol change and adjacent swap is caught', () => {
    const rid = generateRid();
    const compact = rid.replace(/-/g, '');
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    for (let i = 0; i < 12; i++) {
      for (const symbol of alphabet) {
        if (symbol === compact[i]) continue;
        const typo = compact.slice(0, i) + symbol + compact.slice(i + 1);
        assert.throws(() => parseRid(typo), (e: any) => e.code === 'invalid_rid', typo);
      }
      if (i < 11 && compact[i] !== compact[i + 1]) {
        const swapped = compact.slice(0, i) + compact[i + 1] + compact[i] + compact.slice(i + 2);
        assert.throws(() => parseRid(swapped), (e: any) => e.code === 'invalid_rid', swapped);
      }
    }
    assert.throws(() => parseRid('ABC'), (e: any) => e.code === 'invalid_rid');
    assert.throws(() => parseRid('UUUU-UUUU-UUUU-0'), (e: any) => e.code === 'invalid_rid');
  });
});

for (const store of testStores()) {
  describe(`file registrations over HTTP (${store})`, () => {
    let service: TestService;
    let auth: string;
    let authB: string;
    let scratch: string;

    before(async () => {
      service = await startTestService({ store });
      auth = `Bearer ${await getToken(service.url, 'client-a', 'secret-a')}`;
      authB = basicAuth('client-b', 'secret-b');
      scratch = await mkdtemp(path.join(tmpdir(), 'signet-registration-'));
    });
    after(async () => {
      await service.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    async function registerJson(body: Record<string, unknown>, headers: Record<string, string> = {}, authorization = auth) {
      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { response, body: (await response.json()) as any };
    }

    async function registerMultipart(content: Buffer, name: string, fields: Record<string, string>, authorization = auth) {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      form.append('file', new Blob([new Uint8Array(content)], { type: 'text/plain' }), name);
      const response = await fetch(`${service.url}/v1/registrations/file`, { method: 'POST', headers: { authorization }, body: form });
      return { response, body: (await response.json()) as any };
    }

    async function get(link: string, authorization = auth) {
      const response = await fetch(`${service.url}${link}`, { headers: { authorization } });
      return { response, bytes: Buffer.from(await response.arrayBuffer()) };
    }

    async function getJson(link: string, authorization = auth) {
      const { response, bytes } = await get(link, authorization);
      return { status: response.status, body: JSON.parse(bytes.toString('utf8')) as any };
    }

    async function caFile(): Promise<string> {
      const file = path.join(scratch, 'ca.pem');
      await writeFile(file, await (await fetch(`${service.url}/pki/ca.pem`)).text());
      return file;
    }

    test('a multipart registration: task with rid, token verifies with openssl, hashes match sha256sum/sha1sum, hash check finds it', async () => {
      const { response, body: task } = await registerMultipart(helloWorld, 'hello world.txt', {
        userId: 'u-1',
        userEmail: 'alice@example.org',
        title: 'Hello',
      });
      assert.equal(response.status, 202, JSON.stringify(task));
      assert.equal(response.headers.get('location'), `/v1/tasks/${task.taskId}`);
      assert.equal(task.kind, 'register-file');
      assert.equal(task.status, 'PENDING');
      const finished = await waitUntilFinal(service.url, auth, task.taskId);
      assert.equal(finished.status, 'SUCCEEDED', JSON.stringify(finished));
      assert.match(finished.rid, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-.$/);
      const rid = finished.rid as string;

      const { status, body: registration } = await getJson(`/v1/registrations/${rid}`);
      assert.equal(status, 200);
      assert.equal(registration.rid, rid);
      assert.equal(registration.kind, 'file');
      assert.equal(registration.title, 'Hello');
      assert.deepEqual(registration.user, { userId: 'u-1', email: 'alice@example.org' });
      assert.equal(registration.object.name, 'hello world.txt');
      assert.equal(registration.object.size, helloWorld.length);

      const dataFile = path.join(scratch, 'data.txt');
      await writeFile(dataFile, helloWorld);
      assert.equal(registration.object.sha256, run('sha256sum', [dataFile]).stdout.split(' ')[0]);
      assert.equal(registration.object.sha1, run('sha1sum', [dataFile]).stdout.split(' ')[0]);

      const content = await get(registration.links.content);
      assert.ok(content.bytes.equals(helloWorld));

      const tsr = await get(registration.links.timestamp);
      assert.equal(tsr.response.headers.get('content-type'), 'application/timestamp-reply');
      const tsrFile = path.join(scratch, 'token.tsr');
      await writeFile(tsrFile, tsr.bytes);
      const ca = await caFile();
      const good = run('openssl', ['ts', '-verify', '-data', dataFile, '-in', tsrFile, '-CAfile', ca]);
      assert.equal(good.status, 0, good.stdout + good.stderr);
      assert.match(good.stdout, /Verification: OK/);
      const text = run('openssl', ['ts', '-reply', '-in', tsrFile, '-text']).stdout;
      const genTime = /Time stamp: (.+)/.exec(text)?.[1];
      assert.ok(genTime);
      // openssl prints the time to the second (or with fractions, which Date may drop).
      assert.equal(Math.floor(new Date(genTime!).getTime() / 1000), Math.floor(new Date(registration.registeredAt).getTime() / 1000));
      // The token in GetRegistrationInfo is the same token.
      const tokenFile = path.join(scratch, 'token.der');
      await writeFile(tokenFile, Buffer.from(registration.proof.timestampToken, 'base64'));
      const tokenOnly = run('openssl', ['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', ca]);
      assert.equal(tokenOnly.status, 0, tokenOnly.stdout + tokenOnly.stderr);

      const changed = Buffer.from(helloWorld);
      changed[3] ^= 0x20;
      await writeFile(dataFile, changed);
      const bad = run('openssl', ['ts', '-verify', '-data', dataFile, '-in', tsrFile, '-CAfile', ca]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stdout + bad.stderr, /FAILED|message imprint mismatch/i);

      for (const query of [`sha256=${registration.object.sha256}`, `sha1=${registration.object.sha1.toUpperCase()}`]) {
        const check = await getJson(`/v1/registrations?${query}`);
        assert.equal(check.status, 200);
        assert.equal(check.body.registered, true);
        assert.deepEqual(check.body.registrations, [{ rid, registeredAt: registration.registeredAt, userId: 'u-1' }]);
      }
      const none = await getJson(`/v1/registrations?sha256=${createHash('sha256').update(changed).digest('hex')}`);
      assert.deepEqual(none.body, { registered: false, registrations: [] });
      assert.equal((await getJson('/v1/registrations?sha1=xyz')).status, 400);
    });

    test('the same bytes by the same user return the same RID; by another user a new one', async () => {
      const content = Buffer.from(`dedupe ${store} ${Date.now()}`);
      const first = await registerJson({ content: content.toString('base64'), userId: 'u-dedupe', userEmail: 'dedupe@example.org' }, { prefer: 'wait=20' });
      assert.equal(first.response.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.status, 'REGISTERED');
      const second = await registerMultipart(content, 'again.bin', { userId: 'u-dedupe', userEmail: 'dedupe@example.org' });
      assert.equal(second.response.status, 202);
      const secondTask = await waitUntilFinal(service.url, auth, second.body.taskId);
      assert.equal(secondTask.rid, first.body.rid);
      const other = await registerJson({ content: content.toString('base64'), userId: 'u-other', userEmail: 'other@example.org' }, { prefer: 'wait=20' });
      assert.notEqual(other.body.rid, first.body.rid);
      const check = await getJson(`/v1/registrations?sha256=${createHash('sha256').update(content).digest('hex')}`);
      assert.equal(check.body.registrations.length, 2);
    });

    test('idempotency by externalReference: replay answers the task, other content is 409', async () => {
      const request = { content: Buffer.from('idem').toString('base64'), userId: 'u-idem', userEmail: 'idem@example.org', externalReference: 'reg-idem-1' };
      const first = await registerJson(request);
      assert.equal(first.response.status, 202);
      const again = await registerJson(request);
      assert.equal(again.response.status, 200);
      assert.equal(again.response.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.body.taskId, first.body.taskId);
      const conflict = await registerJson({ ...request, content: Buffer.from('other').toString('base64') });
      assert.equal(conflict.response.status, 409);
      assert.equal(conflict.body.code, 'duplicate_external_reference');
      // Another callback is another request, as for signatures.
      const otherCallback = await registerJson({ ...request, callbackUrl: 'https://8.8.8.8/hook' });
      assert.equal(otherCallback.response.status, 409);
      const tasks = await getJson('/v1/tasks?externalReference=reg-idem-1&kind=register-file');
      assert.deepEqual(tasks.body.items.map((t: any) => t.taskId), [first.body.taskId]);
    });

    test('missing user fields are 400 and leave nothing staged', async () => {
      const noUser = await registerJson({ content: Buffer.from('x').toString('base64'), userEmail: 'a@example.org' });
      assert.equal(noUser.response.status, 400);
      const badEmail = await registerMultipart(Buffer.from('x'), 'x.txt', { userId: 'u', userEmail: 'not-an-email' });
      assert.equal(badEmail.response.status, 400);
      assert.equal(badEmail.body.field, 'userEmail');
      const noFile = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth },
        body: (() => {
          const form = new FormData();
          form.append('userId', 'u');
          form.append('userEmail', 'u@example.org');
          return form;
        })(),
      });
      assert.equal(noFile.status, 400);
      if (store === 'sqlite') {
        // Every staged content (a file, or a row when small) belongs to a task; rejected submissions left nothing behind.
        const files = (await readdir(path.join(service.workFolder, 'blobs', 'reg'), { recursive: true, withFileTypes: true }).catch(() => []))
          .filter((entry) => entry.isFile())
          .map((entry) => entry.name);
        const rows = await service.store.database.db.selectFrom('blob_chunks').select('blob_key').where('blob_key', 'like', 'reg/%').execute();
        const staged = [...files, ...rows.map((row) => row.blob_key.slice('reg/'.length))];
        const tasks = await service.store.database.db.selectFrom('tasks').select('request_json').where('kind', '=', 'register-file').execute();
        const owned = new Set(tasks.map((t) => JSON.parse(t.request_json).blobId as string));
        assert.ok(staged.length >= 1);
        assert.deepEqual(staged.filter((name) => !owned.has(name)), []);
      }
    });

    test('a mistyped RID is 400 invalid_rid, an unknown one 404, another client’s one 404', async () => {
      const { body } = await registerJson(
        { content: Buffer.from('isolation').toString('base64'), userId: 'u-iso', userEmail: 'iso@example.org' },
        { prefer: 'wait=20' },
      );
      const rid = body.rid as string;
      const compact = rid.replace(/-/g, '');
      const typo = `${compact.slice(0, 5)}${compact[5] === '7' ? '8' : '7'}${compact.slice(6)}`;
      const mistyped = await getJson(`/v1/registrations/${typo}`);
      assert.equal(mistyped.status, 400);
      assert.equal(mistyped.body.code, 'invalid_rid');
      let unknown: string;
      do unknown = generateRid();
      while (unknown === rid);
      assert.equal((await getJson(`/v1/registrations/${unknown}`)).status, 404);
      assert.equal((await getJson(`/v1/registrations/${rid.toLowerCase()}`)).status, 200);
      for (const suffix of ['', '/content', '/timestamp.tsr', '/evidence.zip']) {
        const other = await get(`/v1/registrations/${rid}${suffix}`, authB);
        assert.equal(other.response.status, 404, suffix);
      }
      const check = await getJson(`/v1/registrations?sha256=${body.object.sha256}`, authB);
      assert.equal(check.body.registered, false);
      assert.equal((await getJson('/v1/users/u-iso', authB)).status, 404);
    });

    test('RIDs whose check symbol is * ~ $ = or U route like any other (404 when unknown, never a routing error)', async () => {
      for (const symbol of ['*', '~', '$', '=', 'U']) {
        let rid: string;
        do rid = generateRid();
        while (!rid.endsWith(symbol));
        for (const link of [`/v1/registrations/${rid}`, `/v1/registrations/${rid}/evidence.zip`]) {
          const { status, body } = await getJson(link);
          assert.equal(status, 404, `${link}: ${JSON.stringify(body)}`);
          assert.equal(body.code, 'not_found');
        }
        const escaped = await getJson(`/v1/registrations/${encodeURIComponent(rid)}`);
        assert.equal(escaped.status, 404, rid);
        const page = await fetch(`${service.url}/r/${rid}`, { headers: { accept: 'application/json' } });
        assert.equal(page.status, 404, rid);
      }
    });

    test('evidence.zip: the README’s commands, run as a stranger would, succeed and catch a changed file', async () => {
      const content = Buffer.from(`evidence ${store} ${Date.now()}\n`);
      const { body } = await registerMultipart(content, 'My Work (v2).txt', { userId: 'u-ev', userEmail: 'ev@example.org', title: 'My work' });
      const task = await waitUntilFinal(service.url, auth, body.taskId);
      const zip = await get(`/v1/registrations/${task.rid}/evidence.zip`);
      assert.equal(zip.response.status, 200);
      assert.equal(zip.response.headers.get('content-type'), 'application/zip');
      const folder = await mkdtemp(path.join(scratch, 'stranger-'));
      await writeFile(path.join(folder, 'evidence.zip'), zip.bytes);
      const unzip = run('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', path.join(folder, 'evidence.zip'), folder]);
      assert.equal(unzip.status, 0, unzip.stderr);
      const readme = await readFile(path.join(folder, 'README.txt'), 'utf8');
      const commands = readme.split('\n').filter((line) => line.startsWith('$ ')).map((line) => line.slice(2));
      assert.ok(commands.length >= 4, readme);
      const outputs = commands.map((command) => {
        const result = run('sh', ['-c', `cd "${folder}" && ${command}`]);
        assert.equal(result.status, 0, `${command}\n${result.stdout}${result.stderr}`);
        return result.stdout;
      });
      assert.match(outputs[0], /Verification: OK/);
      const sha256 = createHash('sha256').update(content).digest('hex');
      assert.ok(outputs.some((out) => out.includes(sha256)));
      assert.ok(readme.includes(sha256));
      assert.ok(readme.includes(task.rid));
      assert.ok((await readFile(path.join(folder, 'certificate.pdf'))).subarray(0, 5).equals(Buffer.from('%PDF-')));
      // The CA in the package is the service's own.
      assert.equal(await readFile(path.join(folder, 'ca.pem'), 'utf8'), await (await fetch(`${service.url}/pki/ca.pem`)).text());
      // A stranger with a changed file: the first command fails.
      const [contentFile] = (await readdir(path.join(folder, 'content')));
      await writeFile(path.join(folder, 'content', contentFile), Buffer.concat([content, Buffer.from('x')]));
      const tampered = run('sh', ['-c', `cd "${folder}" && ${commands[0]}`]);
      assert.notEqual(tampered.status, 0);
      assert.match(tampered.stdout + tampered.stderr, /FAILED/);
    });

    test('certificate.pdf: one page, signed by the service at PAdES B-T, valid and trusted per pdfsig; the same bytes each time', async () => {
      const { body } = await registerJson(
        { content: Buffer.from(`certificate ${store}`).toString('base64'), name: 'Œuvre (1).txt', title: 'Mon œuvre — été', userId: 'u-cert', userEmail: 'cert@example.org' },
        { prefer: 'wait=20' },
      );
      assert.equal(body.links.certificate, `/v1/registrations/${body.rid}/certificate.pdf`);
      const pdf = await get(body.links.certificate);
      assert.equal(pdf.response.status, 200);
      assert.equal(pdf.response.headers.get('content-type'), 'application/pdf');
      const file = path.join(scratch, 'certificate.pdf');
      await writeFile(file, pdf.bytes);
      const nssDir = await mkdtemp(path.join(scratch, 'nss-'));
      assert.equal(run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']).status, 0);
      assert.equal(run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', await caFile()]).status, 0);
      const report = run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${nssDir}`, file]).stdout;
      assert.match(report, /Signature is Valid\./, report);
      assert.match(report, /Certificate is Trusted\./, report);
      assert.match(report, /Signature Type: ETSI\.CAdES\.detached/);
      assert.match(report, /Total document signed/);
      const info = run('pdfinfo', [file]).stdout;
      assert.match(info, /Pages:\s+1\n/);
      const text = run('pdftotext', [file, '-']).stdout;
      assert.ok(text.includes(body.rid), text);
      assert.ok(text.includes(body.object.sha256));
      assert.ok(text.includes('Mon œuvre — été'), text);
      assert.ok(text.includes(`/r/${body.rid}`));
      // B-T: the CMS in /Contents (hex) carries an id-aa-signatureTimeStampToken unsigned attribute.
      assert.match(pdf.bytes.toString('latin1'), /060b2a864886f70d010910020e/i);
      const again = await get(body.links.certificate);
      assert.ok(again.bytes.equals(pdf.bytes));
      // Tampering with a byte inside the signed range breaks it.
      const broken = Buffer.from(pdf.bytes);
      const at = broken.indexOf('Certificate of registration');
      broken[at] = 'X'.charCodeAt(0);
      await writeFile(file, broken);
      assert.doesNotMatch(run('pdfsig', ['-nssdir', `sql:${nssDir}`, file]).stdout, /Signature is Valid\./);
    });

    test('openapi.json describes the registration routes', async () => {
      const spec = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
      for (const route of ['/v1/registrations/file', '/v1/registrations/url', '/v1/registrations/{rid}', '/v1/registrations', '/v1/registrations/{rid}/evidence.zip', '/v1/registrations/{rid}/certificate.pdf', '/v1/users/{userId}', '/r/{rid}']) {
        assert.ok(spec.paths[route], route);
      }
    });

    test('public page /r/{rid}: HTML and JSON with public fields only, e-mail masked', async () => {
      const { body } = await registerJson(
        { content: Buffer.from('public page').toString('base64'), name: 'page.txt', userId: 'u-secret-id', userEmail: 'jane.doe@example.org', title: 'A <b>title</b>' },
        { prefer: 'wait=20' },
      );
      const rid = body.rid as string;
      const json = await fetch(`${service.url}/r/${rid}`, { headers: { accept: 'application/json' } });
      assert.equal(json.status, 200);
      const view = (await json.json()) as any;
      assert.equal(view.rid, rid);
      assert.equal(view.user.email, 'j***e@e***.org');
      assert.equal(view.object.sha256, body.object.sha256);
      const serialized = JSON.stringify(view);
      assert.doesNotMatch(serialized, /jane\.doe|u-secret-id|timestampToken/);
      const html = await fetch(`${service.url}/r/${rid}`, { headers: { accept: 'text/html' } });
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-type') ?? '', /text\/html/);
      const page = await html.text();
      assert.ok(page.includes(rid));
      assert.ok(page.includes(body.object.sha256));
      assert.ok(page.includes('A &lt;b&gt;title&lt;/b&gt;'));
      assert.doesNotMatch(page, /jane\.doe|u-secret-id/);
      const tsr = await fetch(`${service.url}/r/${rid}/timestamp.tsr`);
      assert.equal(tsr.status, 200);
      const compact = rid.replace(/-/g, '');
      const typo = `${compact.slice(0, 2)}${compact[2] === 'A' ? 'B' : 'A'}${compact.slice(3)}`;
      assert.equal((await fetch(`${service.url}/r/${typo}`)).status, 400);
      assert.equal((await fetch(`${service.url}/r/${typo}`, { headers: { accept: 'application/json' } })).status, 400);
    });
  });
}

describe('a time-stamping outage delays a registration, it does not fail it', () => {
  test('with the TSA answering 503, the task stays PENDING with attempts, then registers once the TSA is back', { timeout: 60_000 }, async () => {
    let target = '';
    let refusals = 0;
    let up = false;
    // Stands in for an external TSA (--tsa-url): down at first, then forwarding to the service's own /tsa.
    const tsa = http.createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (!up) {
        refusals += 1;
        response.writeHead(503).end();
        return;
      }
      const answer = await fetch(`${target}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: Buffer.concat(chunks) });
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/timestamp-reply' });
      response.end(Buffer.from(await answer.arrayBuffer()));
    });
    tsa.listen(0, '127.0.0.1');
    await once(tsa, 'listening');
    const service = await startTestService({ flags: [`--tsa-url=http://127.0.0.1:${(tsa.address() as AddressInfo).port}/tsa`] });
    target = service.url;
    try {
      const auth = basicAuth('client-a', 'secret-a');
      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ content: Buffer.from('outage').toString('base64'), userId: 'o-1', userEmail: 'o@example.org' }),
      });
      const { taskId } = (await response.json()) as any;
      assert.equal(response.status, 202);
      const deadline = Date.now() + 20_000;
      let task: any;
      // attempts counts claims: a claimed attempt's request may not have reached the TSA yet, so wait for both.
      do {
        await new Promise((r) => setTimeout(r, 100));
        task = await (await fetch(`${service.url}/v1/tasks/${taskId}`, { headers: { authorization: auth } })).json();
      } while ((task.attempts < 2 || refusals < 2) && Date.now() < deadline);
      assert.ok(['PENDING', 'RUNNING'].includes(task.status), JSON.stringify(task));
      assert.ok(refusals >= 2);
      assert.equal(task.rid, undefined);
      up = true;
      const finished = await waitUntilFinal(service.url, auth, taskId, 30_000);
      assert.equal(finished.status, 'SUCCEEDED', JSON.stringify(finished));
      assert.ok(finished.rid);
    } finally {
      await service.stop();
      tsa.close();
    }
  });
});
