import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';
import { ZeepClient, type ZeepAuth } from './support/zeep-client.js';

/**
 * API.md §10 driven by an independent SOAP client: Debian's python3-zeep generates its calls from
 * the WSDL Signet serves, as .NET, Java or 1C clients do, and talks SOAP 1.1 and 1.2 over real HTTP.
 * Hostile and malformed envelopes are sent raw (no client library would send them).
 */

const helloWorld = await readFile(path.join(import.meta.dirname, '../../shared/testdata/cms/hello-world.txt'));
const BASIC_A: ZeepAuth = { mode: 'basic', id: 'client-a', secret: 'secret-a' };
const WSSE_A: ZeepAuth = { mode: 'wsse', id: 'client-a', secret: 'secret-a' };
const BASIC_B: ZeepAuth = { mode: 'basic', id: 'client-b', secret: 'secret-b' };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NS = 'urn:signet:copytrust:v1';
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

const sha = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

async function completed(zeep: ZeepClient, taskId: string, auth: ZeepAuth, binding: '1.1' | '1.2' = '1.1') {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await zeep.call('GetTaskInfo', { TaskID: taskId }, auth, binding);
    assert.ok(info.ok, JSON.stringify(info));
    if (!['Pending', 'Running'].includes(info.ok.Status) || Date.now() > deadline) return info.ok;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const store of testStores()) {
  describe(`COPYTRUST SOAP through zeep (${store})`, () => {
    let service: TestService;
    let zeep: ZeepClient;
    let scratch: string;

    before(async () => {
      service = await startTestService({ store });
      zeep = new ZeepClient(`${service.url}/copytrust/soap?wsdl`);
      scratch = await mkdtemp(path.join(tmpdir(), 'signet-soap-'));
    });
    after(async () => {
      zeep.close();
      await service.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    test('SOAP 1.1 with HTTP Basic: a file registers to Completed; its RID, hashes and token verify (openssl ts -verify)', async () => {
      const submitted = await zeep.call(
        'SubmitFileRegistrationTask',
        { FileName: 'hello world.txt', FileData: helloWorld.toString('base64'), Title: 'Hello', Description: 'über', UserID: 'u-1', UserEMail: 'alice@example.org' },
        BASIC_A,
      );
      assert.match(submitted.ok, GUID, JSON.stringify(submitted));
      const task = await completed(zeep, submitted.ok, BASIC_A);
      assert.equal(task.Status, 'Completed', JSON.stringify(task));
      assert.equal(task.TaskID, submitted.ok);
      assert.match(task.RID, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-.$/);
      assert.ok(task.CreatedAt && task.FinishedAt && task.ErrorCode === null);

      const registration = (await zeep.call('GetRegistrationInfo', { RID: task.RID }, BASIC_A)).ok;
      assert.equal(registration.RID, task.RID);
      assert.equal(registration.SHA1, sha('sha1', helloWorld));
      assert.equal(registration.SHA256, sha('sha256', helloWorld));
      assert.equal(registration.Size, helloWorld.length);
      assert.equal(registration.FileName, 'hello world.txt');
      assert.equal(registration.Title, 'Hello');
      assert.equal(registration.Description, 'über');
      assert.equal(registration.UserID, 'u-1');
      assert.equal(registration.UserEMail, 'alice@example.org');
      assert.equal(registration.Url, null);
      assert.equal(new URL(registration.PageUrl).pathname, `/r/${task.RID}`);
      assert.equal((await fetch(`${service.url}${new URL(registration.PageUrl).pathname}`)).status, 200);

      const dataFile = path.join(scratch, 'hello.txt');
      const tokenFile = path.join(scratch, 'token.der');
      const caFile = path.join(scratch, 'ca.pem');
      await writeFile(dataFile, helloWorld);
      await writeFile(tokenFile, Buffer.from(registration.TimestampToken, 'base64'));
      await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
      const verified = run('openssl', ['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', caFile]);
      assert.equal(verified.status, 0, verified.stderr);
      assert.match(verified.stdout, /Verification: OK/);
      await writeFile(dataFile, Buffer.concat([helloWorld, Buffer.from('!')]));
      assert.notEqual(run('openssl', ['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', caFile]).status, 0);

      // The absolute download links (built from the advertised host) work with the client's credentials.
      const local = (url: string) => `${service.url}${new URL(url).pathname}`;
      const certificate = await fetch(local(registration.CertificateUrl), { headers: { authorization: basicAuth('client-a', 'secret-a') } });
      assert.equal(certificate.status, 200);
      assert.equal(certificate.headers.get('content-type'), 'application/pdf');
      const evidence = await fetch(local(registration.EvidenceUrl), { headers: { authorization: basicAuth('client-a', 'secret-a') } });
      assert.equal(evidence.status, 200);
    });

    test('SOAP 1.2 with a WS-Security UsernameToken: submit, follow, check by SHA1 (default) and SHA256', async () => {
      const content = Buffer.from(`registered over SOAP 1.2 ${store} ${Date.now()}`);
      const submitted = await zeep.call('SubmitFileRegistrationTask', { FileName: 'note.txt', FileData: content.toString('base64'), UserID: 'u-2', UserEMail: 'bob@example.org' }, WSSE_A, '1.2');
      assert.match(submitted.ok, GUID, JSON.stringify(submitted));
      const task = await completed(zeep, submitted.ok, WSSE_A, '1.2');
      assert.equal(task.Status, 'Completed');

      const bySha1 = (await zeep.call('CheckRegistrationByDataHash', { Hash: sha('sha1', content) }, WSSE_A, '1.2')).ok;
      assert.equal(bySha1.Registered, true);
      assert.deepEqual(bySha1.Registration.map((r: any) => [r.RID, r.UserID]), [[task.RID, 'u-2']]);
      assert.ok(bySha1.Registration[0].RegisteredAt);
      const bySha256 = (await zeep.call('CheckRegistrationByDataHash', { Hash: sha('sha256', content).toUpperCase(), HashAlgorithm: 'SHA256' }, BASIC_A)).ok;
      assert.equal(bySha256.Registered, true);
      assert.equal(bySha256.Registration[0].RID, task.RID);
      const unknown = (await zeep.call('CheckRegistrationByDataHash', { Hash: sha('sha256', Buffer.from('never sent')), HashAlgorithm: 'SHA256' }, BASIC_A)).ok;
      assert.deepEqual({ registered: unknown.Registered, registrations: unknown.Registration }, { registered: false, registrations: [] });
      // Within the calling client service only.
      assert.equal((await zeep.call('CheckRegistrationByDataHash', { Hash: sha('sha1', content) }, BASIC_B)).ok.Registered, false);
      const badHash = await zeep.call('CheckRegistrationByDataHash', { Hash: 'abc', HashAlgorithm: 'SHA256' }, BASIC_A);
      assert.equal(badHash.fault?.detailCode, 'invalid_request', JSON.stringify(badHash));
    });

    test('another client’s task or RID is a not_found fault; wrong or missing credentials are unauthorized', async () => {
      const submitted = await zeep.call('SubmitFileRegistrationTask', { FileName: 'a.txt', FileData: Buffer.from('private').toString('base64'), UserID: 'u-3', UserEMail: 'carol@example.org' }, BASIC_A);
      const task = await completed(zeep, submitted.ok, BASIC_A);
      const otherTask = await zeep.call('GetTaskInfo', { TaskID: submitted.ok }, BASIC_B);
      assert.equal(otherTask.fault?.detailCode, 'not_found', JSON.stringify(otherTask));
      assert.match(otherTask.fault!.code, /Client/);
      const otherRid = await zeep.call('GetRegistrationInfo', { RID: task.RID }, BASIC_B, '1.2');
      assert.equal(otherRid.fault?.detailCode, 'not_found');
      assert.match(otherRid.fault!.code, /Sender/);
      const mistyped = await zeep.call('GetRegistrationInfo', { RID: task.RID.slice(0, -1) + (task.RID.endsWith('0') ? '1' : '0') }, BASIC_A);
      assert.equal(mistyped.fault?.detailCode, 'invalid_rid');

      for (const auth of [{ mode: 'basic', id: 'client-a', secret: 'wrong' }, { mode: 'wsse', id: 'client-a', secret: 'wrong' }, { mode: 'none' }] as ZeepAuth[]) {
        const answer = await zeep.call('GetTaskInfo', { TaskID: submitted.ok }, auth);
        assert.equal(answer.fault?.detailCode, 'unauthorized', `${auth.mode}: ${JSON.stringify(answer)}`);
      }
    });

    test('the same ExternalReference with the same content returns the same TaskID; other content is refused', async () => {
      const args = { FileName: 'invoice.xml', FileData: Buffer.from('<invoice n="1"/>').toString('base64'), UserID: 'u-4', UserEMail: 'dan@example.org', ExternalReference: `ref-${store}` };
      const first = await zeep.call('SubmitFileRegistrationTask', args, BASIC_A);
      const again = await zeep.call('SubmitFileRegistrationTask', args, WSSE_A);
      assert.match(first.ok, GUID);
      assert.equal(again.ok, first.ok);
      const other = await zeep.call('SubmitFileRegistrationTask', { ...args, FileData: Buffer.from('<invoice n="2"/>').toString('base64') }, BASIC_A);
      assert.equal(other.fault?.detailCode, 'duplicate_external_reference', JSON.stringify(other));
      const invalid = await zeep.call('SubmitFileRegistrationTask', { ...args, ExternalReference: undefined, UserEMail: 'not an address' }, BASIC_A);
      assert.equal(invalid.fault?.detailCode, 'invalid_request');
      assert.match(invalid.fault!.message, /userEmail|e-mail/i);
    });
  });
}

describe('COPYTRUST SOAP: the WSDL, URL registrations, raw and hostile envelopes', () => {
  let service: TestService;
  let open: TestService;
  let zeep: ZeepClient;
  let openZeep: ZeepClient;
  let page: http.Server;
  let pageUrl: string;
  const pageBody = '<html><body>a page worth registering</body></html>';

  before(async () => {
    service = await startTestService({ flags: ['--public-url=https://signet.example.org', '--max-body-size=1mb'] });
    open = await startTestService({ flags: ['--outbound-allow=127.0.0.1'] });
    page = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(pageBody));
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/article`;
    // The WSDL's soap:address is the public URL; zeep is pointed at this instance instead.
    zeep = new ZeepClient(`${service.url}/copytrust/soap?wsdl`, `${service.url}/copytrust/soap`);
    openZeep = new ZeepClient(`${open.url}/copytrust/soap?wsdl`);
  });
  after(async () => {
    zeep.close();
    openZeep.close();
    page.close();
    await service.stop();
    await open.stop();
  });

  test('the WSDL is served without authentication: document/literal wrapped, two bindings, soap:address from --public-url', async () => {
    for (const query of ['wsdl', 'WSDL', 'singleWsdl']) {
      const response = await fetch(`${service.url}/copytrust/soap?${query}`);
      assert.equal(response.status, 200, query);
      assert.match(response.headers.get('content-type') ?? '', /xml/);
      const wsdl = await response.text();
      assert.match(wsdl, /targetNamespace="urn:signet:copytrust:v1"/);
      assert.match(wsdl, /elementFormDefault="qualified"/);
      assert.match(wsdl, /<soap:address location="https:\/\/signet\.example\.org\/copytrust\/soap"\/>/);
      assert.match(wsdl, /<soap12:address location="https:\/\/signet\.example\.org\/copytrust\/soap"\/>/);
      for (const operation of ['SubmitFileRegistrationTask', 'SubmitUrlRegistrationTask', 'GetTaskInfo', 'GetRegistrationInfo', 'CheckRegistrationByDataHash']) {
        assert.match(wsdl, new RegExp(`soapAction="urn:signet:copytrust:v1/${operation}"`));
        assert.match(wsdl, new RegExp(`<xs:element name="${operation}Response">`));
      }
      assert.doesNotMatch(wsdl, /<xs:import|<wsdl:import|<xs:include/);
    }
    // xmllint (libxml2, independent of Signet) reads it as well-formed XML; the schema inside it compiles.
    const wsdl = await (await fetch(`${service.url}/copytrust/soap?wsdl`)).text();
    const folder = await mkdtemp(path.join(tmpdir(), 'signet-wsdl-'));
    try {
      await writeFile(path.join(folder, 'service.wsdl'), wsdl);
      const schema = /<xs:schema[\s\S]*<\/xs:schema>/.exec(wsdl)![0].replace('<xs:schema ', '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:signet:copytrust:v1" ');
      await writeFile(path.join(folder, 'types.xsd'), schema);
      const request = `<GetTaskInfo xmlns="${NS}"><TaskID>01a25251-f365-7546-bf3c-4a3aa042b460</TaskID></GetTaskInfo>`;
      await writeFile(path.join(folder, 'request.xml'), request);
      const valid = run('xmllint', ['--noout', '--schema', path.join(folder, 'types.xsd'), path.join(folder, 'request.xml')]);
      assert.equal(valid.status, 0, valid.stderr);
      await writeFile(path.join(folder, 'bad.xml'), request.replace('01a25251-f365-7546-bf3c-4a3aa042b460', 'not-a-guid'));
      assert.notEqual(run('xmllint', ['--noout', '--schema', path.join(folder, 'types.xsd'), path.join(folder, 'bad.xml')]).status, 0);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('a URL registration is a url_not_allowed fault without the allow-list and Completed with it', async () => {
    const refused = await zeep.call('SubmitUrlRegistrationTask', { Url: pageUrl, UserID: 'u-5', UserEMail: 'erin@example.org' }, BASIC_A);
    assert.equal(refused.fault?.detailCode, 'url_not_allowed', JSON.stringify(refused));
    assert.match(refused.fault!.code, /Client/);

    const submitted = await openZeep.call('SubmitUrlRegistrationTask', { Url: pageUrl, Title: 'Article', UserID: 'u-5', UserEMail: 'erin@example.org' }, BASIC_A);
    assert.match(submitted.ok, GUID, JSON.stringify(submitted));
    const task = await completed(openZeep, submitted.ok, BASIC_A);
    assert.equal(task.Status, 'Completed', JSON.stringify(task));
    const registration = (await openZeep.call('GetRegistrationInfo', { RID: task.RID }, BASIC_A)).ok;
    assert.equal(registration.Url, pageUrl);
    assert.equal(registration.FileName, null);
    assert.equal(registration.SHA256, sha('sha256', Buffer.from(pageBody)));
    assert.equal(registration.Title, 'Article');
  });

  async function post(body: string | Buffer, contentType = 'text/xml; charset=utf-8', headers: Record<string, string> = { authorization: basicAuth('client-a', 'secret-a') }) {
    const response = await fetch(`${service.url}/copytrust/soap`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  const envelope = (body: string, header = '', namespace = SOAP11) =>
    `<?xml version="1.0"?><s:Envelope xmlns:s="${namespace}">${header && `<s:Header>${header}</s:Header>`}<s:Body>${body}</s:Body></s:Envelope>`;

  const usernameToken = (username: string, password: string) =>
    `<w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><w:UsernameToken><w:Username>${username}</w:Username>` +
    `<w:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">${password}</w:Password></w:UsernameToken></w:Security>`;

  function faultCode(text: string): string | undefined {
    return /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  }

  test('malformed, XXE, DTD, unknown-operation and mustUnderstand envelopes are faults; the service stays up', async () => {
    const cases: Array<{ name: string; body: string; code: string }> = [
      { name: 'not XML', body: 'this is not xml', code: 'invalid_envelope' },
      { name: 'unclosed', body: envelope(`<GetTaskInfo xmlns="${NS}"><TaskID>x</TaskID>`).replace('</s:Envelope>', ''), code: 'invalid_envelope' },
      {
        name: 'XXE',
        body: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${envelope(`<GetRegistrationInfo xmlns="${NS}"><RID>&x;</RID></GetRegistrationInfo>`)}`,
        code: 'invalid_envelope',
      },
      {
        name: 'billion laughs',
        body: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${envelope(`<GetRegistrationInfo xmlns="${NS}"><RID>&b;</RID></GetRegistrationInfo>`)}`,
        code: 'invalid_envelope',
      },
      { name: 'undeclared entity', body: envelope(`<GetRegistrationInfo xmlns="${NS}"><RID>&x;</RID></GetRegistrationInfo>`), code: 'invalid_envelope' },
      { name: 'not an envelope', body: `<GetTaskInfo xmlns="${NS}"/>`, code: 'invalid_envelope' },
      { name: 'unknown operation', body: envelope(`<DeleteEverything xmlns="${NS}"/>`), code: 'unknown_operation' },
      { name: 'operation in another namespace', body: envelope('<GetTaskInfo xmlns="urn:other"><TaskID>x</TaskID></GetTaskInfo>'), code: 'unknown_operation' },
      { name: 'unknown element', body: envelope(`<GetTaskInfo xmlns="${NS}"><TaskId>x</TaskId></GetTaskInfo>`), code: 'invalid_request' },
      { name: 'missing element', body: envelope(`<GetTaskInfo xmlns="${NS}"/>`), code: 'invalid_request' },
      { name: 'deep nesting', body: envelope(`<GetTaskInfo xmlns="${NS}"/>`, `${'<a>'.repeat(200)}${'</a>'.repeat(200)}`), code: 'invalid_envelope' },
      {
        name: 'mustUnderstand header',
        body: envelope(`<GetTaskInfo xmlns="${NS}"><TaskID>x</TaskID></GetTaskInfo>`, '<t:Transaction xmlns:t="urn:tx" s:mustUnderstand="1">5</t:Transaction>'),
        code: 'must_understand',
      },
      { name: 'too many attributes', body: envelope(`<GetTaskInfo xmlns="${NS}"/>`, `<h ${Array.from({ length: 300 }, (_, i) => `a${i}=""`).join(' ')}/>`), code: 'invalid_envelope' },
      {
        name: 'two WS-Security headers',
        body: envelope(`<GetTaskInfo xmlns="${NS}"><TaskID>x</TaskID></GetTaskInfo>`, `${usernameToken('client-a', 'secret-a')}${usernameToken('client-b', 'secret-b')}`),
        code: 'unauthorized',
      },
      { name: 'bad cid: URL', body: envelope(`<SubmitFileRegistrationTask xmlns="${NS}"><FileName>a</FileName><FileData><x:Include xmlns:x="http://www.w3.org/2004/08/xop/include" href="cid:%E0%A4%A"/></FileData><UserID>u</UserID><UserEMail>a@b.cc</UserEMail></SubmitFileRegistrationTask>`), code: 'invalid_request' },
      { name: 'bad base64', body: envelope(`<SubmitFileRegistrationTask xmlns="${NS}"><FileName>a</FileName><FileData>@@@@</FileData><UserID>u</UserID><UserEMail>a@b.cc</UserEMail></SubmitFileRegistrationTask>`), code: 'invalid_base64' },
    ];
    for (const { name, body, code } of cases) {
      const answer = await post(body);
      assert.equal(answer.status, 500, `${name}: ${answer.text}`);
      assert.match(answer.type, /^text\/xml/, name);
      assert.match(answer.text, /<soap:Fault><faultcode>soap:(Client|MustUnderstand)<\/faultcode>/, `${name}: ${answer.text}`);
      assert.equal(faultCode(answer.text), code, `${name}: ${answer.text}`);
      assert.doesNotMatch(answer.text, /root:/, `${name}: a file's content leaked`);
    }
    // SOAP 1.2: a Sender fault is HTTP 400 with the SOAP 1.2 fault structure.
    const soap12 = await post(envelope(`<DeleteEverything xmlns="${NS}"/>`, '', SOAP12), 'application/soap+xml; charset=utf-8');
    assert.equal(soap12.status, 400);
    assert.match(soap12.type, /^application\/soap\+xml/);
    assert.match(soap12.text, /<soap:Code><soap:Value>soap:Sender<\/soap:Value><\/soap:Code>/);
    assert.equal(faultCode(soap12.text), 'unknown_operation');
    // Another envelope namespace is a VersionMismatch fault.
    const mismatch = await post(envelope(`<GetTaskInfo xmlns="${NS}"/>`, '', 'urn:not-soap'));
    assert.match(mismatch.text, /<faultcode>soap:VersionMismatch<\/faultcode>/, mismatch.text);
    assert.equal(faultCode(mismatch.text), 'version_mismatch');
    // WS-Security followed by WS-Addressing headers (as WCF sends them): the token still counts.
    const addressed = await post(
      envelope(
        `<GetTaskInfo xmlns="${NS}"><TaskID>01a25251-f365-7546-bf3c-4a3aa042b460</TaskID></GetTaskInfo>`,
        `${usernameToken('client-a', 'secret-a')}<a:To xmlns:a="http://www.w3.org/2005/08/addressing" s:mustUnderstand="1">${service.url}/copytrust/soap</a:To>`,
      ),
      'text/xml',
      {},
    );
    assert.equal(faultCode(addressed.text), 'not_found', addressed.text);
    // A PasswordDigest token cannot be checked against hashed secrets: refused with a reason.
    const digest = await post(
      envelope(
        `<GetTaskInfo xmlns="${NS}"><TaskID>01a25251-f365-7546-bf3c-4a3aa042b460</TaskID></GetTaskInfo>`,
        `<w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><w:UsernameToken><w:Username>client-a</w:Username><w:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">x</w:Password></w:UsernameToken></w:Security>`,
      ),
      'text/xml',
      {},
    );
    assert.equal(faultCode(digest.text), 'unauthorized');
    assert.match(digest.text, /PasswordText/);
    // Wrong media type, and a body over --max-body-size (1 MB here), inline.
    assert.equal(faultCode((await post('{}', 'application/json')).text), 'unsupported_media_type');
    const big = Buffer.alloc(1024 * 1024, 7).toString('base64');
    const oversize = await post(envelope(`<SubmitFileRegistrationTask xmlns="${NS}"><FileName>a</FileName><FileData>${big}</FileData><UserID>u</UserID><UserEMail>a@b.cc</UserEMail></SubmitFileRegistrationTask>`));
    assert.equal(faultCode(oversize.text), 'payload_too_large');
    // Still up and answering correctly.
    const alive = await zeep.call('CheckRegistrationByDataHash', { Hash: sha('sha1', Buffer.from('x')) }, BASIC_A);
    assert.equal(alive.ok?.Registered, false, JSON.stringify(alive));
  });

  test('a title or user id holding characters XML cannot carry (taken in by the JSON API) still gives well-formed answers', async () => {
    const response = await fetch(`${service.url}/v1/registrations/file`, {
      method: 'POST',
      headers: { authorization: basicAuth('client-a', 'secret-a'), 'content-type': 'application/json', prefer: 'wait=20' },
      body: JSON.stringify({ content: Buffer.from('control characters').toString('base64'), title: 'bell\u0007 and \u000b tab', userId: 'u\u0001x', userEmail: 'ctl@example.org' }),
    });
    const { rid } = (await response.json()) as any;
    assert.ok(rid);
    const answer = await post(envelope(`<GetRegistrationInfo xmlns="${NS}"><RID>${rid}</RID></GetRegistrationInfo>`));
    assert.equal(answer.status, 200, answer.text);
    const folder = await mkdtemp(path.join(tmpdir(), 'signet-ctl-'));
    try {
      await writeFile(path.join(folder, 'answer.xml'), answer.text);
      const parsed = run('xmllint', ['--noout', path.join(folder, 'answer.xml')]);
      assert.equal(parsed.status, 0, parsed.stderr);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    const registration = (await zeep.call('GetRegistrationInfo', { RID: rid }, BASIC_A)).ok;
    assert.equal(registration.UserID, 'u\ufffdx');
    assert.equal(registration.Title, 'bell\ufffd and \ufffd tab');
  });

  test('MTOM: FileData as an xop:Include attachment registers the attachment’s exact bytes', async () => {
    const content = Buffer.concat([Buffer.from('binary \r\n--not-the-boundary\r\n'), Buffer.from([0, 1, 2, 255, 13, 10])]);
    const boundary = 'uuid:4b5a2a55-mtom-boundary';
    const root = envelope(
      `<SubmitFileRegistrationTask xmlns="${NS}"><FileName>scan.bin</FileName><FileData><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:file%40signet.test"/></FileData><UserID>u-6</UserID><UserEMail>fay@example.org</UserEMail></SubmitFileRegistrationTask>`,
    );
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <root@signet.test>\r\n\r\n${root}\r\n` +
          `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <file@signet.test>\r\n\r\n`,
      ),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const answer = await post(body, `multipart/related; type="application/xop+xml"; start="<root@signet.test>"; start-info="text/xml"; boundary="${boundary}"`);
    assert.equal(answer.status, 200, answer.text);
    const taskId = /<TaskID>([^<]+)<\/TaskID>/.exec(answer.text)![1];
    const task = await completed(zeep, taskId, BASIC_A);
    assert.equal(task.Status, 'Completed');
    const registration = (await zeep.call('GetRegistrationInfo', { RID: task.RID }, BASIC_A)).ok;
    assert.equal(registration.SHA256, sha('sha256', content));
    assert.equal(registration.Size, content.length);

    // An Include naming an attachment the request does not hold.
    const missing = await post(
      Buffer.from(`--${boundary}\r\nContent-Type: application/xop+xml; type="text/xml"\r\nContent-ID: <root@signet.test>\r\n\r\n${root}\r\n--${boundary}--\r\n`),
      `multipart/related; type="application/xop+xml"; start="<root@signet.test>"; boundary="${boundary}"`,
    );
    assert.equal(faultCode(missing.text), 'invalid_request', missing.text);
    assert.match(missing.text, /cid:file@signet\.test/);
  });
});
