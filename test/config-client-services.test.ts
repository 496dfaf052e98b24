import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../src/config/config-error.js';
import { parseClientServices } from '../src/config/client-services.js';
import {
  ClientServicesRegistry,
  clientServicesFileName,
  type ConfigLog,
} from '../src/config/client-services-registry.js';
import { hashSecret } from '../src/config/secret-hash.js';

const file = 'client-services-config.json';
const whsec = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

/** The one-line ConfigError message of a refused file. */
function problemOf(text: string): string {
  try {
    parseClientServices(text, file);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  assert.fail('expected the file to be refused');
}

/** Lines of JSON, so each test shows exactly which line is wrong. */
function lines(...rows: string[]): string {
  return rows.join('\n');
}

describe('client services file', () => {
  it('reads the API.md example with plain and hashed secrets', async () => {
    const hashed = await hashSecret('erp secret');
    const clients = parseClientServices(
      JSON.stringify({
        'PRT.505767457-PRT.123654123-84dd8c': { secret: 'my_secret' },
        'erp-prod': {
          secret: hashed,
          webhookSecret: whsec,
          callbackUrl: 'https://erp.example/hooks/signet',
          keys: ['default'],
        },
      }),
      file,
    );
    assert.deepEqual([...clients.keys()], ['PRT.505767457-PRT.123654123-84dd8c', 'erp-prod']);
    const plain = clients.get('PRT.505767457-PRT.123654123-84dd8c');
    assert.deepEqual(plain, {
      id: 'PRT.505767457-PRT.123654123-84dd8c',
      secret: 'my_secret',
      secretFingerprint: createHash('sha256').update('my_secret').digest('hex').slice(0, 16),
      webhookSecrets: [],
    });
    const erp = clients.get('erp-prod');
    assert.equal(erp?.secret, hashed);
    assert.deepEqual(erp?.webhookSecrets, [whsec]);
    assert.equal(erp?.callbackUrl, 'https://erp.example/hooks/signet');
    assert.deepEqual(erp?.keys, ['default']);
    assert.equal(erp?.secretFingerprint.length, 16);
    assert.ok(Object.isFrozen(erp));
  });

  it('accepts a list of webhook secrets for rotation', () => {
    const clients = parseClientServices(JSON.stringify({ a: { secret: 's', webhookSecret: [whsec, 'whsec_AAAA'] } }), file);
    assert.deepEqual(clients.get('a')?.webhookSecrets, [whsec, 'whsec_AAAA']);
  });

  it('names the file, the line and the field of a bad callback URL', () => {
    const text = lines(
      '{',
      '  "demo": { "secret": "x" },',
      '  "erp-prod": { "secret": "y",',
      '    "callbackUrl": "/hooks/signet" }',
      '}',
    );
    assert.equal(problemOf(text), `${file} line 4: "erp-prod".callbackUrl must be an absolute http(s) URL`);
    assert.equal(
      problemOf(text.replace('/hooks/signet', 'ftp://erp.example/x')),
      `${file} line 4: "erp-prod".callbackUrl must be an absolute http(s) URL`,
    );
  });

  it('reads a hotFolder and refuses one that is incomplete or names a folder twice', () => {
    const [client] = parseClientServices(JSON.stringify({ erp: { secret: 's', hotFolder: { input: 'in', backup: 'bak', output: 'out', signature: { level: 'B-T' } } } }), file).values();
    assert.deepEqual(client.hotFolder, { input: 'in', backup: 'bak', output: 'out', signature: { level: 'B-T' } });
    assert.match(problemOf(JSON.stringify({ erp: { secret: 's', hotFolder: { input: 'in', backup: 'bak' } } })), /erp"\.hotFolder\.output must be a folder path/);
    assert.match(problemOf(JSON.stringify({ erp: { secret: 's', hotFolder: { input: 'in', backup: 'in', output: 'out' } } })), /three different folders/);
    assert.match(problemOf(JSON.stringify({ erp: { secret: 's', hotFolder: { input: 'in', backup: 'b', output: 'o', folder: 'x' } } })), /hotFolder has unknown field "folder"/);
  });

  it('refuses unknown fields, suggesting the one meant', () => {
    const text = lines('{', '  "erp-prod": {', '    "secrte": "y"', '  }', '}');
    assert.equal(
      problemOf(text),
      `${file} line 3: "erp-prod" has unknown field "secrte" (did you mean "secret"?); allowed: secret, webhookSecret, callbackUrl, keys, hotFolder`,
    );
  });

  it('refuses a missing or empty secret', () => {
    assert.equal(problemOf(lines('{', '  "a": {}', '}')), `${file} line 2: "a".secret is missing`);
    assert.equal(problemOf(lines('{', '  "a": {', '    "secret": ""', '  }}')), `${file} line 3: "a".secret must be a non-empty string`);
    assert.equal(problemOf('{"a": {"secret": 42}}'), `${file} line 1: "a".secret must be a non-empty string`);
    assert.match(problemOf('{"a": {"secret": "$scrypt$ln=15$oops"}}'), /line 1: "a"\.secret looks like a \$scrypt\$ hash but is malformed/);
  });

  it('refuses ids that break HTTP Basic or logs', () => {
    assert.match(problemOf(lines('{', '"ok": {"secret": "s"},', '"a:b": {"secret": "s"}}')), /^client-services-config\.json line 3: client id "a:b" must not contain ':'/);
    assert.match(problemOf('{"a\\u0001": {"secret": "s"}}'), /line 1: client id "a\\u0001" must not contain control characters/);
    assert.match(problemOf('{"": {"secret": "s"}}'), /line 1: a client id must not be empty/);
    assert.match(problemOf(`{"${'x'.repeat(201)}": {"secret": "s"}}`), /is longer than 200 characters/);
    assert.doesNotThrow(() => parseClientServices(`{"${'x'.repeat(200)}": {"secret": "s"}}`, file));
  });

  it('refuses webhook secrets that are not whsec_ + base64', () => {
    assert.equal(
      problemOf(lines('{"a": {', '  "secret": "s",', '  "webhookSecret": "secret"}}')),
      `${file} line 3: "a".webhookSecret must be "whsec_" followed by base64 (Standard Webhooks)`,
    );
    assert.match(problemOf('{"a": {"secret": "s", "webhookSecret": "whsec_not base64!"}}'), /"a"\.webhookSecret must be/);
    assert.match(problemOf('{"a": {"secret": "s", "webhookSecret": "whsec_"}}'), /"a"\.webhookSecret must be/);
    assert.match(
      problemOf(lines('{"a": {"secret": "s", "webhookSecret": [', `  "${whsec}",`, '  "whsec_!!"]}}')),
      /line 3: "a"\.webhookSecret\[1\] must be/,
    );
  });

  it('refuses keys that are not a list of names', () => {
    assert.match(problemOf('{"a": {"secret": "s", "keys": "default"}}'), /"a"\.keys must be a list of key names/);
    assert.match(problemOf(lines('{"a": {"secret": "s", "keys": [', '"default",', '""]}}')), /line 3: "a"\.keys\[1\] must be a non-empty string/);
  });

  it('refuses a top level that is not an object, and entries that are not objects', () => {
    assert.match(problemOf('\n["a"]'), /^client-services-config\.json line 2: the top level must be an object/);
    assert.match(problemOf(lines('{', '  "a": "secret"', '}')), /line 2: "a" must be an object/);
  });

  it('reports JSON syntax errors and duplicate ids with their line', () => {
    assert.equal(
      problemOf(lines('{', '  "a": { "secret": "s" }', '  "b": { "secret": "t" }', '}')),
      `${file} line 3 column 3: unexpected "\\"" where ',' or '}' should be`,
    );
    assert.match(problemOf(lines('{', '  "a": { "secret": "s" },', '}')), /line 3 column 1: unexpected "}" where a "quoted" key should be/);
    assert.match(problemOf(lines('{', '  "a": { "secret": "s" }')), /line 2 column \d+: unexpected end of file/);
    assert.match(problemOf(lines('{', '  "a": { "secret": "s" },', '  "a": { "secret": "t" }', '}')), /line 3 column 3: duplicate key "a"/);
    assert.match(problemOf(''), /line 1 column 1: unexpected end of file where a value should be/);
  });

  it('keeps "__proto__" an ordinary id', () => {
    const clients = parseClientServices('{"__proto__": {"secret": "s"}}', file);
    assert.equal(clients.get('__proto__')?.secret, 's');
  });
});

/** A log that remembers what it was told, as pino would receive it. */
function recordingLog(): ConfigLog & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const record = (level: string) => (objOrMessage: object | string, message?: string) => {
    lines.push({ level, text: `${typeof objOrMessage === 'string' ? '' : JSON.stringify(objOrMessage)} ${message ?? objOrMessage}` });
  };
  return { lines, info: record('info'), warn: record('warn'), error: record('error') };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('client services registry', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'signet-config-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('creates the file with a "demo" client on first open, without logging its secret', async () => {
    const workFolder = path.join(folder, 'first-start', 'work');
    const log = recordingLog();
    const registry = await ClientServicesRegistry.open(workFolder, { log });
    try {
      const demo = registry.get('demo');
      assert.ok(demo);
      assert.equal(demo.secret.length, 32);
      assert.equal(registry.all().length, 1);
      const written = JSON.parse(await readFile(path.join(workFolder, clientServicesFileName), 'utf8'));
      assert.deepEqual(written, { demo: { secret: demo.secret } });
      assert.equal((await stat(registry.file)).mode & 0o777, 0o600);
      assert.ok(log.lines.some((line) => line.level === 'info' && /created/.test(line.text)));
      assert.ok(log.lines.every((line) => !line.text.includes(demo.secret)));
    } finally {
      registry.close();
    }
    const again = await ClientServicesRegistry.open(workFolder, { log: recordingLog() });
    assert.equal(again.get('demo')?.secret, registry.get('demo')?.secret, 'a second open keeps the file');
    again.close();
  });

  it('refuses to open on an invalid file', async () => {
    const workFolder = path.join(folder, 'invalid');
    await ClientServicesRegistry.open(workFolder, { log: recordingLog() }).then((r) => r.close());
    await writeFile(path.join(workFolder, clientServicesFileName), '{"a": {"secrte": "x"}}');
    await assert.rejects(ClientServicesRegistry.open(workFolder, { log: recordingLog() }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /line 1: "a" has unknown field "secrte"/);
      return true;
    });
  });

  it('sees a new client within 2 s, and keeps the previous clients when the file turns invalid', async () => {
    const workFolder = path.join(folder, 'reload');
    const log = recordingLog();
    const registry = await ClientServicesRegistry.open(workFolder, { log });
    const changes: number[] = [];
    registry.onChange((clients) => changes.push(clients.size));
    try {
      const demoSecret = registry.get('demo')?.secret;
      await writeFile(registry.file, JSON.stringify({ demo: { secret: demoSecret }, 'erp-prod': { secret: 'new' } }));
      await waitFor(() => registry.get('erp-prod') !== undefined, 2000);
      assert.deepEqual(changes, [2]);
      assert.ok(log.lines.some((line) => line.level === 'info' && line.text.includes('client services reloaded (2 clients)')));

      await writeFile(registry.file, '{ "demo": { "secret": ');
      await waitFor(() => log.lines.some((line) => line.level === 'error'), 2000);
      const error = log.lines.find((line) => line.level === 'error');
      assert.match(error?.text ?? '', /client-services-config\.json line 1 column \d+: unexpected end of file/);
      assert.equal(registry.get('erp-prod')?.secret, 'new');
      assert.equal(registry.all().length, 2);
      assert.deepEqual(changes, [2]);
    } finally {
      registry.close();
    }
  });

  it('reloads on demand', async () => {
    const workFolder = path.join(folder, 'on-demand');
    const registry = await ClientServicesRegistry.open(workFolder, { log: recordingLog(), pollIntervalMs: 60_000, useFsWatch: false });
    try {
      await writeFile(registry.file, JSON.stringify({ only: { secret: 's' } }));
      await registry.reloadNow();
      assert.deepEqual(registry.all().map((client) => client.id), ['only']);
      assert.equal(registry.get('demo'), undefined);
    } finally {
      registry.close();
    }
  });

  it('sees changes by polling alone where fs.watch is silent', async () => {
    const workFolder = path.join(folder, 'poll');
    const registry = await ClientServicesRegistry.open(workFolder, { log: recordingLog(), useFsWatch: false });
    try {
      await sleep(50);
      await writeFile(registry.file, JSON.stringify({ polled: { secret: 's' } }));
      await waitFor(() => registry.get('polled') !== undefined, 2000);
    } finally {
      registry.close();
    }
  });

  it('replaces a file renamed over the old one (how editors save)', async () => {
    const workFolder = path.join(folder, 'rename');
    const registry = await ClientServicesRegistry.open(workFolder, { log: recordingLog() });
    try {
      const temporary = path.join(workFolder, '.client-services-config.json.tmp');
      await writeFile(temporary, JSON.stringify({ renamed: { secret: 's' } }));
      await rename(temporary, registry.file);
      await waitFor(() => registry.get('renamed') !== undefined, 2000);
    } finally {
      registry.close();
    }
  });
});
