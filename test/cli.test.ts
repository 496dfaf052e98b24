import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
