import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

/** A small real PKI made with openssl: a root, and a document-signing certificate it issued. */
async function makePki(folder: string): Promise<void> {
  const sh = (args: string[]) => {
    const result = run('openssl', args);
    assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
  };
  const at = (name: string) => path.join(folder, name);
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('root.key'), '-out', at('root.pem'), '-subj', '/CN=Keys Test Root', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('seal.key'), '-out', at('seal.csr'), '-subj', '/CN=Keys Test Seal']);
  await writeFile(at('seal.ext'), 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n');
  sh(['x509', '-req', '-in', at('seal.csr'), '-CA', at('root.pem'), '-CAkey', at('root.key'), '-CAcreateserial', '-out', at('seal.pem'), '-days', '30', '-extfile', at('seal.ext')]);
  sh(['pkcs12', '-export', '-inkey', at('seal.key'), '-in', at('seal.pem'), '-certfile', at('root.pem'), '-out', at('seal.p12'), '-passout', 'pass:p12-secret']);
}

/** A SoftHSM2 token holding the seal key, in a folder of its own. */
async function makeSoftHsmToken(folder: string): Promise<string> {
  const tokens = path.join(folder, 'tokens');
  await mkdir(tokens, { recursive: true });
  const conf = path.join(folder, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const { spawnSync } = await import('node:child_process');
  for (const args of [
    ['--init-token', '--free', '--label', 'signet-test', '--pin', '1234', '--so-pin', '5678'],
    ['--import', path.join(folder, 'seal.key'), '--token', 'signet-test', '--label', 'seal', '--id', '01', '--pin', '1234'],
  ]) {
    const result = spawnSync('softhsm2-util', args, { env });
    assert.equal(result.status, 0, `softhsm2-util ${args.join(' ')}: ${result.stderr}`);
  }
  return conf;
}

describe('configured signing keys: PEM, PKCS#12, PKCS#11 (SoftHSM2), per-client permissions', () => {
  let folder: string;
  let service: TestService;

  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'signet-keys-'));
    await makePki(folder);
    process.env.SOFTHSM2_CONF = await makeSoftHsmToken(folder);
    process.env.SIGNET_TEST_P12_PASSWORD = 'p12-secret';
    await writeFile(path.join(folder, 'hsm.pin'), '1234\n');
    service = await startTestService({
      clients: {
        'client-a': { secret: 'secret-a', keys: ['pem-seal', 'hsm-seal'] },
        'client-b': { secret: 'secret-b', keys: ['p12-seal'] },
        'client-c': { secret: 'secret-c' },
      },
      files: {
        'signing-keys.json': JSON.stringify({
          keys: {
            'pem-seal': { type: 'pem', key: path.join(folder, 'seal.key'), certificate: path.join(folder, 'seal.pem'), chain: path.join(folder, 'root.pem') },
            'p12-seal': { type: 'pkcs12', file: path.join(folder, 'seal.p12'), password: 'env:SIGNET_TEST_P12_PASSWORD' },
            'hsm-seal': {
              type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signet-test', pin: `file:${path.join(folder, 'hsm.pin')}`,
              label: 'seal', certificate: path.join(folder, 'seal.pem'), chain: path.join(folder, 'root.pem'),
            },
          },
        }),
      },
    });
  });
  after(async () => {
    await service?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  async function signWith(client: string, secret: string, key: string, content: Buffer) {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: basicAuth(client, secret), 'content-type': 'application/json', prefer: 'wait=20' },
      body: JSON.stringify({
        externalReference: `keys-${client}-${key}`,
        signature: { format: 'CAdES', level: 'B-B', key },
        documents: [{ name: 'doc.txt', content: content.toString('base64') }],
      }),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  for (const [client, secret, key] of [
    ['client-a', 'secret-a', 'pem-seal'],
    ['client-a', 'secret-a', 'hsm-seal'],
    ['client-b', 'secret-b', 'p12-seal'],
  ] as const) {
    test(`${key} signs a CAdES signature that openssl verifies against the configured root`, async () => {
      const content = Buffer.from(`signed with ${key}\n`);
      const { status, body } = await signWith(client, secret, key, content);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.documents[0].status, 'SIGNED', JSON.stringify(body.documents[0]));
      const signature = Buffer.from(await (await fetch(`${service.url}${body.documents[0].links.content}`, { headers: { authorization: basicAuth(client, secret) } })).arrayBuffer());
      const anchors = await (await fetch(`${service.url}/pki/ca.pem`)).text();
      assert.ok(anchors.includes((await readFile(path.join(folder, 'root.pem'), 'utf8')).trim().split('\n')[1]), '/pki/ca.pem serves the configured root');
      await writeFile(path.join(folder, `${key}.p7s`), signature);
      await writeFile(path.join(folder, `${key}.txt`), content);
      await writeFile(path.join(folder, 'anchors.pem'), anchors);
      const verified = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(folder, `${key}.p7s`), '-content', path.join(folder, `${key}.txt`),
        '-CAfile', path.join(folder, 'anchors.pem'), '-out', '/dev/null']);
      assert.equal(verified.status, 0, verified.stderr);
      const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(folder, `${key}.p7s`)]);
      assert.match(printed.stdout, /Keys Test Seal/);
    });
  }

  test('the SoftHSM2 key signs a PAdES document that pdfsig accepts', async () => {
    const pdf = await readFile(path.join(import.meta.dirname, '../../shared/testdata/pdf/minimal.pdf'));
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: basicAuth('client-a', 'secret-a'), 'content-type': 'application/json', prefer: 'wait=20' },
      body: JSON.stringify({
        externalReference: 'hsm-pades',
        signature: { format: 'PAdES', level: 'B-B', key: 'hsm-seal' },
        documents: [{ name: 'minimal.pdf', content: pdf.toString('base64') }],
      }),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.documents[0].status, 'SIGNED', JSON.stringify(operation));
    const signed = Buffer.from(
      await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: basicAuth('client-a', 'secret-a') } })).arrayBuffer(),
    );
    const nss = path.join(folder, 'nss');
    await mkdir(nss, { recursive: true });
    assert.equal(run('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']).status, 0);
    assert.equal(run('certutil', ['-A', '-d', `sql:${nss}`, '-n', 'keys-root', '-t', 'CT,C,C', '-i', path.join(folder, 'root.pem')]).status, 0);
    await writeFile(path.join(folder, 'hsm.pdf'), signed);
    const report = run('pdfsig', ['-nssdir', `sql:${nss}`, path.join(folder, 'hsm.pdf')]).stdout;
    assert.match(report, /Signature is Valid\./);
    assert.match(report, /Certificate is Trusted\./);
    assert.match(report, /Keys Test Seal/);
  });

  test('a client may only use the keys listed for it (403 key_not_allowed); unknown keys are 400', async () => {
    const notAllowed = await signWith('client-a', 'secret-a', 'p12-seal', Buffer.from('x'));
    assert.equal(notAllowed.status, 403);
    assert.equal(notAllowed.body.code, 'key_not_allowed');
    // Without a `keys` list a client may use the default key only, never another tenant's key.
    const unlisted = await signWith('client-c', 'secret-c', 'pem-seal', Buffer.from('x'));
    assert.equal(unlisted.status, 403);
    assert.equal(unlisted.body.code, 'key_not_allowed');
    const unknown = await signWith('client-b', 'secret-b', 'default', Buffer.from('x'));
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.detail, /No signing key named "default"/);
  });

  test('a broken signing-keys.json or a wrong password stops the start with a message naming the problem', async () => {
    await assert.rejects(
      startTestService({ files: { 'signing-keys.json': '{\n  "keys": {\n    "x": { "type": "pem", "kye": "a" }\n  }\n}' } }),
      /signing-keys\.json line 3: keys\.x has unknown field "kye"/,
    );
    process.env.SIGNET_TEST_WRONG_PASSWORD = 'nope';
    await assert.rejects(
      startTestService({
        files: { 'signing-keys.json': JSON.stringify({ keys: { p12: { type: 'pkcs12', file: path.join(folder, 'seal.p12'), password: 'env:SIGNET_TEST_WRONG_PASSWORD' } } }) },
      }),
      /password is wrong/,
    );
  });
});
