import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createPemSigner } from '../src/crypto/keys/pem-signer.js';
import { SigningThreads } from '../src/crypto/keys/signing-threads.js';
import { run } from './support/tools.js';

const folder = mkdtempSync(path.join(tmpdir(), 'signet-threads-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** A self-signed RSA certificate made by openssl (an independent issuer for the key). */
function rsaCertificate(name: string): { keyPem: string; certificatePem: string } {
  const key = path.join(folder, `${name}.key`);
  const cert = path.join(folder, `${name}.pem`);
  const result = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '2']);
  assert.equal(result.status, 0, result.stderr);
  return { keyPem: readFileSync(key, 'utf8'), certificatePem: readFileSync(cert, 'utf8') };
}

describe('signing threads', () => {
  test('a threaded PEM signer gives the same PKCS#1 v1.5 signatures as the in-thread one, and openssl verifies them', async () => {
    const threads = new SigningThreads({ size: 2 });
    try {
      const material = rsaCertificate('threaded');
      const local = createPemSigner({ name: 'k', ...material });
      const threaded = createPemSigner({ name: 'k', ...material, threads });
      const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i} ${randomBytes(8).toString('hex')}`));
      const signatures = await Promise.all(messages.map((m) => threaded.signDigest(createHash('sha256').update(m).digest(), 'sha256')));
      for (const [i, message] of messages.entries()) {
        // RSASSA-PKCS1-v1_5 is deterministic: both paths must produce the very same bytes.
        assert.ok(signatures[i].equals(await local.signDigest(createHash('sha256').update(message).digest(), 'sha256')));
      }
      writeFileSync(path.join(folder, 'message.bin'), messages[0]);
      writeFileSync(path.join(folder, 'message.sig'), signatures[0]);
      run('openssl', ['x509', '-in', path.join(folder, 'threaded.pem'), '-pubkey', '-noout', '-out', path.join(folder, 'threaded.pub')]);
      const check = run('openssl', ['dgst', '-sha256', '-verify', path.join(folder, 'threaded.pub'), '-signature', path.join(folder, 'message.sig'), path.join(folder, 'message.bin')]);
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /Verified OK/);
      // sha384 and sha512 DigestInfos too.
      for (const hash of ['sha384', 'sha512'] as const) {
        const signature = await threaded.signDigest(createHash(hash).update(messages[1]).digest(), hash);
        assert.ok(verify(hash, messages[1], material.certificatePem, signature));
      }
    } finally {
      await threads.close();
    }
  });

  test('keys registered before and after a thread started are both usable on every thread', async () => {
    const threads = new SigningThreads({ size: 2 });
    try {
      const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const signFirst = threads.registerRsaKey(first.privateKey);
      const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update('x').digest()]);
      await Promise.all([signFirst(digestInfo), signFirst(digestInfo)]); // starts both threads
      const second = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const signSecond = threads.registerRsaKey(second.privateKey);
      const answers = await Promise.all(Array.from({ length: 8 }, () => signSecond(digestInfo)));
      for (const signature of answers) assert.ok(verify('sha256', Buffer.from('x'), second.publicKey, signature));
    } finally {
      await threads.close();
    }
  });

  test('a request after close is refused, and close fails what is outstanding instead of hanging', async () => {
    const threads = new SigningThreads({ size: 1 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sign = threads.registerRsaKey(privateKey);
    const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), Buffer.alloc(32, 1)]);
    const outstanding = Array.from({ length: 50 }, () => sign(digestInfo).then(() => 'signed', () => 'failed'));
    await threads.close();
    const outcomes = await Promise.all(outstanding);
    assert.ok(outcomes.every((o) => o === 'signed' || o === 'failed'));
    await assert.rejects(sign(digestInfo), /stopped/);
  });
});
