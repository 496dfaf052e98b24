import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, constants, createWriteStream, openSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { createWorkFolder, rawRequest, readMemory, startChildService, type ChildService } from './support/child-service.js';
import { basicAuth, waitUntilFinal } from './support/test-service.js';
import { run } from './support/tools.js';

/**
 * Issue: "A 1 GB file registers with bounded memory (peak RSS under 300 MB)". The upload streams to
 * disk while SHA-256 and SHA-1 are taken; the token covers the hash; openssl checks 1 GB regenerated.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const MB = 1024 * 1024;
const SIZE = 1024 * MB;
const PEAK_RSS_LIMIT = 300 * MB;

const children: ChildService[] = [];
const folders: string[] = [];
after(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** `size` deterministic pseudo-random bytes (AES-256-CTR over zeros), generated as read. */
function content(size: number, flipFirstByte = false): Readable {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16, 4));
  const zeros = Buffer.alloc(MB);
  let left = size;
  let first = flipFirstByte;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(MB, left);
      left -= n;
      const chunk = cipher.update(zeros.subarray(0, n));
      if (first) (chunk[0] ^= 1), (first = false);
      this.push(chunk);
    },
  });
}

async function opensslTsVerifyStreamed(tsrPath: string, caPath: string, data: Readable) {
  const fifo = path.join(path.dirname(tsrPath), `data-${Date.now()}.fifo`);
  assert.equal(run('mkfifo', [fifo]).status, 0);
  try {
    const child = spawn('openssl', ['ts', '-verify', '-data', fifo, '-in', tsrPath, '-CAfile', caPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
    const exited = new Promise<number | null>((resolve, reject) => child.on('error', reject).on('exit', resolve));
    const written = pipeline(data, createWriteStream(fifo)).catch(() => {});
    const status = await exited;
    closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
    await written;
    return { status, output };
  } finally {
    rmSync(fifo, { force: true });
  }
}

describe('large registrations', () => {
  test('a 1 GB multipart registration: peak RSS < 300 MB, hashes right, token verifies with openssl', { timeout: 600_000 }, async () => {
    const workFolder = await createWorkFolder();
    folders.push(workFolder);
    const child = await startChildService({ workFolder, flags: ['--workers=1', '--max-body-size=2gb'] });
    children.push(child);

    let peakRss = 0;
    let hwm = 0;
    const sample = () => {
      const memory = readMemory(child.pid);
      if (memory) (peakRss = Math.max(peakRss, memory.rss)), (hwm = Math.max(hwm, memory.hwm));
    };
    const sampler = setInterval(sample, 50);

    const sha256 = createHash('sha256');
    const sha1 = createHash('sha1');
    const boundary = `----signet-large-${Date.now()}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\nbig-user\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="userEmail"\r\n\r\nbig@example.org\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* body() {
      yield head;
      for await (const chunk of content(SIZE)) {
        sha256.update(chunk as Buffer);
        sha1.update(chunk as Buffer);
        yield chunk as Buffer;
      }
      yield tail;
    }
    const started = Date.now();
    const response = await rawRequest(`${child.url}/v1/registrations/file`, {
      headers: { authorization: AUTH, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + SIZE + tail.length) },
      body: Readable.from(body(), { objectMode: false }),
    });
    assert.equal(response.status, 202, response.body.toString());
    const { taskId } = JSON.parse(response.body.toString()) as { taskId: string };
    const task = await waitUntilFinal(child.url, AUTH, taskId, 120_000);
    clearInterval(sampler);
    sample();
    console.log(`1 GB registration: ${Date.now() - started} ms; child peak RSS ${(peakRss / MB).toFixed(0)} MB, VmHWM ${(hwm / MB).toFixed(0)} MB`);
    assert.equal(task.status, 'SUCCEEDED', JSON.stringify(task));
    assert.ok(hwm < PEAK_RSS_LIMIT, `VmHWM ${(hwm / MB).toFixed(0)} MB`);
    assert.ok(peakRss < PEAK_RSS_LIMIT, `peak RSS ${(peakRss / MB).toFixed(0)} MB`);

    const registration = (await (await fetch(`${child.url}/v1/registrations/${task.rid}`, { headers: { authorization: AUTH } })).json()) as any;
    assert.equal(registration.object.size, SIZE);
    assert.equal(registration.object.sha256, sha256.digest('hex'));
    assert.equal(registration.object.sha1, sha1.digest('hex'));

    const tsrPath = path.join(workFolder, 'big.tsr');
    writeFileSync(tsrPath, Buffer.from(await (await fetch(`${child.url}${registration.links.timestamp}`, { headers: { authorization: AUTH } })).arrayBuffer()));
    const caPath = path.join(workFolder, 'ca.pem');
    writeFileSync(caPath, await (await fetch(`${child.url}/pki/ca.pem`)).text());
    const good = await opensslTsVerifyStreamed(tsrPath, caPath, content(SIZE));
    assert.equal(good.status, 0, good.output);
    assert.match(good.output, /Verification: OK/);
    const bad = await opensslTsVerifyStreamed(tsrPath, caPath, content(SIZE, true));
    assert.notEqual(bad.status, 0, 'a changed 1 GB file verified');
  });
});
