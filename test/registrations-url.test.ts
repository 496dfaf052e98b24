import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const page = Buffer.from('<!doctype html><html><head><title>Hi</title></head><body><p>Captured work ✓</p></body></html>\n');
const big = Buffer.alloc(2 * 1024 * 1024, 0x61);

describe('URL registrations through the outbound address policy', () => {
  let site: http.Server;
  let siteUrl: string;
  let open: TestService;
  let closed: TestService;
  let scratch: string;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    site = http.createServer((request, response) => {
      if (request.url === '/page') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': 'test-site' });
        response.end(page);
      } else if (request.url === '/redirect-ok') {
        response.writeHead(302, { location: '/page' }).end();
      } else if (request.url === '/redirect-metadata') {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      } else if (request.url === '/big') {
        // No Content-Length: the cap must hold while streaming, not only on the declared size.
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
        response.end(big);
      } else {
        response.writeHead(404).end();
      }
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    closed = await startTestService();
    open = await startTestService({ flags: ['--outbound-allow=127.0.0.1', '--max-body-size=1mb'] });
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-url-'));
  });
  after(async () => {
    await open.stop();
    await closed.stop();
    site.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function registerUrl(service: TestService, url: string, extra: Record<string, string> = {}) {
    const response = await fetch(`${service.url}/v1/registrations/url`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url, userId: 'web-1', userEmail: 'web@example.org', ...extra }),
    });
    return { response, body: (await response.json()) as any };
  }

  test('a page on 127.0.0.1 is refused by default with url_not_allowed', async () => {
    const { response, body } = await registerUrl(closed, `${siteUrl}/page`);
    assert.equal(response.status, 422);
    assert.equal(body.code, 'url_not_allowed');
    const scheme = await registerUrl(open, 'file:///etc/passwd');
    assert.equal(scheme.response.status, 422);
    assert.equal(scheme.body.code, 'url_not_allowed');
  });

  test('with --outbound-allow 127.0.0.1 the exact bytes are registered, with the headers and their own token', async () => {
    const { response, body } = await registerUrl(open, `${siteUrl}/page`, { title: 'My page' });
    assert.equal(response.status, 202, JSON.stringify(body));
    assert.equal(body.kind, 'register-url');
    const task = await waitUntilFinal(open.url, auth, body.taskId);
    assert.equal(task.status, 'SUCCEEDED', JSON.stringify(task));
    const registration = (await (await fetch(`${open.url}/v1/registrations/${task.rid}`, { headers: { authorization: auth } })).json()) as any;
    assert.equal(registration.kind, 'url');
    assert.equal(registration.object.url, `${siteUrl}/page`);
    assert.equal(registration.object.contentType, 'text/html; charset=utf-8');
    assert.equal(registration.object.size, page.length);
    assert.equal(registration.object.sha256, createHash('sha256').update(page).digest('hex'));
    assert.equal(registration.capture.statusCode, 200);
    assert.match(registration.capture.headers, /^x-served-by: test-site\r$/m);
    const content = Buffer.from(await (await fetch(`${open.url}${registration.links.content}`, { headers: { authorization: auth } })).arrayBuffer());
    assert.ok(content.equals(page));

    // The evidence README's commands, run as a stranger would: the page and its headers verify.
    const zip = Buffer.from(await (await fetch(`${open.url}${registration.links.evidence}`, { headers: { authorization: auth } })).arrayBuffer());
    const folder = await mkdtemp(path.join(scratch, 'evidence-'));
    await writeFile(path.join(folder, 'evidence.zip'), zip);
    assert.equal(run('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', path.join(folder, 'evidence.zip'), folder]).status, 0);
    const readme = await readFile(path.join(folder, 'README.txt'), 'utf8');
    const commands = readme.split('\n').filter((line) => line.startsWith('$ ')).map((line) => line.slice(2));
    const verifications = commands.filter((command) => command.startsWith('openssl ts -verify'));
    assert.equal(verifications.length, 2, readme);
    for (const command of commands) {
      const result = run('sh', ['-c', `cd "${folder}" && ${command}`]);
      assert.equal(result.status, 0, `${command}\n${result.stdout}${result.stderr}`);
      if (command.startsWith('openssl ts -verify')) assert.match(result.stdout, /Verification: OK/);
    }
    const headers = await readFile(path.join(folder, 'capture', 'response-headers.txt'), 'utf8');
    await writeFile(path.join(folder, 'capture', 'response-headers.txt'), headers.replace('test-site', 'evil-site'));
    const tampered = run('sh', ['-c', `cd "${folder}" && ${verifications[1]}`]);
    assert.notEqual(tampered.status, 0);
  });

  test('redirects are followed and re-checked: to an allowed address it works, to a metadata address it is refused', async () => {
    const ok = await registerUrl(open, `${siteUrl}/redirect-ok`, { userId: 'web-2', userEmail: 'web2@example.org' });
    const okTask = await waitUntilFinal(open.url, auth, ok.body.taskId);
    assert.equal(okTask.status, 'SUCCEEDED', JSON.stringify(okTask));
    const registration = (await (await fetch(`${open.url}/v1/registrations/${okTask.rid}`, { headers: { authorization: auth } })).json()) as any;
    assert.equal(registration.capture.finalUrl, `${siteUrl}/page`);
    assert.deepEqual(registration.capture.redirects, [`${siteUrl}/page`]);

    const refused = await registerUrl(open, `${siteUrl}/redirect-metadata`);
    assert.equal(refused.response.status, 202);
    const refusedTask = await waitUntilFinal(open.url, auth, refused.body.taskId);
    assert.equal(refusedTask.status, 'FAILED');
    assert.equal(refusedTask.error.code, 'url_not_allowed');
    assert.equal(refusedTask.attempts, 1);
  });

  test('a page over the size cap fails cleanly with capture_too_large and leaves no content behind', async () => {
    const { body } = await registerUrl(open, `${siteUrl}/big`);
    const task = await waitUntilFinal(open.url, auth, body.taskId);
    assert.equal(task.status, 'FAILED');
    assert.equal(task.error.code, 'capture_too_large');
    assert.equal(task.rid, undefined);
    const check = (await (await fetch(`${open.url}/v1/registrations?sha256=${createHash('sha256').update(big).digest('hex')}`, { headers: { authorization: auth } })).json()) as any;
    assert.equal(check.registered, false);
    const leftovers = run('sh', ['-c', `find "${path.join(open.workFolder, 'blobs')}" -type f -size +1000k | wc -l`]).stdout.trim();
    assert.equal(leftovers, '0');
  });
});

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((candidate) => existsSync(candidate));

