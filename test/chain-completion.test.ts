import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { completeChain } from '../src/core/revocation/chain-completion.js';
import { isSignetError } from '../src/errors/signet-error.js';
import { OutboundAddressPolicy } from '../src/outbound/address-policy.js';
import { ValidationDataClient } from '../src/outbound/validation-data-client.js';
import { OpensslPki } from './support/openssl-pki.js';
import { openTestStore, testStores } from './support/test-service.js';
import { run } from './support/tools.js';

/**
 * Chain completion from AIA caIssuers (issue 12): a root, an intermediate the configuration leaves
 * out, a leaf — made with openssl; the intermediate served as a DER certificate and the root as a
 * certs-only PKCS #7 (`openssl crl2pkcs7 -nocrl`), by a counting HTTP server on loopback. The chain
 * found is the one `openssl verify` accepts.
 */

const pki = new OpensslPki();
const requests = new Map<string, number>();
let up = true;
let server: http.Server;
const served = new Map<string, Buffer>();

before(async () => {
  server = http.createServer((request, response) => {
    const body = served.get(request.url ?? '');
    if (!up) return response.writeHead(503).end();
    requests.set(request.url ?? '', (requests.get(request.url ?? '') ?? 0) + 1);
    if (!body) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pki.createRoot('/CN=Chain Root');
  pki.issue('intermediate', '/CN=Chain Intermediate', `basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nauthorityInfoAccess=caIssuers;URI:${base}/root.p7c\n`);
  pki.issue('leaf', '/CN=Chain Leaf', `basicConstraints=CA:FALSE\nauthorityInfoAccess=caIssuers;URI:${base}/intermediate.cer\n`, 'intermediate');
  pki.issue('orphan', '/CN=Orphan Leaf', 'basicConstraints=CA:FALSE\n', 'intermediate');
  pki.issue('misdirected', '/CN=Misdirected Leaf', `basicConstraints=CA:FALSE\nauthorityInfoAccess=caIssuers;URI:${base}/wrong.cer\n`, 'intermediate');
  pki.openssl('crl2pkcs7', '-nocrl', '-certfile', pki.file('ca.pem'), '-outform', 'DER', '-out', pki.file('root.p7c'));
  served.set('/intermediate.cer', pki.der('intermediate.pem'));
  served.set('/root.p7c', readFileSync(pki.file('root.p7c')));
  served.set('/wrong.cer', pki.der('orphan.pem'));
});

after(() => {
  server?.close();
  pki.destroy();
});

for (const kind of testStores()) {
  describe(`chain completion from AIA (${kind})`, () => {
    let close: () => Promise<void>;
    let context: Parameters<typeof completeChain>[0];
    before(async () => {
      const opened = await openTestStore(kind);
      close = opened.close;
      context = { cache: opened.store.validationData, client: new ValidationDataClient(new OutboundAddressPolicy(['127.0.0.1'])) };
      requests.clear();
      up = true;
    });
    after(async () => {
      await context.client.close();
      await close();
    });

    test('a leaf whose chain is not configured: the intermediate (DER) and the root (PKCS #7) come from caIssuers, once', async () => {
      const chain = await completeChain(context, pki.der('leaf.pem'));
      assert.deepEqual(chain.map((der) => der.toString('base64')), ['leaf.pem', 'intermediate.pem', 'ca.pem'].map((name) => pki.der(name).toString('base64')));
      assert.deepEqual(Object.fromEntries(requests), { '/intermediate.cer': 1, '/root.p7c': 1 });
      // What was found is a chain openssl accepts.
      writeFileSync(pki.file('found-intermediate.pem'), `-----BEGIN CERTIFICATE-----\n${chain[1]!.toString('base64')}\n-----END CERTIFICATE-----\n`);
      const verified = run('openssl', ['verify', '-CAfile', pki.file('ca.pem'), '-untrusted', pki.file('found-intermediate.pem'), pki.file('leaf.pem')]);
      assert.equal(verified.status, 0, verified.stderr);
      // Again: from the store, no request.
      await completeChain(context, pki.der('leaf.pem'));
      assert.deepEqual(Object.fromEntries(requests), { '/intermediate.cer': 1, '/root.p7c': 1 });
    });

    test('a chain ends at a trust anchor; configured certificates are used before any fetch', async () => {
      requests.clear();
      const anchored = await completeChain(context, pki.der('orphan.pem'), { known: [pki.der('intermediate.pem')], anchors: [pki.der('intermediate.pem')] });
      assert.equal(anchored.length, 2);
      const configured = await completeChain(context, pki.der('orphan.pem'), { known: [pki.der('intermediate.pem'), pki.der('ca.pem')] });
      assert.equal(configured.length, 3);
      assert.equal(requests.size, 0);
    });

    test('refused: no caIssuers and nothing configured (not transient), a URL serving another certificate, a server down (transient)', async () => {
      const failure = async (leaf: string, transient: boolean) =>
        assert.rejects(completeChain(context, pki.der(leaf)), (error: unknown) => {
          assert.ok(isSignetError(error) && error.code === 'validation_data_unavailable' && error.transient === transient, String(error));
          return true;
        });
      await failure('orphan.pem', false);
      await failure('misdirected.pem', false);
      up = false;
      const fresh = await openTestStore(kind);
      try {
        await assert.rejects(completeChain({ ...context, cache: fresh.store.validationData }, pki.der('leaf.pem')), (error: unknown) => isSignetError(error) && error.transient);
      } finally {
        up = true;
        await fresh.close();
      }
    });
  });
}
