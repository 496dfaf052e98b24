import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { RevocationSources } from '../src/core/revocation/revocation-sources.js';
import { isSignetError } from '../src/errors/signet-error.js';
import { OutboundAddressPolicy } from '../src/outbound/address-policy.js';
import { ValidationDataClient } from '../src/outbound/validation-data-client.js';
import { freePort, listenOnLoopback, OpensslPki } from './support/openssl-pki.js';
import { openTestStore, testStores } from './support/test-service.js';

/**
 * Revocation status from the certificate's own CA (issue 12): the OCSP responder its AIA names
 * (`openssl ocsp`, behind a counting relay), else the CRL its distribution point names (served by a
 * counting HTTP server): verified, cached in the store until nextUpdate, one fetch per CA for many
 * documents at once; a CA out of reach is `validation_data_unavailable`, transient.
 */

const pki = new OpensslPki();
let ocspRequests = 0;
let crlRequests = 0;
let caUp = true;
let relay: http.Server;
let crlServer: http.Server;
let ocspUrl = '';

before(async () => {
  pki.createRoot('/CN=Revocation Test Root');
  // The relay and the CRL server first: their addresses go into the certificates.
  const responderPort = await freePort();
  relay = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!caUp) return response.writeHead(503).end();
    ocspRequests++;
    const answer = await fetch(`http://127.0.0.1:${responderPort}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.concat(chunks) });
    response.writeHead(answer.status, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  crlServer = http.createServer((_request, response) => {
    if (!caUp) return response.writeHead(503).end();
    crlRequests++;
    response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(pki.crl());
  });
  ocspUrl = `http://127.0.0.1:${await listenOnLoopback(relay)}/ocsp`;
  const crlUrl = `http://127.0.0.1:${await listenOnLoopback(crlServer)}/ca.crl`;
  const withOcsp = `basicConstraints=CA:FALSE\nauthorityInfoAccess=OCSP;URI:${ocspUrl}\ncrlDistributionPoints=URI:${crlUrl}\n`;
  const crlOnly = `basicConstraints=CA:FALSE\ncrlDistributionPoints=URI:${crlUrl}\n`;
  pki.issue('ocsp-good', '/CN=OCSP Good', withOcsp);
  pki.issue('ocsp-revoked', '/CN=OCSP Revoked', withOcsp);
  pki.issue('crl-good', '/CN=CRL Good', crlOnly);
  pki.issue('crl-revoked', '/CN=CRL Revoked', crlOnly);
  pki.issue('nowhere', '/CN=No Revocation Info', 'basicConstraints=CA:FALSE\n');
  pki.issue('responder', '/CN=Responder', 'basicConstraints=CA:FALSE\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n');
  pki.writeIndex({
    good: { 'ocsp-good': '/CN=OCSP Good', 'crl-good': '/CN=CRL Good', responder: '/CN=Responder' },
    revoked: {
      'ocsp-revoked': { subject: '/CN=OCSP Revoked', at: '261201000000Z,keyCompromise' },
      'crl-revoked': { subject: '/CN=CRL Revoked', at: '261202000000Z,superseded' },
    },
  });
  await pki.startResponder('responder', responderPort);
});

after(() => {
  relay?.close();
  crlServer?.close();
  pki.destroy();
});

for (const kind of testStores()) {
  describe(`revocation sources (${kind})`, () => {
    let close: () => Promise<void>;
    let sources: RevocationSources;
    let client: ValidationDataClient;
    let store: Awaited<ReturnType<typeof openTestStore>>['store'];
    const ca = () => pki.der('ca.pem');

    before(async () => {
      ({ store, close } = await openTestStore(kind));
      client = new ValidationDataClient(new OutboundAddressPolicy(['127.0.0.1']));
      sources = new RevocationSources(store.validationData, client);
      ocspRequests = 0;
      crlRequests = 0;
      caUp = true;
    });
    after(async () => {
      await client.close();
      await close();
    });

    test('OCSP first: 50 documents at once ask the responder once; the answer is cached until nextUpdate', async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, () => sources.status(pki.der('ocsp-good.pem'), ca())));
      assert.equal(ocspRequests, 1);
      for (const answer of answers) {
        assert.equal(answer?.source, 'ocsp');
        assert.equal(answer?.verdict.status, 'good');
      }
      assert.ok(answers[0]!.der.equals(answers[49]!.der));
      const later = await sources.status(pki.der('ocsp-good.pem'), ca());
      assert.equal(later?.verdict.status, 'good');
      assert.equal(ocspRequests, 1, 'served from the store');
      const revoked = await sources.status(pki.der('ocsp-revoked.pem'), ca());
      assert.deepEqual([revoked?.source, revoked?.verdict.status, (revoked?.verdict as { reason?: string }).reason], ['ocsp', 'revoked', 'keyCompromise']);
    });

    test('no OCSP responder: the CRL, fetched once for every certificate it covers', async () => {
      const [good, revoked] = await Promise.all([sources.status(pki.der('crl-good.pem'), ca()), sources.status(pki.der('crl-revoked.pem'), ca())]);
      assert.deepEqual([good?.source, good?.verdict.status], ['crl', 'good']);
      assert.deepEqual([revoked?.source, revoked?.verdict.status, (revoked?.verdict as { reason?: string }).reason], ['crl', 'revoked', 'superseded']);
      assert.equal(crlRequests, 1);
      assert.equal(await sources.status(pki.der('nowhere.pem'), ca()), undefined, 'a certificate that names no source');
    });

    test('the CA out of reach and nothing current cached: validation_data_unavailable, transient; back: answered', async () => {
      caUp = false;
      // Judged a day and a half later: the cached answers are no longer current.
      const later = Date.now() + 36 * 60 * 60_000;
      await assert.rejects(sources.status(pki.der('ocsp-good.pem'), ca(), later), (error: unknown) => {
        assert.ok(isSignetError(error) && error.code === 'validation_data_unavailable' && error.transient, String(error));
        return true;
      });
      caUp = true;
      // (The CA's fresh answers are judged at the real time: its nextUpdate is minutes away, not days.)
      const fresh = new RevocationSources(store.validationData, client);
      assert.equal((await fresh.status(pki.der('ocsp-good.pem'), ca()))?.verdict.status, 'good');
    });

    test('an address the outbound policy refuses is never fetched', async () => {
      const closed = new RevocationSources(store.validationData, new ValidationDataClient(new OutboundAddressPolicy([])));
      const before = ocspRequests;
      pki.issue('uncached', '/CN=Uncached', `basicConstraints=CA:FALSE\nauthorityInfoAccess=OCSP;URI:${ocspUrl}\n`);
      await assert.rejects(closed.status(pki.der('uncached.pem'), ca()), (error: unknown) => {
        assert.ok(isSignetError(error) && error.code === 'url_not_allowed' && !error.transient, String(error));
        return true;
      });
      assert.equal(ocspRequests, before);
    });
  });
}
