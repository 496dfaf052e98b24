import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseServeConfig, serveConfigForLog } from '../src/config/serve-config.js';
import { parseTimeStampToken } from '../src/crypto/tsp/parse-time-stamp-token.js';
import { readSignedData } from '../src/crypto/cms/signed-data-parts.js';
import { asn1parse } from './support/cades-archive.js';
import { OpensslPki } from './support/openssl-pki.js';
import { OpensslTsa } from './support/openssl-tsa.js';
import { basicAuth, startTestService, waitUntilFinal, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

/**
 * External TSAs (issue 12): `--tsa-url` is a list tried in order, each an independent `openssl ts -reply`
 * behind HTTP; the first one wants HTTP Basic credentials, given as a secret reference in its URL
 * (`env:NAME`), never as the password itself. A TSA down or refusing is passed over; all down, the
 * document waits; the registration's proof names the TSA that answered.
 */

const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
let primary: OpensslTsa;
let secondary: OpensslTsa;
let primaryUrl: string;
let secondaryUrl: string;
let service: TestService;
const auth = basicAuth('client-a', 'secret-a');

before(async () => {
  pki.createRoot('/CN=TSA Failover Root');
  const tsaExtensions = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n';
  pki.issue('tsa-a', '/CN=Primary TSA', tsaExtensions);
  pki.issue('tsa-b', '/CN=Secondary TSA', tsaExtensions);
  primary = new OpensslTsa(pki.folder, 'tsa-a', { basicAuth: 'alice:tsa-secret-0451' });
  secondary = new OpensslTsa(pki.folder, 'tsa-b');
  primaryUrl = await primary.start();
  secondaryUrl = await secondary.start();
  process.env.SIGNET_TEST_TSA_PASSWORD = 'tsa-secret-0451';
  const withReference = primaryUrl.replace('http://', 'http://alice:env:SIGNET_TEST_TSA_PASSWORD@');
  service = await startTestService({ flags: [`--tsa-url=${withReference},${secondaryUrl}`] });
});

after(async () => {
  await service?.stop();
  await primary?.stop();
  await secondary?.stop();
  pki.destroy();
  delete process.env.SIGNET_TEST_TSA_PASSWORD;
});

async function signBT(reference: string): Promise<{ taskId: string }> {
  const response = await fetch(`${service.url}/v1/signatures`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ externalReference: reference, signature: { format: 'CAdES', level: 'B-T' }, documents: [{ name: 'x.txt', content: Buffer.from(reference).toString('base64') }] }),
  });
  assert.equal(response.status, 202);
  return (await response.json()) as { taskId: string };
}

/** The signature time-stamp token of a finished CAdES-B-T operation: which TSA made it, and openssl ts -verify on it. */
async function tokenOf(taskId: string, label: string): Promise<{ tsa: string; verified: string }> {
  const operation = (await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
  assert.equal(operation.documents[0].status, 'SIGNED', JSON.stringify(operation.documents[0]));
  const cms = Buffer.from(await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: auth } })).arrayBuffer());
  const signer = readSignedData(cms).signerInfos[0]!;
  const attribute = signer.unsignedAttributes.map((encoded) => asn1parse(encoded)).find((node) => node.children[0]!.value === 'id-smime-aa-timeStampToken')!;
  const token = attribute.children[1]!.children[0]!.bytes;
  writeFileSync(file(`${label}.tst`), token);
  const digest = createHash('sha256').update(signer.signatureValue).digest('hex');
  const verified = run('openssl', ['ts', '-verify', '-in', file(`${label}.tst`), '-token_in', '-digest', digest, '-CAfile', file('ca.pem')]);
  const subject = parseTimeStampToken(token).tsaCertificateDer!;
  return { tsa: new X509Certificate(subject).subject, verified: verified.stdout + verified.stderr };
}

describe('--tsa-url with several TSAs', () => {
  test('the first TSA answers, with the credentials its URL refers to; openssl ts -verify accepts the token', async () => {
    const { taskId } = await signBT('first');
    assert.equal((await waitUntilFinal(service.url, auth, taskId)).status, 'SUCCEEDED');
    const { tsa, verified } = await tokenOf(taskId, 'first');
    assert.equal(tsa, 'CN=Primary TSA');
    assert.match(verified, /Verification: OK/);
    assert.ok(primary.requests >= 1);
  });

  test('the first TSA down: the second answers; a registration names the TSA that answered', async () => {
    primary.up = false;
    try {
      const { taskId } = await signBT('failover');
      assert.equal((await waitUntilFinal(service.url, auth, taskId)).status, 'SUCCEEDED');
      const { tsa, verified } = await tokenOf(taskId, 'failover');
      assert.equal(tsa, 'CN=Secondary TSA');
      assert.match(verified, /Verification: OK/);

      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ userId: 'u-1', userEmail: 'u1@example.test', content: Buffer.from('registered during an outage').toString('base64') }),
      });
      // Prefer: wait answers with the registration once it is done.
      const registration = (await response.json()) as any;
      assert.equal(response.status, 200, JSON.stringify(registration));
      assert.equal(registration.status, 'REGISTERED');
      assert.equal(registration.proof.tsa, secondaryUrl);
    } finally {
      primary.up = true;
    }
  });

  test('every TSA down: the document waits; one back, it is signed', async () => {
    primary.up = false;
    secondary.up = false;
    try {
      const { taskId } = await signBT('all-down');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const waiting = (await (await fetch(`${service.url}/v1/tasks/${taskId}`, { headers: { authorization: auth } })).json()) as any;
      assert.ok(!['SUCCEEDED', 'FAILED'].includes(waiting.status), `waiting, not ${waiting.status}`);
      secondary.up = true;
      assert.equal((await waitUntilFinal(service.url, auth, taskId, 60_000)).status, 'SUCCEEDED');
    } finally {
      primary.up = true;
      secondary.up = true;
    }
  });

  test('the password is neither in the flag nor in what the start logs; a missing variable stops the start naming it', async () => {
    const flag = `--tsa-url=${primaryUrl.replace('http://', 'http://alice:env:SIGNET_TEST_TSA_PASSWORD@')},${secondaryUrl}`;
    assert.doesNotMatch(flag, /tsa-secret-0451/);
    const logged = JSON.stringify(serveConfigForLog(parseServeConfig([flag], {})));
    assert.doesNotMatch(logged, /tsa-secret-0451|SIGNET_TEST_TSA_PASSWORD/);
    assert.match(logged, /\*\*\*/);
    await assert.rejects(
      startTestService({ flags: [`--tsa-url=${primaryUrl.replace('http://', 'http://alice:env:SIGNET_TEST_NO_SUCH_VARIABLE@')}`] }),
      /environment variable SIGNET_TEST_NO_SUCH_VARIABLE is not set/,
    );
  });
});
