import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildOcspRequest, ocspGetUrl } from '../src/crypto/revocation/ocsp-request.js';
import { OcspResponseError, verifyOcspResponse } from '../src/crypto/revocation/ocsp-response.js';
import { certificateUrls } from '../src/crypto/revocation/certificate-urls.js';
import { checkCertificateAgainstCrl, CrlError } from '../src/crypto/revocation/crl-check.js';
import { freePort, OpensslPki } from './support/openssl-pki.js';
import { run } from './support/tools.js';

/**
 * Revocation sources in crypto/revocation. The OCSP client (RFC 6960) against an independent responder: `openssl ocsp -index … -port …` over a
 * CA made with openssl, answering for a good, a revoked (keyCompromise) and an unknown certificate,
 * signed by a delegated responder (id-kp-OCSPSigning, ocsp-nocheck) or by the CA itself. The requests
 * Signet builds are read back by `openssl ocsp -reqin`; the responses it accepts are accepted by
 * `openssl ocsp -respin … -CAfile` too. CRLs made by `openssl ca -gencrl` from the same database, checked
 * here and by `openssl crl -verify`; AIA and CRL distribution point URLs read from an openssl certificate.
 */

const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
const openssl = (...args: string[]) => pki.openssl(...args);
const der = (name: string) => pki.der(name);
const issue = (name: string, subject: string, extensions: string) => pki.issue(name, subject, extensions);
const serialOf = (name: string) => pki.serialOf(name);
const startResponder = async (signer: string) => pki.startResponder(signer, await freePort());

async function ask(url: string, requestDer: Buffer): Promise<Buffer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(requestDer) });
  assert.equal(response.status, 200);
  return Buffer.from(await response.arrayBuffer());
}