describe('URL registrations with a browser snapshot (--capture-browser)', { skip: chromiumPath ? false : 'no Chromium installed' }, () => {
  let site: http.Server;
  let forbidden: http.Server;
  let forbiddenHits = 0;
  let siteUrl: string;
  let service: TestService;
  let scratch: string;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    // 127.0.0.2 is loopback too but not allow-listed: the browser must not reach it.
    forbidden = http.createServer((_request, response) => {
      forbiddenHits += 1;
      response.writeHead(200, { 'content-type': 'image/png' }).end();
    });
    forbidden.listen(0, '127.0.0.2');
    await once(forbidden, 'listening');
    const forbiddenUrl = `http://127.0.0.2:${(forbidden.address() as AddressInfo).port}`;
    site = http.createServer((request, response) => {
      if (request.url === '/styled') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(
          `<!doctype html><html><head><link rel="stylesheet" href="/style.css"></head><body><h1>Snapshot me</h1>` +
            `<img src="${forbiddenUrl}/tracker.png"><script>fetch("${forbiddenUrl}/beacon").catch(() => {})</script></body></html>`,
        );
      } else if (request.url === '/style.css') {
        response.writeHead(200, { 'content-type': 'text/css' }).end('h1 { color: #c00; font-size: 64px }');
      } else {
        response.writeHead(404).end();
      }
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    service = await startTestService({ flags: ['--outbound-allow=127.0.0.1', `--capture-browser=${chromiumPath}`] });
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-snapshot-'));
  });
  after(async () => {
    await service.stop();
    site.close();
    forbidden.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('the page is rendered to a PDF and a PNG, both time-stamped; the browser reaches nothing outside the policy', { timeout: 120_000 }, async () => {
    const response = await fetch(`${service.url}/v1/registrations/url`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=60' },
      body: JSON.stringify({ url: `${siteUrl}/styled`, userId: 'snap', userEmail: 'snap@example.org' }),
    });
    const registration = (await response.json()) as any;
    assert.equal(response.status, 200, JSON.stringify(registration));
    assert.equal(registration.status, 'REGISTERED', JSON.stringify(registration));
    assert.equal(registration.capture.snapshotError, undefined);
    assert.ok(registration.capture.snapshot, JSON.stringify(registration.capture));
    const pdf = Buffer.from(await (await fetch(`${service.url}${registration.links.snapshotPdf}`, { headers: { authorization: auth } })).arrayBuffer());
    const png = Buffer.from(await (await fetch(`${service.url}${registration.links.snapshotPng}`, { headers: { authorization: auth } })).arrayBuffer());
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    assert.equal(createHash('sha256').update(pdf).digest('hex'), registration.capture.snapshot.pdf.sha256);
    await writeFile(path.join(scratch, 'snapshot.pdf'), pdf);
    assert.match(run('pdftotext', [path.join(scratch, 'snapshot.pdf'), '-']).stdout, /Snapshot me/);
    assert.equal(forbiddenHits, 0, 'the browser reached an address outside the policy');

    const zip = Buffer.from(await (await fetch(`${service.url}${registration.links.evidence}`, { headers: { authorization: auth } })).arrayBuffer());
    await writeFile(path.join(scratch, 'evidence.zip'), zip);
    assert.equal(run('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', path.join(scratch, 'evidence.zip'), scratch]).status, 0);
    const readme = await readFile(path.join(scratch, 'README.txt'), 'utf8');
    const verifications = readme.split('\n').filter((line) => line.startsWith('$ openssl ts -verify')).map((line) => line.slice(2));
    assert.equal(verifications.length, 4, readme);
    for (const command of verifications) {
      const result = run('sh', ['-c', `cd "${scratch}" && ${command}`]);
      assert.equal(result.status, 0, `${command}\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /Verification: OK/);
    }
  });
});
