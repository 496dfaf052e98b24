import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { textPdf } from './support/pdf-bytes.js';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';

const shared = path.join(import.meta.dirname, '../../shared');
const testdata = path.join(shared, 'testdata');
const examples = path.join(shared, 'signstash');
const BASE = '/signstash/einvoice-integration-client-ws';

const minimalPdf = await readFile(path.join(testdata, 'pdf/minimal.pdf'));
const ublInvoice = await readFile(path.join(testdata, 'xml/ubl-tc434-example1.xml'));
const example = (name: string) => readFile(path.join(examples, name), 'utf8').then((text) => JSON.parse(text));

/** A 2×2 opaque RGB PNG (ISO/IEC 15948): signature, IHDR, IDAT, IEND. */
function tinyPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.from([0, 255, 0, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** ISO-8601 with an offset, as Sign'Stash clients parse it. */
const isoWithOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The example request of ../shared/signstash, field by field, with real documents in it. */
async function exampleRequest(reference: string, overrides: { pdf?: Buffer; xml?: Buffer } = {}) {
  const request = await example('sign-request-base64.json');
  request.externalReference = reference;
  request.documents[0].documentRequest.externalReference = `${reference}-pdf`;
  request.documents[0].documentRequest.base64Content = (overrides.pdf ?? minimalPdf).toString('base64');
  request.documents[1].documentRequest.externalReference = `${reference}-xml`;
  request.documents[1].documentRequest.base64Content = (overrides.xml ?? ublInvoice).toString('base64');
  return request;
}

/** Every field of the example answer is there with the same JSON type (values differ). */
function assertSameShape(actual: any, expected: any, where = '$', optional: string[] = []): void {
  for (const [key, value] of Object.entries(expected)) {
    if (optional.includes(key) && !(key in actual)) continue;
    assert.ok(key in actual, `${where}.${key} is missing in ${JSON.stringify(actual).slice(0, 400)}`);
    if (value === null) continue;
    if (Array.isArray(value)) {
      assert.ok(Array.isArray(actual[key]), `${where}.${key} is not an array`);
      if (value.length > 0) for (const [i, item] of actual[key].entries()) assertSameShape(item, value[0], `${where}.${key}[${i}]`, optional);
    } else if (typeof value === 'object') {
      assertSameShape(actual[key], value, `${where}.${key}`, optional);
    } else {
      assert.equal(typeof actual[key], typeof value, `${where}.${key} should be a ${typeof value}`);
    }
  }
}

for (const store of testStores()) describe(`Sign'Stash compatibility surface (${store})`, () => {
  let service: TestService;
  let scratch: string;
  let caFile: string;
  let nssDir: string;
  let token: string;

  before(async () => {
    service = await startTestService({ store });
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-signstash-'));
    caFile = path.join(scratch, 'ca.pem');
    await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
    nssDir = path.join(scratch, 'nss');
    await mkdir(nssDir);
    assert.equal(run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password']).status, 0);
    assert.equal(run('certutil', ['-A', '-d', `sql:${nssDir}`, '-n', 'signet-ca', '-t', 'CT,C,C', '-i', caFile]).status, 0);
    token = (await requestToken(service.url)).access_token;
  });
  after(async () => {
    await service.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function requestToken(url: string) {
    const response = await fetch(`${url}/oauth2/authorization-server/oauth/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('client-a', 'secret-a'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(response.status, 200);
    return (await response.json()) as any;
  }

  async function call(method: string, route: string, body?: unknown, authorization = `Bearer ${token}`) {
    const response = await fetch(`${service.url}${BASE}${route}`, {
      method,
      headers: { authorization, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, body: json, headers: response.headers };
  }

  async function pdfsig(name: string, pdf: Buffer): Promise<string> {
    const file = path.join(scratch, name);
    await writeFile(file, pdf);
    return run('pdfsig', [...PDFSIG_OFFLINE, '-nssdir', `sql:${nssDir}`, file]).stdout;
  }

  async function xmlsecVerify(name: string, xml: Buffer): Promise<void> {
    const file = path.join(scratch, name);
    await writeFile(file, xml);
    const result = run('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file]);
    assert.equal(result.status, 0, result.stderr);
  }

  async function waitExecuted(id: number) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { status, body } = await call('GET', `/api/v0/operation/status/${id}`);
      assert.equal(status, 200, JSON.stringify(body));
      if (body.status !== 'PENDING_EXECUTION') return body;
      assert.ok(Date.now() < deadline, `operation ${id} still pending`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('the token endpoint answers like the original', async () => {
    const answer = await requestToken(service.url);
    assertSameShape(answer, await example('token-response.json'));
    assert.equal(answer.token_type, 'bearer');
  });

  test('the example request (sync base64) is signed: PDF verifies with pdfsig, XML with xmlsec1, answer shaped like the example', async () => {
    const request = await exampleRequest('sync-1');
    // Optional fields other clients send as null are accepted.
    Object.assign(request.documents[0].signatureInfo.visibleSignatureInfo, { imageType: null, imageValue: null });
    Object.assign(request.documents[1].signatureInfo, { reason: null, location: null, visibleSignatureInfo: null });
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(status, 200, JSON.stringify(body));
    assertSameShape(body, await example('sign-operation-response.json'), '$', ['signError', 'signedContent', 'description']);
    assert.equal(typeof body.id, 'number');
    assert.equal(body.type, 'SIGN');
    assert.equal(body.status, 'EXECUTED');
    assert.equal(body.issuerClientServiceAlias, 'client-a');
    assert.equal(body.folderExternalReference, 'sync-1');
    assert.match(body.creationDate, isoWithOffset);
    assert.deepEqual(
      body.documentList.map((d: any) => [d.externalReference, d.name, d.contentType, d.signStatus]),
      [
        ['sync-1-pdf', 'FT_2026_123.pdf', 'application/pdf', 'SIGNED'],
        ['sync-1-xml', 'FT_2026_123.xml', 'application/xml', 'SIGNED'],
      ],
    );
    for (const doc of body.documentList) assert.match(doc.receptionDate, isoWithOffset);
    assert.equal(new Set(body.documentList.map((d: any) => d.internalId)).size, 2);

    const pdf = Buffer.from(body.documentList[0].signedContent, 'base64');
    assert.equal(body.documentList[0].contentLength, pdf.length);
    assert.ok(pdf.subarray(0, minimalPdf.length).equals(minimalPdf), 'the original bytes are kept');
    const report = await pdfsig('sync-1.pdf', pdf);
    assert.match(report, /Signature is Valid\./);
    // This pdfsig does not print them; the signature dictionary carries them as literal strings.
    assert.match(pdf.toString('latin1'), /\/Reason\s*\(Invoice issued electronically\)/);
    assert.match(pdf.toString('latin1'), /\/Location\s*\(Lisboa\)/);
    // applyTimestamp false → B-B: no signature-time-stamp token (unsigned attribute 1.2.840.113549.1.9.16.2.14).
    const contents = /\/Contents\s*<([0-9A-Fa-f]+)>/.exec(pdf.toString('latin1'))![1];
    assert.doesNotMatch(contents, /060b2a864886f70d010910020e/i);
    // COORDINATE page=1,x=70,y=100 with area width=155,height=50 → a widget at [70 100 225 150].
    assert.match(pdf.toString('latin1'), /\/Rect\s*\[\s*70(\.0+)?\s+100(\.0+)?\s+225(\.0+)?\s+150(\.0+)?\s*\]/);

    const xml = Buffer.from(body.documentList[1].signedContent, 'base64');
    await xmlsecVerify('sync-1.xml', xml);
    assert.ok(xml.includes(Buffer.from('SignatureTimeStamp')), 'applyTimestamp true → XAdES-B-T');
  });

  test('async create answers {id, status, host}; status, detail, ZIP and lookups by reference follow', async () => {
    const created = await call('POST', '/api/v0/async/document/sign/base64/', await exampleRequest('async-1'));
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(Object.keys(created.body).sort(), ['host', 'id', 'status']);
    assert.equal(typeof created.body.id, 'number');
    assert.equal(created.body.status, 'PENDING_EXECUTION');
    assert.match(created.body.host, /:\d+$/);
    const id = created.body.id;

    const status = await waitExecuted(id);
    assertSameShape(status, await example('base-operation-response.json'));
    assert.equal(status.id, id);
    assert.equal(status.status, 'EXECUTED');

    const withoutContent = await call('GET', `/api/v0/operation/sign/detail/${id}/contentInResponse/false`);
    assert.equal(withoutContent.status, 200);
    assert.ok(withoutContent.body.documentList.every((d: any) => d.signStatus === 'SIGNED' && d.signedContent === undefined));
    const withContent = await call('GET', `/api/v0/operation/sign/detail/${id}/contentInResponse/true`);
    assert.ok(withContent.body.documentList.every((d: any) => typeof d.signedContent === 'string'));
    assert.match(await pdfsig('async-1.pdf', Buffer.from(withContent.body.documentList[0].signedContent, 'base64')), /Signature is Valid\./);

    const zip = await fetch(`${service.url}${BASE}/api/v0/operation/sign/detail/${id}/documents`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get('content-type'), 'application/zip');
    const zipFile = path.join(scratch, 'async-1.zip');
    await writeFile(zipFile, Buffer.from(await zip.arrayBuffer()));
    assert.deepEqual(run('unzip', ['-Z1', zipFile]).stdout.trim().split('\n'), ['async-1-pdf.FT_2026_123.pdf', 'async-1-xml.FT_2026_123.xml']);
    const fromZip = Buffer.from(run('unzip', ['-p', zipFile, 'async-1-xml.FT_2026_123.xml']).stdout, 'utf8');
    await xmlsecVerify('async-1-from-zip.xml', fromZip);

    const byDocument = await call('GET', '/api/v0/operation/id/withDocumentExternalReference/async-1-xml');
    assert.equal(byDocument.status, 200);
    assert.equal(byDocument.body, id, 'a bare number');
    assert.equal(byDocument.headers.get('content-type')?.split(';')[0], 'application/json');

    const statusByReference = await call('GET', '/api/v0/async/operation/status/withExternalReference/async-1');
    assert.equal(statusByReference.status, 200);
    assert.deepEqual(statusByReference.body, status);
    const detailByReference = await call('GET', '/api/v0/async/operation/detail/withExternalReference/async-1');
    assert.equal(detailByReference.status, 200);
    assert.equal(detailByReference.body.id, id);
    assert.deepEqual(detailByReference.body.documentList, withContent.body.documentList);

    // Sending the same request again replays the same operation (same number).
    const replay = await call('POST', '/api/v0/async/document/sign/base64/', await exampleRequest('async-1'));
    assert.equal(replay.body.id, id);
    assert.equal(replay.body.status, 'EXECUTED');
  });

  test('multipart: files matched to documents by name, signRequest after the files', async () => {
    const request = await exampleRequest('multipart-1');
    for (const doc of request.documents) delete doc.documentRequest.base64Content;
    const form = new FormData();
    // The XML first although the request lists the PDF first: matched by name.
    form.append('files', new Blob([ublInvoice], { type: 'application/xml' }), 'FT_2026_123.xml');
    form.append('files', new Blob([minimalPdf], { type: 'application/pdf' }), 'FT_2026_123.pdf');
    form.append('signRequest', new Blob([JSON.stringify(request)], { type: 'application/json' }));
    const response = await fetch(`${service.url}${BASE}/api/v0/document/sign/`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    const body = (await response.json()) as any;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'EXECUTED');
    assert.deepEqual(body.documentList.map((d: any) => d.signStatus), ['SIGNED', 'SIGNED']);
    const pdf = Buffer.from(body.documentList[0].signedContent, 'base64');
    assert.match(await pdfsig('multipart-1.pdf', pdf), /Signature is Valid\./);
    await xmlsecVerify('multipart-1.xml', Buffer.from(body.documentList[1].signedContent, 'base64'));
  });

  test('a missing mandatory attribute answers 400 with the Sign\'Stash error body; other errors too', async () => {
    const request = await exampleRequest('missing-1');
    delete request.documents[0].documentRequest.base64Content;
    const missing = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, await example('error-response.json'));

    const nullName = await exampleRequest('missing-2');
    nullName.documents[1].documentRequest.name = null;
    const named = await call('POST', '/api/v0/async/document/sign/base64/', nullName);
    assert.equal(named.status, 400);
    assert.equal(named.body.errorCode, '0.0.2');
    assert.equal(named.body.causeMessage, 'missing signDocumentRequest.documents[1].documentRequest.name');

    const noDocuments = await call('POST', '/api/v0/document/sign/base64/', { externalReference: 'missing-3', documents: [] });
    assert.equal(noDocuments.status, 400);
    assert.equal(noDocuments.body.causeMessage, 'missing signDocumentRequest.documents');

    const badEnum = await exampleRequest('invalid-1');
    badEnum.documents[0].signatureInfo.signatureType = 'JAdES';
    const invalid = await call('POST', '/api/v0/document/sign/base64/', badEnum);
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.errorCode, '0.0.3');
    assert.match(invalid.body.causeMessage, /signDocumentRequest\.documents\[0\]\.signatureInfo\.signatureType/);
    assert.deepEqual(Object.keys(invalid.body).sort(), ['causeMessage', 'errorCode', 'errorCodeDescription']);

    const unknown = await call('GET', '/api/v0/operation/status/987654321');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errorCode, '0.0.4');
    const notNumber = await call('GET', '/api/v0/operation/status/abc');
    assert.equal(notNumber.status, 400);
    assert.equal(notNumber.body.errorCode, '0.0.3');
    const noReference = await call('GET', '/api/v0/operation/id/withDocumentExternalReference/no-such-reference');
    assert.equal(noReference.status, 404);
    assert.ok(noReference.body.causeMessage);
  });

  test('one bad document ends ERROR_SIGNING with its signError while the others sign; none signed → EXECUTION_FAILED', async () => {
    const request = await exampleRequest('partial-1', { pdf: Buffer.from('%PDF-1.7 this is not a PDF') });
    const { body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(body.status, 'EXECUTED');
    assert.equal(body.documentList[0].signStatus, 'ERROR_SIGNING');
    assert.equal(body.documentList[0].signError, 'CONFIGURATION_SIGN_ERROR');
    assert.equal(body.documentList[0].signedContent, undefined);
    assert.equal(body.documentList[1].signStatus, 'SIGNED');
    assert.equal(body.documentList[1].signError, undefined);
    await xmlsecVerify('partial-1.xml', Buffer.from(body.documentList[1].signedContent, 'base64'));

    const zip = await fetch(`${service.url}${BASE}/api/v0/operation/sign/detail/${body.id}/documents`, { headers: { authorization: `Bearer ${token}` } });
    const zipFile = path.join(scratch, 'partial-1.zip');
    await writeFile(zipFile, Buffer.from(await zip.arrayBuffer()));
    assert.deepEqual(run('unzip', ['-Z1', zipFile]).stdout.trim().split('\n'), ['partial-1-xml.FT_2026_123.xml']);

    const allBad = await exampleRequest('failed-1', { pdf: Buffer.from('not a pdf'), xml: Buffer.from('<not xml') });
    const failed = await call('POST', '/api/v0/document/sign/base64/', allBad);
    assert.equal(failed.body.status, 'EXECUTION_FAILED');
    assert.deepEqual(failed.body.documentList.map((d: any) => [d.signStatus, d.signError]), [
      ['ERROR_SIGNING', 'CONFIGURATION_SIGN_ERROR'],
      ['ERROR_SIGNING', 'CONFIGURATION_SIGN_ERROR'],
    ]);
    const noZip = await call('GET', `/api/v0/operation/sign/detail/${failed.body.id}/documents`);
    assert.equal(noZip.status, 409);
    assert.equal(noZip.body.errorCode, '0.0.7');
  });

  test('signatureInfo: XAdES signatureLocation, SIGN_FIELD fills the named field, a missing field or PLACEHOLDER fails only its document', async () => {
    const request = await exampleRequest('advanced-1');
    request.documents[1].signatureInfo.advancedSignatureInfo.signatureLocation = "/*/*[local-name()='AccountingSupplierParty']";
    request.documents[0].documentRequest.base64Content = (await readFile(path.join(testdata, 'pdf/sample-with-empty-signature-fields.pdf'))).toString('base64');
    request.documents[0].signatureInfo.visibleSignatureInfo = { locationType: 'SIGN_FIELD', locationValue: 'signature-test' };
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.documentList.map((d: any) => d.signStatus), ['SIGNED', 'SIGNED']);
    const report = await pdfsig('advanced-1.pdf', Buffer.from(body.documentList[0].signedContent, 'base64'));
    assert.match(report, /Signature is Valid\./);
    assert.match(report, /Signature Field Name: signature-test/);
    const xml = Buffer.from(body.documentList[1].signedContent, 'base64');
    await xmlsecVerify('advanced-1.xml', xml);
    const text = xml.toString('utf8');
    const supplierEnd = text.indexOf('</cac:AccountingSupplierParty>');
    const signatureAt = text.indexOf('<ds:Signature');
    assert.ok(signatureAt > text.indexOf('<cac:AccountingSupplierParty>') && signatureAt < supplierEnd, 'the signature is inside the element named');

    for (const [reference, visible] of [
      ['placeholder-1', { locationType: 'PLACEHOLDER', locationValue: '{{signature}}' }],
      ['no-such-field-1', { locationType: 'SIGN_FIELD', locationValue: 'no-such-field' }],
    ] as const) {
      const request = await exampleRequest(reference);
      request.documents[0].signatureInfo.visibleSignatureInfo = visible;
      const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.status, 'EXECUTED');
      assert.deepEqual(body.documentList.map((d: any) => d.signStatus), ['ERROR_SIGNING', 'SIGNED'], reference);
      assert.equal(body.documentList[0].signError, 'CONFIGURATION_SIGN_ERROR');
    }
  });

  test('multipart as the Java client sends it: signRequest first as a JSON field, files matched by order when names differ', async () => {
    const request = await exampleRequest('multipart-2');
    for (const doc of request.documents) delete doc.documentRequest.base64Content;
    const boundary = 'signstash-boundary-7d1';
    const part = (headers: string, content: Buffer | string) =>
      Buffer.concat([Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
    const body = Buffer.concat([
      part('Content-Disposition: form-data; name="signRequest"\r\nContent-Type: application/json; charset=UTF-8', JSON.stringify(request)),
      part('Content-Disposition: form-data; name="files"; filename="first.pdf"\r\nContent-Type: application/pdf', minimalPdf),
      part('Content-Disposition: form-data; name="files"; filename="second.xml"\r\nContent-Type: application/xml', ublInvoice),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const response = await fetch(`${service.url}${BASE}/api/v0/document/sign/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    const answer = (await response.json()) as any;
    assert.equal(response.status, 200, JSON.stringify(answer));
    assert.deepEqual(answer.documentList.map((d: any) => [d.name, d.signStatus]), [
      ['FT_2026_123.pdf', 'SIGNED'],
      ['FT_2026_123.xml', 'SIGNED'],
    ]);
    assert.match(await pdfsig('multipart-2.pdf', Buffer.from(answer.documentList[0].signedContent, 'base64')), /Signature is Valid\./);

    const noRequest = new FormData();
    noRequest.append('files', new Blob([minimalPdf]), 'a.pdf');
    const missing = await fetch(`${service.url}${BASE}/api/v0/document/sign/`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: noRequest });
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), { errorCode: '0.0.2', errorCodeDescription: 'Mandatory attribute is missing.', causeMessage: 'missing signRequest' });
  });

  test('a native operation gets a number when first looked up here; other client services do not see it', async () => {
    const native = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({
        externalReference: 'native-1',
        signature: { level: 'B-B' },
        documents: [{ externalReference: 'native-1-doc', name: 'n.pdf', content: minimalPdf.toString('base64') }],
      }),
    });
    assert.equal(native.status, 200);
    const number = await call('GET', '/api/v0/operation/id/withDocumentExternalReference/native-1-doc');
    assert.equal(number.status, 200);
    assert.equal(typeof number.body, 'number');
    const status = await call('GET', `/api/v0/operation/status/${number.body}`);
    assert.equal(status.body.status, 'EXECUTED');
    assert.equal(status.body.folderExternalReference, 'native-1');
    assert.equal((await call('GET', '/api/v0/operation/id/withDocumentExternalReference/native-1-doc')).body, number.body, 'stable');

    const other = basicAuth('client-b', 'secret-b');
    assert.equal((await call('GET', `/api/v0/operation/status/${number.body}`, undefined, other)).status, 404);
    assert.equal((await call('GET', '/api/v0/operation/id/withDocumentExternalReference/native-1-doc', undefined, other)).status, 404);
    assert.equal((await call('GET', '/api/v0/async/operation/detail/withExternalReference/native-1', undefined, other)).status, 404);
  });

  test('the OpenAPI description lists the Sign\'Stash routes', async () => {
    const spec = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
    assert.ok(spec.paths[`${BASE}/api/v0/document/sign/base64/`]);
    assert.ok(spec.paths[`${BASE}/api/v0/operation/sign/detail/{operationId}/contentInResponse/{includeContent}`]);
  });

  test('visibleSignatureInfo: an IMAGE_PNG stamp is drawn; a COORDINATE on a page the PDF lacks fails only that document', async () => {
    const request = await exampleRequest('visible-1');
    request.documents[0].signatureInfo.visibleSignatureInfo = {
      templateType: 'ONE_OFF',
      oneOffTemplate: 'Signed by $certificate.getCommonName()',
      locationType: 'COORDINATE',
      locationValue: 'page=1,x=20,y=30',
      area: 'width=200,height=60',
      imageType: 'IMAGE_PNG',
      imageValue: tinyPng().toString('base64'),
    };
    request.documents.push({
      documentRequest: { externalReference: 'visible-1-page9', name: 'page9.pdf', contentType: 'application/pdf', base64Content: minimalPdf.toString('base64') },
      signatureInfo: { signatureType: 'PAdES', visibleSignatureInfo: { locationType: 'COORDINATE', locationValue: 'page=9,x=0,y=0' } },
    });
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.documentList.map((d: any) => [d.signStatus, d.signError]), [
      ['SIGNED', undefined],
      ['SIGNED', undefined],
      ['ERROR_SIGNING', 'CONFIGURATION_SIGN_ERROR'],
    ]);
    const pdf = Buffer.from(body.documentList[0].signedContent, 'base64');
    assert.match(await pdfsig('visible-1.pdf', pdf), /Signature is Valid\./);
    const text = pdf.toString('latin1');
    assert.match(text, /\/Subtype\s*\/Image/);
    assert.match(text, /\/Rect\s*\[\s*20(\.0+)?\s+30(\.0+)?\s+220(\.0+)?\s+90(\.0+)?\s*\]/);
    assert.match(text, /Signet Development Signing/, 'the template names the signer');

    // A JPEG cut short in its first segment is refused at once, by its Sign'Stash name; nothing is signed.
    const jpg = await exampleRequest('visible-2');
    Object.assign(jpg.documents[0].signatureInfo.visibleSignatureInfo, { imageType: 'IMAGE_JPG', imageValue: '/9j/4AAQSkZJRg==' });
    const refused = await call('POST', '/api/v0/document/sign/base64/', jpg);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errorCode, '0.0.3');
    assert.match(refused.body.causeMessage, /^signDocumentRequest\.documents\[0\]\.signatureInfo\.visibleSignatureInfo\.imageValue cannot be used: .*overruns/);
    assert.equal((await call('GET', '/api/v0/async/operation/status/withExternalReference/visible-2')).status, 404);
    Object.assign(jpg.documents[0].signatureInfo.visibleSignatureInfo, { imageValue: tinyPng().toString('base64') });
    const pngAsJpg = await call('POST', '/api/v0/document/sign/base64/', jpg);
    assert.equal(pngAsJpg.status, 400);
    assert.match(pngAsJpg.body.causeMessage, /imageValue cannot be used: it is not a JPEG/);
  });

  test('visibleSignatureInfo: an IMAGE_JPG stamp is embedded as JPEG (DCTDecode) and the signature verifies', async () => {
    const jpegFile = path.join(scratch, 'stamp');
    assert.equal(run('pdftoppm', ['-jpeg', '-scale-to-x', '48', '-scale-to-y', '24', '-singlefile', path.join(testdata, 'pdf/minimal.pdf'), jpegFile]).status, 0);
    const jpeg = await readFile(`${jpegFile}.jpg`);
    const request = await exampleRequest('visible-jpg-1');
    Object.assign(request.documents[0].signatureInfo.visibleSignatureInfo, { imageType: 'IMAGE_JPG', imageValue: jpeg.toString('base64') });
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.documentList.map((d: any) => d.signStatus), ['SIGNED', 'SIGNED']);
    const pdf = Buffer.from(body.documentList[0].signedContent, 'base64');
    assert.match(await pdfsig('visible-jpg-1.pdf', pdf), /Signature is Valid\./);
    const images = run('pdfimages', ['-list', path.join(scratch, 'visible-jpg-1.pdf')]).stdout;
    assert.match(images, /\s48\s+24\s+rgb\s+3\s+8\s+jpeg\s/, images);
    assert.ok(pdf.includes(jpeg), 'the JPEG bytes are embedded unchanged');
  });

  test('PLACEHOLDER: the stamp goes where the page shows the text (plain and FlateDecode content); a PDF without it fails alone', async () => {
    // Line 1 at (72, 700) moved by cm to (122, 700); T* goes down 14; "Sign here: " is 11 glyphs of 6 pt and
    // the kerning -500 moves 6 pt more: the placeholder's baseline origin is (194, 686).
    const invoice = 'q 1 0 0 1 50 0 cm\nBT /F1 12 Tf 14 TL 72 700 Td (Invoice 2026-001) Tj T* [(Sign here: ) -500 ({{signature}})] TJ ET\nQ\n';
    const plain = textPdf([invoice]);
    // Two pages, compressed: SIGN_HERE only on page 2 (its page object is 8 0 R), at (300, 120).
    const flate = textPdf(['BT /F1 12 Tf 72 700 Td (Page one) Tj ET', 'BT /F1 12 Tf 300 120 Td (SIGN_HERE) Tj ET'], { flate: true });
    assert.ok(!flate.includes(Buffer.from('SIGN_HERE')), 'the page text is compressed');
    const request = await exampleRequest('placeholder-2', { pdf: plain });
    request.documents[0].signatureInfo.visibleSignatureInfo = { locationType: 'PLACEHOLDER', locationValue: '{{signature}}', area: 'width=120,height=40' };
    const pdfDocument = (reference: string, pdf: Buffer, placeholder: string) => ({
      documentRequest: { externalReference: reference, name: `${reference}.pdf`, contentType: 'application/pdf', base64Content: pdf.toString('base64') },
      signatureInfo: { signatureType: 'PAdES', visibleSignatureInfo: { locationType: 'PLACEHOLDER', locationValue: placeholder } },
    });
    request.documents.push(pdfDocument('placeholder-2-flate', flate, 'SIGN_HERE'), pdfDocument('placeholder-2-none', minimalPdf, '{{signature}}'));
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', request);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'EXECUTED');
    assert.deepEqual(body.documentList.map((d: any) => [d.signStatus, d.signError]), [
      ['SIGNED', undefined],
      ['SIGNED', undefined],
      ['SIGNED', undefined],
      ['ERROR_SIGNING', 'CONFIGURATION_SIGN_ERROR'],
    ]);

    const rects = async (name: string, pdf: Buffer) => {
      assert.match(await pdfsig(name, pdf), /Signature is Valid\./);
      return [...pdf.toString('latin1').matchAll(/\/Rect\s*\[([^\]]*)\]/g)].map((m) => m[1].trim().split(/\s+/).map(Number));
    };
    const first = Buffer.from(body.documentList[0].signedContent, 'base64');
    assert.deepEqual(await rects('placeholder-2.pdf', first), [[194, 686, 314, 726]]);
    // Poppler finds the same text at that place (its box holds our baseline, its left edge is our x).
    const words = run('pdftotext', ['-bbox', path.join(scratch, 'placeholder-2.pdf'), '-']).stdout;
    const box = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">\{\{signature\}\}<\/word>/.exec(words);
    assert.ok(box, words);
    assert.ok(Math.abs(Number(box[1]) - 194) < 0.5 && 842 - Number(box[3]) < 686 && 842 - Number(box[2]) > 686, box[0]);

    const second = Buffer.from(body.documentList[2].signedContent, 'base64');
    // Default area 155×50, on page 2: the widget names page object 8 as its page, and page 2 lists it.
    assert.deepEqual(await rects('placeholder-2-flate.pdf', second), [[300, 120, 455, 170]]);
    const widget = /\/Subtype\s*\/Widget[\s\S]*?endobj/.exec(second.toString('latin1'))?.[0] ?? '';
    assert.match(widget, /\/P\s+8 0 R/, widget);
    const annots = run('mutool', ['show', path.join(scratch, 'placeholder-2-flate.pdf'), 'pages/2/Annots']);
    assert.match(annots.stdout, /\d+ 0 R/, annots.stdout + annots.stderr);
    assert.doesNotMatch(run('mutool', ['show', path.join(scratch, 'placeholder-2-flate.pdf'), 'pages/1/Annots']).stdout, /\d+ 0 R/);

    // The native view of the same operation names the stable code and the placeholder.
    const native = await fetch(`${service.url}/v1/signatures?externalReference=placeholder-2`, { headers: { authorization: `Bearer ${token}` } });
    const failed = ((await native.json()) as any).items[0].documents[3];
    assert.equal(failed.error.code, 'placeholder_not_found');
    assert.match(failed.error.message, /\{\{signature\}\}/);
  });

  test('signed content above --max-inline-content is refused with 413 naming the ZIP route; the ZIP still serves it', async () => {
    const small = await startTestService({ store, flags: ['--max-inline-content=1kb'] });
    try {
      const smallToken = (await requestToken(small.url)).access_token;
      const smallCall = async (method: string, route: string, body?: unknown) => {
        const response = await fetch(`${small.url}${BASE}${route}`, {
          method,
          headers: { authorization: `Bearer ${smallToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const pdfDocument = (reference: string) => ({
        documentRequest: { externalReference: reference, name: `${reference}.pdf`, contentType: 'application/pdf', base64Content: minimalPdf.toString('base64') },
        signatureInfo: { signatureType: 'PAdES' },
      });

      // Two PDFs of 739 bytes cannot come back in 1 KiB: refused before anything is signed.
      const before = await smallCall('POST', '/api/v0/document/sign/base64/', { externalReference: 'cap-1', returnSignedContent: true, documents: [pdfDocument('cap-1-a'), pdfDocument('cap-1-b')] });
      assert.equal(before.status, 413, JSON.stringify(before.body));
      assert.deepEqual(Object.keys(before.body).sort(), ['causeMessage', 'errorCode', 'errorCodeDescription']);
      assert.match(before.body.causeMessage, /Nothing was signed.*returnSignedContent false.*api\/v0\/operation\/sign\/detail\/\{operationId\}\/documents/);
      assert.equal((await smallCall('GET', '/api/v0/async/operation/status/withExternalReference/cap-1')).status, 404);

      // One PDF fits before signing, not after (the signature adds its reserved room): signed, then 413 naming the operation.
      const after = await smallCall('POST', '/api/v0/document/sign/base64/', { externalReference: 'cap-2', returnSignedContent: true, documents: [pdfDocument('cap-2-a')] });
      assert.equal(after.status, 413, JSON.stringify(after.body));
      const number = Number(/Operation (\d+) holds/.exec(after.body.causeMessage)?.[1]);
      assert.ok(number > 0, after.body.causeMessage);
      assert.match(after.body.causeMessage, new RegExp(`api/v0/operation/sign/detail/${number}/documents`));
      assert.equal((await smallCall('GET', `/api/v0/operation/status/${number}`)).body.status, 'EXECUTED');

      for (const route of [`/api/v0/operation/sign/detail/${number}/contentInResponse/true`, '/api/v0/async/operation/detail/withExternalReference/cap-2']) {
        const refused = await smallCall('GET', route);
        assert.equal(refused.status, 413, route);
        assert.match(refused.body.causeMessage, /--max-inline-content/);
      }
      const withoutContent = await smallCall('GET', `/api/v0/operation/sign/detail/${number}/contentInResponse/false`);
      assert.equal(withoutContent.status, 200);
      assert.equal(withoutContent.body.documentList[0].signStatus, 'SIGNED');
      assert.ok(withoutContent.body.documentList[0].contentLength > 1024);
      const withoutReturn = await smallCall('POST', '/api/v0/document/sign/base64/', { externalReference: 'cap-3', returnSignedContent: false, documents: [pdfDocument('cap-3-a'), pdfDocument('cap-3-b')] });
      assert.equal(withoutReturn.status, 200, 'without returnSignedContent the limit does not apply');

      const zip = await fetch(`${small.url}${BASE}/api/v0/operation/sign/detail/${number}/documents`, { headers: { authorization: `Bearer ${smallToken}` } });
      assert.equal(zip.status, 200);
      const zipFile = path.join(scratch, 'cap-2.zip');
      await writeFile(zipFile, Buffer.from(await zip.arrayBuffer()));
      const unzipped = path.join(scratch, 'cap-2');
      assert.equal(run('unzip', ['-o', zipFile, '-d', unzipped]).status, 0);
      assert.match(await pdfsig('cap-2.pdf', await readFile(path.join(unzipped, 'cap-2-a.cap-2-a.pdf'))), /Signature is Valid\./);
    } finally {
      await small.stop();
    }
  });

  test('100 documents through the sync base64 route are all signed and verify', async () => {
    const documents = Array.from({ length: 100 }, (_, i) => ({
      documentRequest: { externalReference: `bulk-${i}`, name: `invoice-${i}.pdf`, contentType: 'application/pdf', base64Content: minimalPdf.toString('base64') },
      signatureInfo: { signatureType: 'PAdES', reason: `Invoice ${i}`, applyTimestamp: i % 10 === 0 },
    }));
    const { status, body } = await call('POST', '/api/v0/document/sign/base64/', { externalReference: 'bulk', returnSignedContent: true, documents });
    assert.equal(status, 200, JSON.stringify(body).slice(0, 500));
    assert.equal(body.status, 'EXECUTED');
    assert.equal(body.documentList.length, 100);
    assert.ok(body.documentList.every((d: any, i: number) => d.signStatus === 'SIGNED' && d.externalReference === `bulk-${i}`));
    for (const [i, doc] of body.documentList.entries()) {
      const report = await pdfsig(`bulk-${i}.pdf`, Buffer.from(doc.signedContent, 'base64'));
      assert.match(report, /Signature is Valid\./, `document ${i}`);
      assert.match(Buffer.from(doc.signedContent, 'base64').toString('latin1'), new RegExp(`/Reason\\s*\\(Invoice ${i}\\)`));
    }
  });

  test('an unknown or expired token is a 401 with the error body, so clients fetch a new token and retry', async () => {
    const unknown = await call('GET', '/api/v0/operation/status/1', undefined, 'Bearer not-a-token');
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errorCode, '0.0.5');
    assert.match(unknown.headers.get('www-authenticate') ?? '', /Bearer/);
    const none = await fetch(`${service.url}${BASE}/api/v0/operation/status/1`);
    assert.equal(none.status, 401);

    // 3 s, not 1: on a loaded machine the first call with a 1 s token could come after it expired.
    const shortLived = await startTestService({ store, flags: ['--token-ttl=3s'] });
    try {
      const expiring = (await requestToken(shortLived.url)).access_token;
      const url = `${shortLived.url}${BASE}/api/v0/operation/id/withDocumentExternalReference/nothing`;
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${expiring}` } })).status, 404);
      await new Promise((r) => setTimeout(r, 3100));
      const expired = await fetch(url, { headers: { authorization: `Bearer ${expiring}` } });
      assert.equal(expired.status, 401);
      assert.equal(((await expired.json()) as any).errorCode, '0.0.5');
      const fresh = (await requestToken(shortLived.url)).access_token;
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${fresh}` } })).status, 404);
    } finally {
      await shortLived.stop();
    }
  });
});
