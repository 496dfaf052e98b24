import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

/**
 * Issue 14: the README's test command sets up what the tests need, or says in one line what to
 * install and stops. Here no command can be found (an empty PATH, so no apt-get either): the script must
 * name every package in one install line and fail, rather than let the suite fail later one tool at a
 * time. (The Python modules are looked for in Debian's /usr/bin/python3, which an empty PATH leaves.)
 */
test('without the tools and without apt-get, the prerequisites script names every package in one line and stops', () => {
  const script = path.join(import.meta.dirname, '../scripts/test-prerequisites.sh');
  const result = spawnSync('/bin/bash', [script], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  assert.equal(result.status, 1, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  const packages = /sudo apt-get install -y (.+)$/.exec(lines[0])?.[1].split(' ');
  assert.ok(packages, lines[0]);
  for (const name of ['poppler-utils', 'xmlsec1', 'libnss3-tools', 'mupdf-tools', 'openssl', 'unzip', 'softhsm2', 'chromium', 'qpdf', 'libxml2-utils']) {
    assert.ok(packages.includes(name), `${name} missing from: ${lines[0]}`);
  }
  assert.equal(new Set(packages).size, packages.length, 'a package is named twice');
});

test('with every tool present (as on this machine after npm test set it up), the script does nothing and succeeds', () => {
  const script = path.join(import.meta.dirname, '../scripts/test-prerequisites.sh');
  const result = spawnSync('/bin/bash', [script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '');
});
