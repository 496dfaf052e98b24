import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { ValidationDataSource } from '../src/crypto/cms/cades-baseline-lt.js';
import { createPemSigner } from '../src/crypto/keys/pem-signer.js';
import { checkCertificateAgainstCrl } from '../src/crypto/revocation/crl-check.js';
import { SigningKeyStatus } from '../src/core/signatures/signing-key-status.js';
import { isSignetError, SignetError } from '../src/errors/signet-error.js';
import { OpensslPki } from './support/openssl-pki.js';

/**
 * A signing key's certificate status, known before signing (issue 12, API.md §3): expired and revoked
 * certificates sign nothing; a status that cannot be established makes documents wait; an answer that
 * is still current stands while the CA is out of reach; the log warns before expiry. Certificates and
 * CRLs are made by openssl (`openssl ca` for dates in the past).
 */

const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
const signer = (name: string) =>
  createPemSigner({ name, keyPem: readFileSync(file(`${name}.key`), 'utf8'), certificatePem: readFileSync(file(`${name}.pem`), 'utf8'), chainPem: readFileSync(file('ca.pem'), 'utf8') });

/** The CA's CRL as the revocation source, judged by crypto/revocation; `down` makes it throw as an unreachable CA does. */
function crlSource(state: { down: boolean }): Pick<ValidationDataSource, 'revocationOf'> {
  return {
    async revocationOf(certificateDer, issuerDer, now) {
      if (state.down) throw new SignetError('validation_data_unavailable', 'http://ca.example/crl cannot be reached', { transient: true });
      const der = pki.crl();
      return { source: 'crl', der, verdict: checkCertificateAgainstCrl(der, { certificateDer, issuerDer, now }) };
    },
  };
}

function logger() {
  const lines: Array<{ level: string; fields: any; message?: string }> = [];
  const at = (level: string) => (fields: object | string, message?: string) => void lines.push({ level, fields, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

async function codeOf(call: () => Promise<void>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    assert.ok(isSignetError(error), String(error));
    return error.transient ? `${error.code} (transient)` : error.code;
  }
}

before(() => {
  pki.createRoot('/CN=Key Status Root');
  pki.issue('good', '/CN=Good Key', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  pki.issue('revoked', '/CN=Revoked Key', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  pki.openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('soon.key'), '-subj', '/CN=Expiring Soon', '-out', file('soon.csr'));
  pki.openssl('x509', '-req', '-in', file('soon.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '10', '-out', file('soon.pem'));
  // openssl ca sets dates in the past: a certificate that expired last year.
  pki.openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('expired.key'), '-subj', '/CN=Expired Key', '-out', file('expired.csr'));
  writeFileSync(file('issuing.cnf'), ['[ ca ]', 'default_ca = issuing', '[ issuing ]', `database = ${file('issuing.index')}`, `new_certs_dir = ${pki.folder}`,
    `serial = ${file('issuing.serial')}`, 'default_md = sha256', 'policy = anything', 'copy_extensions = none', '[ anything ]', 'commonName = supplied', ''].join('\n'));
  writeFileSync(file('issuing.index'), '');
  writeFileSync(file('issuing.serial'), '1000\n');
  pki.openssl('ca', '-batch', '-config', file('issuing.cnf'), '-cert', file('ca.pem'), '-keyfile', file('ca.key'), '-in', file('expired.csr'), '-out', file('expired.pem'),
    '-startdate', '20250101000000Z', '-enddate', '20251201000000Z', '-notext');
  pki.writeIndex({ good: { good: '/CN=Good Key', soon: '/CN=Expiring Soon' }, revoked: { revoked: { subject: '/CN=Revoked Key', at: '261201000000Z,keyCompromise' } } });
});

after(() => pki.destroy());

describe('signing key status', () => {
  test('good, revoked and expired keys: only the good one signs; revoked and expired are permanent refusals', async () => {
    const keys = new Map([['good', signer('good')], ['revoked', signer('revoked')], ['expired', signer('expired')]]);
    const { log } = logger();
    const status = new SigningKeyStatus(keys, crlSource({ down: false }), log);
    await status.refresh();
    assert.equal(await codeOf(() => status.assertUsable('good')), undefined);
    assert.equal(await codeOf(() => status.assertUsable('revoked')), 'certificate_revoked');
    assert.equal(await codeOf(() => status.assertUsable('expired')), 'certificate_expired');
    const states = Object.fromEntries(status.statuses().map((entry) => [entry.key, entry.state]));
    assert.deepEqual(states, { good: 'good', revoked: 'revoked', expired: 'expired' });
    const revoked = status.statuses().find((entry) => entry.key === 'revoked')!;
    assert.match(revoked.detail!, /keyCompromise/);
    assert.ok(revoked.checkedAt! > Date.now() - 60_000, 'when the CA last answered');
    // Expiry is judged by the clock at each call, not only at a refresh.
    const good = status.statuses().find((entry) => entry.key === 'good')!;
    assert.equal(await codeOf(() => status.assertUsable('good', good.notAfter.getTime() + 1)), 'certificate_expired');
  });

  test('a CA out of reach: a status never established makes documents wait; a current answer stands; back up, the key signs', async () => {
    const ca = { down: true };
    const status = new SigningKeyStatus(new Map([['good', signer('good')]]), crlSource(ca), logger().log);
    await status.refresh();
    assert.equal(await codeOf(() => status.assertUsable('good')), 'validation_data_unavailable (transient)');
    ca.down = false;
    await status.refresh();
    assert.equal(await codeOf(() => status.assertUsable('good')), undefined);
    ca.down = true;
    await status.refresh();
    assert.equal(status.statuses()[0]!.state, 'good', 'the CRL is current for a day: its answer stands');
    assert.equal(await codeOf(() => status.assertUsable('good')), undefined);
    // Past the answer's nextUpdate, with the CA still down, the status is unknown again.
    await status.refresh(Date.now() + 2 * 24 * 3_600_000);
    assert.equal(status.statuses()[0]!.state, 'unknown');
  });

  test('a certificate with no revocation source signs as before; the log warns 30 days before expiry, once a day', async () => {
    const { lines, log } = logger();
    const status = new SigningKeyStatus(new Map([['soon', signer('soon')]]), { revocationOf: async () => undefined }, log);
    await status.refresh();
    assert.equal(status.statuses()[0]!.state, 'not_checked');
    assert.equal(await codeOf(() => status.assertUsable('soon')), undefined);
    await status.refresh();
    const warnings = lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 1, 'once a day');
    assert.match(warnings[0]!.message!, /expires in (9|10) days; renew it/);
  });

  test('a CA slow to answer does not hold the start; a document arriving meanwhile waits for that one check', async () => {
    let asked = 0;
    const slow: Pick<ValidationDataSource, 'revocationOf'> = {
      async revocationOf(certificateDer, issuerDer, now) {
        asked++;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return crlSource({ down: false }).revocationOf(certificateDer, issuerDer, now);
      },
    };
    const status = new SigningKeyStatus(new Map([['good', signer('good')], ['revoked', signer('revoked')]]), slow, logger().log, { startWaitMs: 200 });
    const started = performance.now();
    await status.start();
    assert.ok(performance.now() - started < 1000, 'the start did not wait for the CA');
    assert.equal(await codeOf(() => status.assertUsable('good')), undefined);
    assert.equal(await codeOf(() => status.assertUsable('revoked')), 'certificate_revoked');
    assert.equal(asked, 2, 'one check per key, the documents joined it');
    status.stop();
  });
});
