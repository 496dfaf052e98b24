import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSecret, isHashedSecret, parseHashedSecret, verifySecret } from '../src/config/secret-hash.js';

describe('client secret hashing', () => {
  it('hashes to $scrypt$ln=15,r=8,p=1$salt$hash with a fresh salt', async () => {
    const first = await hashSecret('my_secret');
    const second = await hashSecret('my_secret');
    assert.match(first, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(first, second);
    assert.ok(isHashedSecret(first));
    assert.equal(parseHashedSecret(first)?.hash.length, 32);
    assert.equal(parseHashedSecret(first)?.salt.length, 16);
  });

  it('verifies a hashed secret and refuses a wrong one', async () => {
    const stored = await hashSecret('correct horse');
    assert.equal(await verifySecret(stored, 'correct horse'), true);
    assert.equal(await verifySecret(stored, 'correct horse '), false);
    assert.equal(await verifySecret(stored, ''), false);
  });

  it('verifies a plain secret (Sign\'Stash format) and refuses a wrong one', async () => {
    assert.ok(!isHashedSecret('my_secret'));
    assert.equal(await verifySecret('my_secret', 'my_secret'), true);
    assert.equal(await verifySecret('my_secret', 'my_secreT'), false);
    assert.equal(await verifySecret('my_secret', 'my_secret_longer'), false);
    assert.equal(await verifySecret('my_secret', ''), false);
  });

  it('never matches a malformed or too costly hash', async () => {
    assert.equal(await verifySecret('$scrypt$ln=15,r=8,p=1$bad', 'x'), false);
    assert.equal(parseHashedSecret('$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), undefined);
  });
});
