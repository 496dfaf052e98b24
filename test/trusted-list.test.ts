import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listenOnLoopback, OpensslPki } from './support/openssl-pki.js';
import { startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

/**
 * `--trust-list` (issue 13, ETSI TS 119 612): trusted lists this test writes and signs itself with
 * xmlsec1 — a national list naming a test CA as CA/QC granted (and another CA as withdrawn), and a list
 * of lists pointing to it over HTTP on loopback. A signature by the granted CA's signer is trusted, and
 * its anchor names the list and the service; the withdrawn CA anchors nothing; a list with one byte
 * changed, or signed by someone else, stops the start with a message that says so.
 */

const TSL = 'http://uri.etsi.org/02231/v2#';
const pki = new OpensslPki();
const file = (name: string) => pki.file(name);
let web: http.Server;
let base = '';
let national: TestService;
let throughLotl: TestService;
/** What the list host serves at /live.xml: changed by the refresh test. */
let live = Buffer.alloc(0);
let liveReads = 0;
const started: string[] = [];

/** A self-signed certificate for a list's signer (or a second CA). */
function selfSigned(name: string, subject: string, extensions: string[] = []): void {
  pki.openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-subj', subject, '-days', '30', '-out', file(`${name}.pem`),
    ...extensions.flatMap((extension) => ['-addext', extension]));
}

function base64Der(pemName: string): string {
  return pki.der(pemName).toString('base64');
}

function service(type: string, status: string, name: string, certificate: string): string {
  return `<tsl:TSPService><tsl:ServiceInformation>
      <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/${type}</tsl:ServiceTypeIdentifier>
      <tsl:ServiceName><tsl:Name xml:lang="en">${name}</tsl:Name></tsl:ServiceName>
      <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>${base64Der(certificate)}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
      <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/${status}</tsl:ServiceStatus>
      <tsl:StatusStartingTime>2025-01-01T00:00:00Z</tsl:StatusStartingTime>
    </tsl:ServiceInformation></tsl:TSPService>`;
}

/** A trusted list, signed with xmlsec1 by `signer` (enveloped, exclusive c14n, RSA-SHA256). */
function signedList(name: string, options: { type: string; territory: string; pointers?: string; providers?: string; signer: string }): string {
  const template = `<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="${TSL}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="tsl" TSLTag="http://uri.etsi.org/19612/TSLTag">
  <tsl:SchemeInformation>
    <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>
    <tsl:TSLSequenceNumber>7</tsl:TSLSequenceNumber>
    <tsl:TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/${options.type}</tsl:TSLType>
    <tsl:SchemeOperatorName><tsl:Name xml:lang="en">Test supervisory body</tsl:Name></tsl:SchemeOperatorName>
    <tsl:SchemeTerritory>${options.territory}</tsl:SchemeTerritory>
    <tsl:ListIssueDateTime>${new Date().toISOString().slice(0, 19)}Z</tsl:ListIssueDateTime>
    <tsl:NextUpdate><tsl:dateTime>${new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 19)}Z</tsl:dateTime></tsl:NextUpdate>
    ${options.pointers ? `<tsl:PointersToOtherTSL>${options.pointers}</tsl:PointersToOtherTSL>` : ''}
  </tsl:SchemeInformation>
  ${options.providers ? `<tsl:TrustServiceProviderList>${options.providers}</tsl:TrustServiceProviderList>` : ''}
  <ds:Signature Id="signature">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
  </ds:Signature>
</tsl:TrustServiceStatusList>
`;
  writeFileSync(file(`${name}.template.xml`), template);
  const signing = run('xmlsec1', ['--sign', '--privkey-pem', `${file(`${options.signer}.key`)},${file(`${options.signer}.pem`)}`, '--output', file(`${name}.xml`), file(`${name}.template.xml`)]);
  assert.equal(signing.status, 0, signing.stderr);
  // xmlsec1 itself accepts what it signed, with the signer's certificate as the trusted one.
  assert.equal(run('xmlsec1', ['--verify', '--trusted-pem', file(`${options.signer}.pem`), file(`${name}.xml`)]).status, 0);
  return file(`${name}.xml`);
}

