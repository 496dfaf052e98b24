import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkDocument } from '../src/core/verify/signature-reports.js';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { extendCadesSignature } from '../src/crypto/cms/cades-extend.js';
import { developmentCrlIssuer } from '../src/crypto/devca/crl.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import { crlValidationData } from './support/crl-validation-data.js';
import { readTlv, tlv } from '../src/crypto/cms/der.js';
import { childrenOf, encodingOf } from '../src/crypto/cms/der-reader.js';
import { readSignedData, writeSignedData } from '../src/crypto/cms/signed-data-parts.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { TrustAnchors } from '../src/crypto/verify/certificate-trust.js';
import { SignetError } from '../src/errors/signet-error.js';
import { OpensslPki } from './support/openssl-pki.js';
import { run } from './support/tools.js';

/**
 * Real-world sizes against hostile ones (issue 13): a 5 MB CAdES carrying hundreds of certificates, a
 * CRL of 120,000 entries and two hundred more CRLs — what a CAdES-A of a large CA holds — verifies
 * (openssl agrees), while a CMS that packs a million empty elements into its certificate set, or nests
 * deeper than any real structure, is refused with a problem a person can read.
 */

const folder = mkdtempSync(path.join(tmpdir(), 'signet-large-'));
const pki = new OpensslPki();
let dev: DevelopmentPki;
const content = Buffer.from('a contract with a long history\n');

before(async () => {
  dev = await ensureDevelopmentPki(path.join(folder, 'dev'));
  pki.createRoot('/CN=Large CA');
  // One key, thirty certificates (serials differ), each carried ten times below: a set of 300 to read.
  pki.openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pki.file('many.key'), '-subj', '/CN=Many', '-out', pki.file('many.csr'));
  for (let serial = 1; serial <= 30; serial++) {
    pki.openssl('x509', '-req', '-in', pki.file('many.csr'), '-CA', pki.file('ca.pem'), '-CAkey', pki.file('ca.key'), '-set_serial', String(serial), '-days', '30', '-out', pki.file(`many-${serial}.pem`));
  }
});

/** `openssl ca -gencrl` over an index of `count` revoked serials, written directly. */
function crlWith(count: number): Buffer {
  const lines: string[] = [];
  for (let serial = 0x100000; serial < 0x100000 + count; serial++) lines.push(`R\t491231235959Z\t240101000000Z,keyCompromise\t${serial.toString(16).toUpperCase()}\tunknown\t/CN=Revoked ${serial}`);
  writeFileSync(pki.indexFile(), `${lines.join('\n')}\n`);
  return pki.crl();
}

after(() => {
  pki.destroy();
  rmSync(folder, { recursive: true, force: true });
});

describe('verification of large and hostile CMS', () => {
  test('a 5 MB CAdES-A (B-LTA) with 300 certificates, a 140,000-entry CRL and 200 more CRLs verifies; openssl agrees', async () => {
    const smallCrl = crlWith(40);
    const bigCrl = crlWith(140_000);
    const cms = await createCadesDetachedSignature({ messageDigest: createHash('sha256').update(content).digest(), signer: dev.signer, signingTime: new Date() });
    const parts = readSignedData(cms);
    const certificates = Array.from({ length: 300 }, (_, index) => pki.der(`many-${(index % 30) + 1}.pem`));
    const withData = writeSignedData({ ...parts, certificates: [...parts.certificates, ...certificates], crls: [bigCrl, ...Array.from({ length: 200 }, () => smallCrl)] });
    // Then archived as a long-term signature is: a signature time-stamp, the signer's CRL, an archive-time-stamp-v3 over all of it.
    const tsa = new InProcessTimestampClient(new TimestampAuthority({ keyPem: dev.tsa.keyPem, certificatePem: dev.tsa.certificatePem, chainPem: dev.caCertificatePem }));
    const large = await extendCadesSignature(withData, {
      level: 'B-LTA',
      timestampClient: tsa,
      validationData: crlValidationData([new X509Certificate(dev.caCertificatePem).raw], developmentCrlIssuer(dev)),
    });
    assert.ok(large.length > 5_000_000 && bigCrl.length > 3_000_000, `${large.length} bytes, the CRL ${bigCrl.length}`);

    const [report] = checkDocument({ file: content, signature: large }, { anchors: TrustAnchors.fromPem(dev.caCertificatePem), validationTime: new Date(), canFetch: false }).signatures;
    assert.deepEqual([report!.intact, report!.format, report!.level, report!.indication], [true, 'CAdES', 'B-LTA', 'TOTAL_PASSED'], JSON.stringify(report!.errors));
    assert.deepEqual(report!.timestamps.map((timestamp) => [timestamp.type, timestamp.intact, timestamp.trusted]), [['signature', true, true], ['archive', true, true]]);
    assert.equal(report!.signer?.subject.includes('Signet'), true);

    writeFileSync(path.join(folder, 'large.p7s'), large);
    writeFileSync(path.join(folder, 'content.txt'), content);
    writeFileSync(path.join(folder, 'dev-ca.pem'), dev.caCertificatePem);
    const verified = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(folder, 'large.p7s'), '-content', path.join(folder, 'content.txt'),
      '-CAfile', path.join(folder, 'dev-ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.match(verified.stderr, /Verification successful/, verified.stderr);
  });

  test('a certificate set of a million empty elements is refused, not read', async () => {
    const cms = await createCadesDetachedSignature({ messageDigest: createHash('sha256').update(content).digest(), signer: dev.signer, signingTime: new Date() });
    // The certificate set [0] replaced by a million NULLs (2 MB), the enclosing lengths rewritten.
    const contentInfo = readTlv(cms, 0);
    const [contentType, wrapper] = childrenOf(cms, contentInfo, 'ContentInfo');
    const signedData = childrenOf(cms, wrapper!, 'content')[0]!;
    const nulls = Buffer.alloc(2_000_000);
    for (let offset = 0; offset < nulls.length; offset += 2) nulls[offset] = 0x05;
    const fields = childrenOf(cms, signedData, 'SignedData').map((field) => (field.tag === 0xa0 ? tlv(0xa0, nulls) : encodingOf(cms, field)));
    const hostile = tlv(0x30, encodingOf(cms, contentType!), tlv(0xa0, tlv(0x30, ...fields)));
    assert.throws(
      () => checkDocument({ file: content, signature: hostile }, { anchors: new TrustAnchors([]), validationTime: new Date(), canFetch: false }),
      (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && /more than 100000 elements/.test(error.message),
    );
  });

  test('nesting deeper than any real structure is refused (BER, indefinite lengths)', () => {
    // 200 nested indefinite-length SEQUENCEs: asn1js's depth bound (100) refuses it before building it.
    const nested = Buffer.alloc(800, 0);
    for (let level = 0; level < 200; level++) nested.writeUInt16BE(0x3080, level * 2);
    assert.throws(
      () => checkDocument({ file: content, signature: nested }, { anchors: new TrustAnchors([]), validationTime: new Date(), canFetch: false }),
      (error: unknown) => error instanceof SignetError && error.code === 'invalid_request' && /depth|nesting/i.test(error.message),
    );
  });
});