describe('OCSP client against openssl ocsp', () => {
  let delegated: string;
  let byCa: string;

  before(async () => {
    pki.createRoot('/CN=OCSP Test Root');
    issue('good', '/CN=Good Signer', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n');
    issue('revoked', '/CN=Revoked Signer', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n');
    issue('stranger', '/CN=Not In The Index', 'basicConstraints=CA:FALSE\n');
    issue('responder', '/CN=Delegated OCSP Responder', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n');
    issue('not-a-responder', '/CN=Signer Without OCSPSigning', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n');
    // The responder's database: openssl ca's index.txt.
    pki.writeIndex({
      good: { good: '/CN=Good Signer', responder: '/CN=Delegated OCSP Responder' },
      revoked: { revoked: { subject: '/CN=Revoked Signer', at: '261201000000Z,keyCompromise' } },
    });
    delegated = await startResponder('responder');
    byCa = await startResponder('ca');
  });

  after(() => pki.destroy());

  test('a good certificate: the request is what openssl reads, the response verifies here and with openssl', async () => {
    const nonce = randomBytes(16);
    const { der: request } = buildOcspRequest({ certificateDer: der('good.pem'), issuerDer: der('ca.pem'), nonce });
    writeFileSync(file('good.req'), request);
    const requestText = openssl('ocsp', '-reqin', file('good.req'), '-req_text');
    assert.match(requestText, new RegExp(`Serial Number: ${serialOf('good')}`, 'i'));
    assert.match(requestText, /Hash Algorithm: sha1/);
    assert.match(requestText, /OCSP Nonce/);

    const response = await ask(delegated, request);
    const verdict = verifyOcspResponse(response, { certificateDer: der('good.pem'), issuerDer: der('ca.pem'), nonce });
    assert.equal(verdict.status, 'good');
    assert.equal(verdict.nonceMatched, true);
    assert.ok(verdict.nextUpdate && verdict.nextUpdate > verdict.thisUpdate);
    assert.ok(verdict.responderDer.equals(der('responder.pem')), 'signed by the delegated responder');
    assert.equal(verdict.responderNeedsRevocationCheck, false, 'the responder carries id-pkix-ocsp-nocheck');

    writeFileSync(file('good.resp'), response);
    // (-no_nonce: openssl has no request here to compare the nonce with; the check above did.)
    const independent = run('openssl', ['ocsp', '-respin', file('good.resp'), '-no_nonce', '-CAfile', file('ca.pem'), '-issuer', file('ca.pem'), '-cert', file('good.pem')]);
    assert.equal(independent.status, 0, independent.stderr);
    assert.match(independent.stdout, /good\.pem: good/);
    assert.match(independent.stderr + independent.stdout, /Response verify OK/);
  });

  test('a revoked certificate: revoked, when and why; a certificate the responder does not know: unknown', async () => {
    const revoked = buildOcspRequest({ certificateDer: der('revoked.pem'), issuerDer: der('ca.pem'), hash: 'sha256' });
    const verdict = verifyOcspResponse(await ask(delegated, revoked.der), { certificateDer: der('revoked.pem'), issuerDer: der('ca.pem') });
    assert.equal(verdict.status, 'revoked');
    assert.equal(verdict.reason, 'keyCompromise');
    assert.equal(verdict.revokedAt?.toISOString(), '2026-12-01T00:00:00.000Z');

    const stranger = buildOcspRequest({ certificateDer: der('stranger.pem'), issuerDer: der('ca.pem') });
    assert.equal(verifyOcspResponse(await ask(delegated, stranger.der), { certificateDer: der('stranger.pem'), issuerDer: der('ca.pem') }).status, 'unknown');
  });

  test('the same request as a GET (RFC 6960 Appendix A.1) is answered alike', async () => {
    const { der: request } = buildOcspRequest({ certificateDer: der('revoked.pem'), issuerDer: der('ca.pem') });
    const url = ocspGetUrl(delegated, request);
    assert.ok(url, 'a one-certificate request without a nonce fits in a GET');
    const response = await fetch(url);
    assert.equal(response.status, 200);
    const verdict = verifyOcspResponse(Buffer.from(await response.arrayBuffer()), { certificateDer: der('revoked.pem'), issuerDer: der('ca.pem') });
    assert.equal(verdict.status, 'revoked');
    assert.equal(ocspGetUrl(delegated, Buffer.alloc(300)), undefined, 'too long for a GET: POST it');
  });

  test('a response signed by the CA itself verifies; the issuer is its responder', async () => {
    const { der: request } = buildOcspRequest({ certificateDer: der('good.pem'), issuerDer: der('ca.pem') });
    const verdict = verifyOcspResponse(await ask(byCa, request), { certificateDer: der('good.pem'), issuerDer: der('ca.pem') });
    assert.equal(verdict.status, 'good');
    assert.ok(verdict.responderDer.equals(der('ca.pem')));
    assert.equal(verdict.responderNeedsRevocationCheck, false);
  });

  test('refused: a changed signature, another certificate, a stale answer, another nonce, an unauthorized responder', async () => {
    const nonce = randomBytes(8);
    const { der: request } = buildOcspRequest({ certificateDer: der('good.pem'), issuerDer: der('ca.pem'), nonce });
    const response = await ask(delegated, request);
    const options = { certificateDer: der('good.pem'), issuerDer: der('ca.pem'), nonce };
    const failure = (bytes: Buffer, overrides: Partial<typeof options & { now: Date }> = {}) => {
      try {
        verifyOcspResponse(bytes, { ...options, ...overrides });
        return 'accepted';
      } catch (error) {
        assert.ok(error instanceof OcspResponseError, String(error));
        return error.failure;
      }
    };
    // The signature is the last bytes before the responder's certificate list: flip one in the middle of it.
    const tampered = Buffer.from(response);
    const certificate = tampered.indexOf(der('responder.pem').subarray(0, 32));
    tampered[certificate - 200] ^= 0x01;
    assert.equal(failure(tampered), 'bad_signature');
    assert.equal(failure(response, { certificateDer: der('revoked.pem') }), 'no_match');
    assert.equal(failure(response, { now: new Date(Date.now() + 60 * 60_000) }), 'expired');
    // An hour early the delegated responder's certificate is not valid yet; the CA's own answer is judged on its thisUpdate.
    assert.equal(failure(response, { now: new Date(Date.now() - 60 * 60_000) }), 'unauthorized_responder');
    assert.equal(failure(await ask(byCa, request), { now: new Date(Date.now() - 60 * 60_000) }), 'not_yet_valid');
    assert.equal(failure(response, { nonce: randomBytes(8) }), 'nonce_mismatch');
    assert.equal(failure(Buffer.from('not an ocsp response')), 'malformed');

    // A responder certificate the CA issued, but not for OCSP signing.
    const rogue = await startResponder('not-a-responder');
    assert.equal(failure(await ask(rogue, request)), 'unauthorized_responder');
    // openssl agrees that it is not a valid response.
    writeFileSync(file('rogue.resp'), await ask(rogue, request));
    const independent = run('openssl', ['ocsp', '-respin', file('rogue.resp'), '-no_nonce', '-CAfile', file('ca.pem'), '-issuer', file('ca.pem'), '-cert', file('good.pem')]);
    assert.doesNotMatch(independent.stderr + independent.stdout, /Response verify OK/);
  });

  test('CRLs from openssl ca: good and revoked (when, why), DER and PEM; refused when changed, foreign or expired', () => {
    const derCrl = pki.crl();
    assert.match(run('openssl', ['crl', '-in', file('ca.crl.pem'), '-CAfile', file('ca.pem'), '-noout']).stderr, /verify OK/);
    const pem = readFileSync(file('ca.crl.pem'));
    const of = (name: string, bytes = derCrl, now?: Date) => checkCertificateAgainstCrl(bytes, { certificateDer: der(`${name}.pem`), issuerDer: der('ca.pem'), now });
    assert.equal(of('good').status, 'good');
    assert.equal(of('good', pem).status, 'good');
    const revoked = of('revoked', pem);
    assert.deepEqual([revoked.status, revoked.reason, revoked.revokedAt?.toISOString()], ['revoked', 'keyCompromise', '2026-12-01T00:00:00.000Z']);
    assert.ok(revoked.nextUpdate && revoked.nextUpdate > revoked.thisUpdate);

    const failure = (attempt: () => unknown) => {
      try {
        attempt();
        return 'accepted';
      } catch (error) {
        assert.ok(error instanceof CrlError, String(error));
        return error.failure;
      }
    };
    const tampered = Buffer.from(derCrl);
    tampered[tampered.length - 10] ^= 0x01;
    assert.equal(failure(() => of('good', tampered)), 'bad_signature');
    assert.equal(failure(() => of('good', derCrl, new Date(Date.now() + 3 * 24 * 60 * 60_000))), 'expired');
    assert.equal(failure(() => of('good', derCrl, new Date(Date.now() - 60 * 60_000))), 'not_yet_valid');
    assert.equal(failure(() => checkCertificateAgainstCrl(derCrl, { certificateDer: der('good.pem'), issuerDer: der('good.pem') })), 'wrong_issuer');
    assert.equal(failure(() => of('good', Buffer.from('not a crl'))), 'malformed');
  });

  test('AIA and CRL distribution point URLs come from the certificate (http only)', () => {
    issue(
      'located',
      '/CN=Located Signer',
      'basicConstraints=CA:FALSE\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:8/ocsp,caIssuers;URI:http://127.0.0.1:8/ca.cer\n' +
        'crlDistributionPoints=URI:http://127.0.0.1:8/ca.crl,URI:ldap://127.0.0.1/cn=ca\n',
    );
    assert.deepEqual(certificateUrls(der('located.pem')), {
      ocsp: ['http://127.0.0.1:8/ocsp'],
      caIssuers: ['http://127.0.0.1:8/ca.cer'],
      crl: ['http://127.0.0.1:8/ca.crl'],
    });
    assert.deepEqual(certificateUrls(der('ca.pem')), { ocsp: [], caIssuers: [], crl: [] });
  });
});
