import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { errorCodes } from '../src/errors/codes.js';
import { toProblem } from '../src/http/problem.js';
import { SignetError } from '../src/errors/signet-error.js';

/** OAuth form fields API.md writes in snake_case; they are not error codes. */
const notErrorCodes = new Set(['client_id', 'client_secret', 'grant_type', 'access_token', 'token_type', 'expires_in']);

test('every error code API.md names is in the error table', async () => {
  const api = await readFile(path.join(import.meta.dirname, '../../shared/API.md'), 'utf8');
  const named = new Set([...api.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1]).filter((c) => !notErrorCodes.has(c)));
  assert.ok(named.size >= 5, `expected API.md to name several codes, found ${[...named]}`);
  // The three codes API.md §"All JSON" gives as examples must be among them.
  for (const code of ['invalid_pdf', 'duplicate_external_reference']) assert.ok(named.has(code));
  const missing = [...named].filter((code) => !(code in errorCodes));
  assert.deepEqual(missing, [], `codes named in API.md but missing from src/errors/codes.ts`);
  assert.ok('unauthorized' in errorCodes);
});

test('each code maps to an HTTP error status and a problem body naming it', () => {
  for (const [code, { status, title }] of Object.entries(errorCodes)) {
    assert.ok(status >= 400 && status < 600, code);
    assert.ok(title.length > 5, code);
    const problem = toProblem(new SignetError(code as keyof typeof errorCodes, 'detail'));
    assert.equal(problem.code, code);
    assert.equal(problem.status, status);
    assert.equal(problem.type, `urn:signet:error:${code}`);
  }
});

test('an unexpected error becomes a bare 500 that reveals nothing', () => {
  const problem = toProblem(new Error('password=hunter2 at /srv/secret/path'));
  assert.equal(problem.status, 500);
  assert.equal(problem.code, 'internal_error');
  assert.doesNotMatch(problem.detail, /hunter2|secret/);
});