before(async () => {
  web = http.createServer((request, response) => {
    const name = /^\/([\w-]+\.(xml|crl))$/.exec(request.url ?? '')?.[1];
    if (name?.endsWith('.crl')) return response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(pki.crl());
    if (name === 'live.xml') liveReads++;
    if (name === 'live.xml') return response.writeHead(200, { 'content-type': 'application/vnd.etsi.tsl+xml' }).end(live);
    if (name) return response.writeHead(200, { 'content-type': 'application/vnd.etsi.tsl+xml' }).end(readFileSync(file(name)));
    response.writeHead(404).end();
  });
  base = `http://127.0.0.1:${await listenOnLoopback(web)}`;

  pki.createRoot('/CN=Test Qualified CA/O=Test QTSP/C=LU');
  pki.issue('qualified', '/CN=Qualified signer', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\ncrlDistributionPoints=URI:${base}/ca.crl\n`);
  pki.writeIndex({ good: { qualified: '/CN=Qualified signer' } });
  selfSigned('withdrawn-ca', '/CN=Withdrawn CA/C=LU', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
  pki.openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('orphan.key'), '-subj', '/CN=Signer of a withdrawn CA', '-out', file('orphan.csr'));
  pki.openssl('x509', '-req', '-in', file('orphan.csr'), '-CA', file('withdrawn-ca.pem'), '-CAkey', file('withdrawn-ca.key'), '-CAcreateserial', '-days', '30', '-out', file('orphan.pem'));
  selfSigned('tl-signer', '/CN=Test TL signer/C=LU');
  selfSigned('lotl-signer', '/CN=Test LOTL signer/C=EU');

  signedList('tl', {
    type: 'EUgeneric',
    territory: 'LU',
    signer: 'tl-signer',
    providers: `<tsl:TrustServiceProvider>
      <tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang="en">Test QTSP</tsl:Name></tsl:TSPName></tsl:TSPInformation>
      <tsl:TSPServices>${service('CA/QC', 'granted', 'Test Qualified CA', 'ca.pem')}${service('CA/QC', 'withdrawn', 'Withdrawn CA', 'withdrawn-ca.pem')}</tsl:TSPServices>
    </tsl:TrustServiceProvider>`,
  });
  signedList('lotl', {
    type: 'EUlistofthelists',
    territory: 'EU',
    signer: 'lotl-signer',
    pointers: `<tsl:OtherTSLPointer>
      <tsl:ServiceDigitalIdentities><tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>${base64Der('tl-signer.pem')}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity></tsl:ServiceDigitalIdentities>
      <tsl:TSLLocation>${base}/tl.xml</tsl:TSLLocation>
      <tsl:AdditionalInformation>
        <tsl:OtherInformation><tsl:SchemeTerritory>LU</tsl:SchemeTerritory></tsl:OtherInformation>
        <tsl:OtherInformation><ns3:MimeType xmlns:ns3="http://uri.etsi.org/02231/v2/additionaltypes#">application/vnd.etsi.tsl+xml</ns3:MimeType></tsl:OtherInformation>
      </tsl:AdditionalInformation>
    </tsl:OtherTSLPointer>`,
  });

  // The same national list, later: the withdrawn CA granted again.
  signedList('tl-regranted', {
    type: 'EUgeneric',
    territory: 'LU',
    signer: 'tl-signer',
    providers: `<tsl:TrustServiceProvider>
      <tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang="en">Test QTSP</tsl:Name></tsl:TSPName></tsl:TSPInformation>
      <tsl:TSPServices>${service('CA/QC', 'granted', 'Test Qualified CA', 'ca.pem')}${service('CA/QC', 'granted', 'Withdrawn CA', 'withdrawn-ca.pem')}</tsl:TSPServices>
    </tsl:TrustServiceProvider>`,
  });
  live = readFileSync(file('tl.xml'));

  const files = { 'tl.xml': readFileSync(file('tl.xml')), 'lotl.xml': readFileSync(file('lotl.xml')), 'tl-signer.pem': readFileSync(file('tl-signer.pem')), 'lotl-signer.pem': readFileSync(file('lotl-signer.pem')) };
  national = await startTestService({ files, flags: ['--trust-list=tl.xml', '--trust-list-signers=tl-signer.pem', '--outbound-allow=127.0.0.1'] });
  throughLotl = await startTestService({ files, flags: ['--trust-list=lotl.xml', '--trust-list-signers=lotl-signer.pem', '--outbound-allow=127.0.0.1'] });
});

after(async () => {
  await national?.stop();
  await throughLotl?.stop();
  web?.close();
  for (const folder of started) await rm(folder, { recursive: true, force: true });
  pki.destroy();
});

function opensslCades(signer: string): Buffer {
  writeFileSync(file('content.txt'), 'a contract\n');
  pki.openssl('cms', '-sign', '-cades', '-binary', '-nodetach', '-in', file('content.txt'), '-signer', file(`${signer}.pem`), '-inkey', file(`${signer}.key`), '-outform', 'DER', '-out', file(`${signer}.p7m`));
  return readFileSync(file(`${signer}.p7m`));
}

async function verify(on: TestService, bytes: Buffer): Promise<any> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), 'signed.p7m');
  const response = await fetch(`${on.url}/v1/verify`, { method: 'POST', body: form });
  assert.equal(response.status, 200);
  return ((await response.json()) as any).signatures[0];
}

describe('trusted lists (--trust-list, ETSI TS 119 612)', () => {
  test('a national list naming the CA as CA/QC granted makes its signatures trusted, and the anchor names the list and service', async () => {
    const report = await verify(national, opensslCades('qualified'));
    assert.deepEqual([report.indication, report.trusted], ['TOTAL_PASSED', true], JSON.stringify(report));
    const anchor = report.certificates.at(-1);
    assert.equal(anchor.trustAnchor, true);
    assert.deepEqual(
      { territory: anchor.trustedList.territory, provider: anchor.trustedList.provider, service: anchor.trustedList.service, type: anchor.trustedList.type },
      { territory: 'LU', provider: 'Test QTSP', service: 'Test Qualified CA', type: 'http://uri.etsi.org/TrstSvc/Svctype/CA/QC' },
    );
    assert.match(anchor.trustedList.list, /tl\.xml$/);
  });

  test('the list of lists is followed to the national list it points to, whose signer its pointer names', async () => {
    const report = await verify(throughLotl, opensslCades('qualified'));
    assert.deepEqual([report.indication, report.certificates.at(-1).trustedList.list], ['TOTAL_PASSED', `${base}/tl.xml`], JSON.stringify(report));
  });

  test('a withdrawn service anchors nothing', async () => {
    const report = await verify(national, opensslCades('orphan'));
    assert.deepEqual([report.indication, report.subIndication, report.trusted], ['INDETERMINATE', 'NO_CERTIFICATE_CHAIN_FOUND', false]);
  });

  test('lists are read again (--trust-list-refresh): a service granted since anchors at once; a list that no longer verifies keeps the previous anchors', async () => {
    const refreshing = await startTestService({
      files: { 'tl-signer.pem': readFileSync(file('tl-signer.pem')) },
      flags: [`--trust-list=${base}/live.xml`, '--trust-list-signers=tl-signer.pem', '--outbound-allow=127.0.0.1', '--trust-list-refresh=1s', '--verify-offline'],
    });
    try {
      const orphan = opensslCades('orphan');
      assert.equal((await verify(refreshing, orphan)).trusted, false, 'withdrawn at start');
      live = readFileSync(file('tl-regranted.xml'));
      const deadline = Date.now() + 20_000;
      while (!(await verify(refreshing, orphan)).trusted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal((await verify(refreshing, orphan)).trusted, true, 'granted after a refresh');
      // A list changed by one byte does not verify: the anchors read before stay.
      live = Buffer.from(readFileSync(file('tl-regranted.xml'), 'latin1').replace('Withdrawn CA</tsl:Name>', 'Withdrawn CB</tsl:Name>'), 'latin1');
      // Readings do not overlap: once a third fetch starts, the second — wholly after the change — was applied.
      const readsBefore = liveReads;
      while (liveReads < readsBefore + 3) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await verify(refreshing, orphan)).trusted, true, 'the last good list stays in force');
    } finally {
      live = readFileSync(file('tl.xml'));
      await refreshing.stop();
    }
  });

  test('a list with one byte changed, or signed by another key, is refused at start, saying why', async () => {
    const original = readFileSync(file('tl.xml'), 'latin1');
    const tampered = original.replace('Test Qualified CA</tsl:Name>', 'Test Qualified CB</tsl:Name>');
    assert.notEqual(tampered, original);
    signedList('tl-other', { type: 'EUgeneric', territory: 'LU', signer: 'lotl-signer', providers: '' });
    for (const [name, content, message] of [
      ['tl-tampered.xml', tampered, /--trust-list: .*tl-tampered\.xml is refused: its signature does not hold: digest_mismatch/],
      ['tl-other.xml', readFileSync(file('tl-other.xml'), 'latin1'), /--trust-list: .*tl-other\.xml is refused: it is signed by "CN=Test LOTL signer, C=EU", which is not among the expected signers/],
    ] as const) {
      const workFolder = await mkdtemp(path.join(tmpdir(), 'signet-tl-'));
      started.push(workFolder);
      await assert.rejects(
        startTestService({ workFolder, files: { [name]: content, 'tl-signer.pem': readFileSync(file('tl-signer.pem')) }, flags: [`--trust-list=${name}`, '--trust-list-signers=tl-signer.pem'] }),
        message,
      );
    }
    writeFileSync(file('tl-tampered.xml'), tampered);
    assert.notEqual(run('xmlsec1', ['--verify', '--trusted-pem', file('tl-signer.pem'), file('tl-tampered.xml')]).status, 0, 'xmlsec1 refuses the changed list too');
  });
});
