import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { verifySecret } from '../src/config/secret-hash.js';

const bin = path.join(import.meta.dirname, '../bin/signet.js');

function signet(args: string[], input?: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], { input, env: { ...process.env, ...env }, timeout: 30_000 });
  return { status: result.status, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

test('hash-secret reads the secret from stdin and prints a hash that verifies', async () => {
  const { status, stdout } = signet(['hash-secret'], 'my_secret\n');
  assert.equal(status, 0);
  const hash = stdout.trim();
  assert.match(hash, /^\$scrypt\$/);
  assert.ok(await verifySecret(hash, 'my_secret'));
  assert.equal(await verifySecret(hash, 'my_secreT'), false);
  // Refuses a secret on the command line, where shell history and ps would keep it.
  assert.equal(signet(['hash-secret', 'oops']).status, 2);
});

test('serve refuses an unknown or malformed flag with one line naming it', () => {
  const unknown = signet(['serve', '--prot=8080']);
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  assert.match(unknown.stderr, /--prot/);

  const malformed = signet(['serve', '--max-body-size=12xb']);
  assert.equal(malformed.status, 2);
  assert.equal(malformed.stderr.trim().split('\n').length, 1);
  assert.match(malformed.stderr, /--max-body-size/);

  const fromEnv = signet(['serve'], undefined, { SIGNET_PORT: 'eighty' });
  assert.equal(fromEnv.status, 2);
  assert.match(fromEnv.stderr, /SIGNET_PORT/);
});

test('serve --help lists the flags with their environment twins', () => {
  const { status, stdout } = signet(['serve', '--help']);
  assert.equal(status, 0);
  for (const text of ['--server.host.port', 'SIGNET_SERVER_HOST_PORT', '--max-body-size', '--database-url', '--workers']) {
    assert.ok(stdout.includes(text), text);
  }
});

test('the launcher sizes the file thread pool before Node starts using it', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  // libuv sizes its pool once, at first use; an ES module entry is read through the pool before its
  // first line runs, so the launcher is CommonJS. 16 pool threads + main + V8's own > 20 threads.
  const work = await mkdtemp(path.join(tmpdir(), 'signet-cli-'));
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  const child = spawn(process.execPath, [bin, 'serve', '--port=0', '--host=127.0.0.1', `--work-folder=${work}`, '--workers=0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        if (out.includes('signet is listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const threads = (await readdir(`/proc/${child.pid}/task`)).length;
    assert.ok(threads > 20, `serve runs ${threads} threads; a 16-thread pool makes it more than 20`);
  } finally {
    child.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
  }
});
