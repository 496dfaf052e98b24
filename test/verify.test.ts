import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { run } from './support/tools.js';

const testdata = path.join(import.meta.dirname, '../../shared/testdata');

/** Polls `condition` until it holds (no time limit of its own: the test runner's bounds a hang). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
const read = (name: string) => readFile(path.join(testdata, name));

/**
 * POST /v1/verify (API.md §6) over real HTTP: signatures made by the service itself (checked against
 * pdfsig and openssl, which must agree), tampered copies, the attack and anomaly files of
 * testdata/MANIFEST.md with the verdicts it states, trust anchors, registrations, and refusals.
 */
describe('verification (POST /v1/verify, /verify)', () => {
  let service: TestService;
  let scratch: string;
  const auth = basicAuth('client-a', 'secret-a');

  before(async () => {
    service = await startTestService({
      flags: ['--trust-anchors=extra-anchors.pem,phaos-ca.der'],
      files: { 'extra-anchors.pem': await read('certs/DSSRootCA10.cacert.pem'), 'phaos-ca.der': await read('certs/phaos-rsa-ca-cert.der') },
    });
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-verify-'));
  });
  after(async () => {
    await service.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function verify(file: Buffer, signature?: Buffer, name = 'document.pdf') {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file)]), name);
    if (signature) form.append('signature', new Blob([new Uint8Array(signature)]), 'signature.p7s');
    const response = await fetch(`${service.url}/v1/verify`, { method: 'POST', body: form });
    return { status: response.status, body: (await response.json()) as any };
  }

  async function sign(reference: string, name: string, content: Buffer, signature: Record<string, unknown>) {
    const response = await fetch(`${service.url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({ externalReference: reference, signature, documents: [{ name, content: content.toString('base64') }] }),
    });
    const operation = (await response.json()) as any;
    assert.equal(operation.documents[0].status, 'SIGNED', JSON.stringify(operation));
    return Buffer.from(await (await fetch(`${service.url}${operation.documents[0].links.content}`, { headers: { authorization: auth } })).arrayBuffer());
  }

  test('PAdES made here, at every level: intact, trusted, the level it was made at; pdfsig agrees', async () => {
    const pdf = await read('pdf/sample.pdf');
    for (const level of ['B-B', 'B-T', 'B-LT', 'B-LTA'] as const) {
      const signed = await sign(`verify-pades-${level}`, 'sample.pdf', pdf, { format: 'PAdES', level, reason: 'Approved' });
      const { status, body } = await verify(signed);
      assert.equal(status, 200, JSON.stringify(body));
      const signatures = body.signatures.filter((s: any) => s.format === 'PAdES');
      assert.equal(signatures.length, 1, JSON.stringify(body));
      const [signature] = signatures;
      assert.deepEqual(
        { intact: signature.intact, trusted: signature.trusted, level: signature.level, problems: signature.problems },
        { intact: true, trusted: true, level, problems: [] },
        level,
      );
      assert.match(signature.signer.subject, /CN=/);
      assert.equal(Number.isNaN(Date.parse(signature.signingTime)), false);
      assert.equal(signature.timestamp !== undefined, level !== 'B-B', `${level}: signature time-stamp`);
      // B-LTA adds a document time-stamp, reported as its own entry.
      const documentTimestamps = body.signatures.filter((s: any) => s.format === 'DocumentTimestamp');
      assert.equal(documentTimestamps.length, level === 'B-LTA' ? 1 : 0);
      if (level === 'B-LTA') assert.deepEqual([documentTimestamps[0].intact, documentTimestamps[0].trusted], [true, true]);
      const file = path.join(scratch, `pades-${level}.pdf`);
      await writeFile(file, signed);
      assert.match(run('pdfsig', [file]).stdout, /Signature is Valid\./, `${level}: pdfsig`);
    }
  });

  test('one byte changed inside the signed range: not intact, digest_mismatch; pdfsig sees it too', async () => {
    const signed = await sign('verify-tamper', 'minimal.pdf', await read('pdf/minimal.pdf'), { format: 'PAdES', level: 'B-B' });
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf('/Type');
    tampered[at + 1] = 'X'.charCodeAt(0); // "/Type" → "/XYpe" somewhere in the signed bytes
    const { body } = await verify(tampered);
    const [signature] = body.signatures;
    assert.equal(signature.intact, false);
    assert.equal(signature.trusted, false);
    assert.equal(signature.level, null);
    assert.ok(signature.problems.some((p: string) => p.startsWith('digest_mismatch')), signature.problems.join('\n'));
    const file = path.join(scratch, 'tampered.pdf');
    await writeFile(file, tampered);
    assert.doesNotMatch(run('pdfsig', [file]).stdout, /Signature is Valid\./);
  });

  test('a page appended after signing is reported as a modification; the signature itself stays intact', async () => {
    const signed = await sign('verify-append', 'minimal.pdf', await read('pdf/minimal.pdf'), { format: 'PAdES', level: 'B-B' });
    // An incremental update that changes the page tree's /Count: what viewers then show was not signed.
    const text = signed.toString('latin1');
    const startxref = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)![1]);
    const pagesNum = Number(/(\d+) 0 obj\s*<<\s*\/Type\s*\/Pages/.exec(text)![1]);
    const body = `${pagesNum} 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n`;
    const offset = signed.length;
    const update = `${body}xref\n${pagesNum} 1\n${String(offset).padStart(10, '0')} 00000 n \ntrailer\n<< /Size 20 /Root 1 0 R /Prev ${startxref} >>\nstartxref\n${offset + body.length}\n%%EOF\n`;
    const { body: report } = await verify(Buffer.concat([signed, Buffer.from(update, 'latin1')]));
    const [signature] = report.signatures;
    assert.equal(signature.intact, true);
    assert.ok(signature.problems.some((p: string) => p.startsWith('modified_after_signing') && p.includes('/Pages')), signature.problems.join('\n'));
  });

  test('CAdES made here, detached and checked with the file; openssl agrees; another file is not intact', async () => {
    const content = await read('cms/hello-world.txt');
    const signature = await sign('verify-cades', 'hello.txt', content, { format: 'CAdES', level: 'B-T' });
    const { body } = await verify(content, signature, 'hello.txt');
    assert.deepEqual(
      body.signatures.map((s: any) => [s.format, s.level, s.intact, s.trusted, s.problems.length]),
      [['CAdES', 'B-T', true, true, 0]],
      JSON.stringify(body),
    );
    const caFile = path.join(scratch, 'ca.pem');
    await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
    await writeFile(path.join(scratch, 'hello.p7s'), signature);
    const openssl = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(scratch, 'hello.p7s'), '-content', path.join(testdata, 'cms/hello-world.txt'), '-CAfile', caFile, '-purpose', 'any', '-out', '/dev/null']);
    assert.equal(openssl.status, 0, openssl.stderr);
    const other = await verify(Buffer.from('Hello World!'), signature, 'hello.txt');
    assert.equal(other.body.signatures[0].intact, false);
    assert.ok(other.body.signatures[0].problems.some((p: string) => p.startsWith('digest_mismatch')));
  });

  test('CAdES-B-LTA made here is B-LTA; a revocation value changed after archiving breaks the archive time-stamp', async () => {
    const content = await read('cms/hello-world.txt');
    const signature = await sign('verify-cades-lta', 'hello.txt', content, { format: 'CAdES', level: 'B-LTA' });
    const { body } = await verify(content, signature, 'hello.txt');
    assert.deepEqual(body.signatures.map((s: any) => [s.level, s.intact, s.trusted, s.problems]), [['B-LTA', true, true, []]], JSON.stringify(body));
    // openssl asn1parse finds SignedData's crls [1]; its last byte is the last CRL's signature value.
    const file = path.join(scratch, 'lta.p7s');
    await writeFile(file, signature);
    const crls = run('openssl', ['asn1parse', '-inform', 'DER', '-in', file]).stdout.split('\n').find((line) => /^\s*\d+:d=3\s+hl=\d+ l=\s*\d+ cons: cont \[ 1 \]/.test(line));
    assert.ok(crls, 'SignedData has revocation values');
    const [, offset, header, length] = /^\s*(\d+):d=3\s+hl=(\d+) l=\s*(\d+)/.exec(crls)!.map(Number);
    const changed = Buffer.from(signature);
    changed[offset + header + length - 1] ^= 0x01;
    const after = (await verify(content, changed, 'hello.txt')).body.signatures[0];
    assert.equal(after.intact, true, 'the signature itself still holds');
    assert.notEqual(after.level, 'B-LTA');
    assert.ok(after.problems.some((p: string) => p.startsWith('archive_timestamp_index_mismatch')), after.problems.join('\n'));
  });

  test('XAdES made here at B-B and B-T: intact, trusted, its level; a changed invoice is not intact, for xmlsec1 either', async () => {
    const invoice = await read('xml/ubl-tc434-example1.xml');
    for (const level of ['B-B', 'B-T'] as const) {
      const signed = await sign(`verify-xades-${level}`, 'invoice.xml', invoice, { format: 'XAdES', level });
      const { body } = await verify(signed, undefined, 'invoice.xml');
      assert.deepEqual(
        body.signatures.map((s: any) => [s.format, s.level, s.intact, s.trusted, s.problems, s.timestamp !== undefined]),
        [['XAdES', level, true, true, [], level === 'B-T']],
        JSON.stringify(body),
      );
    }
    const signed = await sign('verify-xades-tamper', 'invoice.xml', invoice, { format: 'XAdES', level: 'B-B' });
    const text = signed.toString('utf8');
    const changed = Buffer.from(text.replace('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="USD">'), 'utf8');
    assert.notEqual(changed.toString('utf8'), text, 'the amount is in the invoice');
    const [after] = (await verify(changed, undefined, 'invoice.xml')).body.signatures;
    assert.equal(after.intact, false);
    assert.ok(after.problems.some((p: string) => p.startsWith('digest_mismatch: what reference ""')), after.problems.join('\n'));
    const file = path.join(scratch, 'changed-invoice.xml');
    await writeFile(file, changed);
    assert.notEqual(run('xmlsec1', ['--verify', '--insecure', '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file]).status, 0);
    // A second element carrying the SignedProperties Id (in a ds:Object, which the document reference
    // leaves out with the signature): the reference no longer says which one was signed.
    const id = /<xades:SignedProperties Id="([^"]+)"/.exec(text)![1];
    const wrapped = Buffer.from(text.replace('</ds:Signature>', `<ds:Object><Extra Id="${id}"/></ds:Object></ds:Signature>`), 'utf8');
    const [ambiguous] = (await verify(wrapped, undefined, 'invoice.xml')).body.signatures;
    assert.equal(ambiguous.intact, false);
    assert.ok(ambiguous.problems.some((p: string) => p.startsWith('reference_ambiguous')), ambiguous.problems.join('\n'));
  });

  test('XML-DSig made by xmlsec1 (inclusive c14n with comments, an Id subtree with inherited namespaces and xml:*) verifies; a changed character does not', async () => {
    const key = path.join(scratch, 'xmlsec-key.pem');
    const cert = path.join(scratch, 'xmlsec-cert.pem');
    assert.equal(run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=xmlsec test', '-days', '2']).status, 0);
    const signedFile = path.join(scratch, 'xmlsec-signed.xml');
    const template = path.join(import.meta.dirname, 'support/xmldsig-template.xml');
    const signing = run('xmlsec1', ['--sign', '--privkey-pem', `${key},${cert}`, '--id-attr:Id', 'urn:a:part', '--output', signedFile, template]);
    assert.equal(signing.status, 0, signing.stderr);
    const signed = await readFile(signedFile);
    const [good] = (await verify(signed, undefined, 'signed.xml')).body.signatures;
    assert.deepEqual([good.format, good.intact, good.signer.subject], ['XMLDSig', true, 'CN=xmlsec test'], good.problems.join('\n'));
    for (const [from, to] of [['  text &amp;', '  text &amp;&amp;'], ['<!-- after -->', '<!-- later -->']]) {
      const changed = Buffer.from(signed.toString('utf8').replace(from, to), 'utf8');
      const [bad] = (await verify(changed, undefined, 'signed.xml')).body.signatures;
      assert.equal(bad.intact, false, `${from} → ${to}`);
      await writeFile(signedFile, changed);
      assert.notEqual(run('xmlsec1', ['--verify', '--insecure', '--id-attr:Id', 'urn:a:part', signedFile]).status, 0, `xmlsec1 agrees: ${from} → ${to}`);
    }
  });

  test('XML-DSig made by xmlsec1 with Canonical XML 1.1 (SignedInfo and an Id subtree under xml:lang and xml:id) verifies; a changed character does not', async () => {
    const key = path.join(scratch, 'xmlsec11-key.pem');
    const cert = path.join(scratch, 'xmlsec11-cert.pem');
    assert.equal(run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=xmlsec c14n11', '-days', '2']).status, 0);
    // The shared template, with every canonicalization C14N 1.1 and an xml:id above the signed subtree (1.1 does not inherit it, 1.0 would).
    const template = (await readFile(path.join(import.meta.dirname, 'support/xmldsig-template.xml'), 'utf8'))
      .replaceAll('http://www.w3.org/TR/2001/REC-xml-c14n-20010315', 'http://www.w3.org/2006/12/xml-c14n11')
      .replace('<root xmlns="urn:default"', '<root xml:id="top" xmlns="urn:default"');
    const templateFile = path.join(scratch, 'xmldsig11-template.xml');
    await writeFile(templateFile, template);
    const signedFile = path.join(scratch, 'xmlsec11-signed.xml');
    const signing = run('xmlsec1', ['--sign', '--privkey-pem', `${key},${cert}`, '--id-attr:Id', 'urn:a:part', '--output', signedFile, templateFile]);
    assert.equal(signing.status, 0, signing.stderr);
    const signed = await readFile(signedFile);
    const [good] = (await verify(signed, undefined, 'signed.xml')).body.signatures;
    assert.deepEqual([good.format, good.intact], ['XMLDSig', true], good.problems.join('\n'));
    const changed = Buffer.from(signed.toString('utf8').replace('  text &amp;', '  text &amp;&amp;'), 'utf8');
    const [bad] = (await verify(changed, undefined, 'signed.xml')).body.signatures;
    assert.equal(bad.intact, false);
  });

  test('the testdata signatures get the verdicts MANIFEST.md gives', async () => {
    const expectations: Array<{ file: string; signature?: string; check: (signatures: any[]) => void }> = [
      { file: 'pdf-signed/pdf-signed-original.pdf', check: ([s]) => assert.deepEqual([s.intact, s.trusted, s.format], [true, false, 'PAdES']) },
      { file: 'pdf-signed/Signature-P-HU_MIC-1.pdf', check: ([s]) => assert.deepEqual([s.intact, s.trusted], [true, false]) },
      { file: 'pdf-signed/PAdES-LT.pdf', check: (all) => assert.ok(all.length === 4 && all.every((s) => s.intact)) },
      { file: 'pdf-signed/minimal-two-fields-signed-twice.pdf', check: (all) => {
        assert.equal(all.length, 2);
        for (const s of all) assert.deepEqual([s.intact, s.problems.filter((p: string) => p.startsWith('modified'))], [true, []]);
      } },
      { file: 'pdf-signed/doc-firmado.pdf', check: (all) => {
        assert.deepEqual(all.map((s) => [s.format, s.intact]), [['PAdES', true], ['DocumentTimestamp', true]]);
        assert.equal(all[1].timestamp.genTime, '2018-09-15T22:10:40.000Z');
      } },
      { file: 'pdf-signed/pkcs7.pdf', check: ([s]) => assert.deepEqual([s.format, s.intact, s.level], ['PKCS#7', true, 'B-T']) },
      { file: 'pdf-signed/encrypted.pdf', check: ([s]) => assert.equal(s.intact, true) },
      { file: 'pdf-signed/pdf-signed-corrupted.pdf', check: ([s]) => {
        assert.deepEqual([s.intact, s.indication, s.subIndication], [false, 'TOTAL_FAILED', 'FORMAT_FAILURE']);
        assert.ok(s.warnings.some((p: string) => p.startsWith('structure_repaired')));
      } },
      { file: 'pdf-signed/pdf-eof.pdf', check: ([s]) => assert.equal(s.intact, false) },
      // Cross-references that point outside the file: read by scanning, as viewers do, and said so.
      { file: 'pdf-signed/pades_infinite_loop.pdf', check: (all) => assert.ok(all.every((s) => !s.intact && s.warnings.some((p: string) => p.startsWith('structure_repaired')))) },
      { file: 'pdf-signed/BadEncodedCMS.pdf', check: ([s]) => assert.ok(!s.intact && s.problems.length > 0) },
      { file: 'pdf-signed/coverage-base.pdf', check: ([s]) => assert.ok(!s.intact && s.problems.length > 0) },
      { file: 'pdf-signed/pdf-byterange-overlap.pdf', check: (all) => assert.deepEqual(all.map((s) => s.intact), [true, false]) },
      { file: 'pdf-signed/pdf-sig-with-econtent.pdf', check: ([s]) => assert.ok(!s.intact || s.problems.length > 0) },
      { file: 'pdf-signed/Signature-P-DE_CRY-2_HASH_FAILURE.pdf', check: ([s]) => {
        assert.equal(s.intact, false);
        assert.ok(s.problems.some((p: string) => p.startsWith('signed_attributes_not_der')));
      } },
      // Intact bytes, but what a viewer shows was changed or not covered: never a clean verdict.
      ...['coverage-one-byterange', 'coverage-tail-uncovered', 'dss-2236-hide', 'pades-spoofing-replaced-reason', 'pdf-signed-added-page', 'pdf-spoofing-attack'].map((name) => ({
        file: `pdf-signed/${name}.pdf`,
        check: (all: any[]) => assert.ok(all.length > 0 && all.every((s) => s.problems.some((p: string) => /^(modified_after_signing|coverage_nonstandard|byte_range_invalid|signature_unreadable)/.test(p)))),
      })),
      { file: 'pdf-signed/form-update-override-appearance-stream-sneaky.pdf', check: ([first]) => {
        assert.equal(first.intact, true);
        assert.ok(first.problems.some((p: string) => p.startsWith('modified_after_signing') && p.includes('/FooBar')), first.problems.join('\n'));
      } },
      { file: 'pdf/pades-with-old-style-signing-cert-attr.pdf', check: ([s]) => assert.deepEqual([s.intact, s.trusted], [true, false]) },
      // DSSRootCA10 is configured with --trust-anchors for this service.
      { file: 'pdf/sample-certified-signingallowed256.pdf', check: ([s]) => assert.deepEqual([s.intact, s.trusted], [true, true]) },
      { file: 'cms/cades-bes-signeddata-detached.p7s', signature: 'cms/cades-bes-signeddata-detached.p7s', check: () => {} },
      { file: 'cms/BER_reordered_prova.txt.p7m', check: ([s]) => assert.equal(s.intact, true) },
      { file: 'cms/Test.bin', signature: 'cms/Test.bin.sig', check: ([s]) => assert.ok(s.intact && s.signer.subject.includes('Marini')) },
      { file: 'cms/CAdES-BpT_modified_ts_hash.p7m', check: ([s]) => {
        assert.equal(s.intact, true);
        assert.notEqual(s.level, 'B-T');
        assert.ok(s.problems.some((p: string) => p.startsWith('timestamp_')));
      } },
      { file: 'cms/Signature-C-BES-4.p7m', check: ([s]) => assert.ok(s.intact && s.contentTimestamp?.genTime) },
      { file: 'cms/cms-no-sign-cert.p7m', check: ([s]) => assert.ok(!s.intact && s.problems.some((p: string) => p.startsWith('signer_certificate_missing'))) },
      { file: 'cms/counterSig.p7m', check: ([s]) => assert.ok(s.intact && s.counterSignatures.length === 1 && s.counterSignatures[0].intact) },
      { file: 'xml/dss-signed.xml', check: (all) => assert.deepEqual(all.map((s) => [s.format, s.intact, s.trusted]), [['XAdES', true, false]]) },
      // The Phaos CA (a DER file in --trust-anchors) is an anchor: the chain holds, only its validity (ended 2012) does not, and nothing proves an earlier time.
      { file: 'xml/signature-rsa-enveloped.xml', check: (all) => {
        assert.deepEqual(all.map((s) => [s.format, s.intact, s.trusted]), [['XMLDSig', true, false]]);
        assert.deepEqual([all[0].indication, all[0].subIndication], ['INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE']);
        assert.ok(all[0].problems.length > 0 && all[0].problems.every((p: string) => p.startsWith('certificate_expired')), all[0].problems.join('\n'));
      } },
      { file: 'xml/signature-rsa-enveloped-bad-sig.xml', check: ([s]) => assert.equal(s.intact, false) },
      { file: 'xml/xmldsig-only.xml', check: ([s]) => assert.deepEqual([s.format, s.intact], ['XMLDSig', true]) },
      { file: 'xml/xades-tampered-reference.xml', check: ([s]) => assert.equal(s.intact, false) },
      // xmlsec1 says OK here: strict reference resolution is what catches it.
      { file: 'xml/XSW-enveloped-fake-signedProperties.xml', check: ([s]) => {
        assert.equal(s.intact, false);
        assert.ok(s.problems.some((p: string) => p.startsWith('signed_properties_misplaced')));
      } },
    ];
    for (const { file, signature, check } of expectations) {
      const content = file === signature ? await read('cms/hello-world.txt') : await read(file);
      const { status, body } = await verify(content, signature ? await read(signature) : undefined, path.basename(file));
      assert.equal(status, 200, `${file}: ${JSON.stringify(body)}`);
      if (file === signature) assert.equal(body.signatures[0].intact, true, `${file} over hello-world.txt`);
      try {
        check(body.signatures);
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}\n${JSON.stringify(body.signatures, null, 1)}`);
      }
    }
  });

  test('registered bytes are found by anyone holding them, signed or not; other bytes are not', async () => {
    const register = async (content: Buffer, title: string) => {
      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ content: content.toString('base64'), userId: 'alice', userEmail: 'alice@example.org', title }),
      });
      const registration = (await response.json()) as any;
      assert.equal(registration.status, 'REGISTERED', JSON.stringify(registration));
      return registration;
    };
    // It starts with "0" (0x30, like a DER SEQUENCE) and is still just a file.
    const text = Buffer.from(`0 contracts, ${Date.now()}`);
    const pdf = Buffer.concat([await read('pdf/minimal.pdf'), Buffer.from(`% ${Date.now()}\n`)]);
    for (const [content, name] of [[text, 'contract.txt'], [pdf, 'unsigned.pdf']] as const) {
      const registration = await register(content, name);
      const found = await verify(content, undefined, name);
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual(found.body, { signatures: [], registrations: [{ rid: registration.rid, registeredAt: registration.registeredAt }] }, name);
      const other = await verify(Buffer.concat([content, Buffer.from('\n')]), undefined, name);
      assert.deepEqual(other.body.registrations, [], `${name} and one more byte`);
    }
  });

  test('refusals: not multipart, no file, XML with a DTD, a broken CMS, a broken PDF — each a problem with its code', async () => {
    const json = await fetch(`${service.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 415);
    assert.equal(((await json.json()) as any).code, 'unsupported_media_type');
    const empty = new FormData();
    empty.append('note', 'no file');
    const noFile = await fetch(`${service.url}/v1/verify`, { method: 'POST', body: empty });
    assert.equal(noFile.status, 400);
    const entities = Buffer.from(
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
        `<x xmlns:ds="http://www.w3.org/2000/09/xmldsig#">&b;<ds:Signature/></x>`,
    );
    for (const [file, content, status, code] of [
      ['entities.xml', entities, 422, 'invalid_xml'],
      ['cms/malformed-cades.p7m', await read('cms/malformed-cades.p7m'), 400, 'invalid_request'],
      ['broken/malformed-pades.pdf', await read('broken/malformed-pades.pdf'), 422, 'invalid_pdf'],
    ] as const) {
      const { status: got, body } = await verify(content, undefined, path.basename(file));
      assert.deepEqual([got, body.code], [status, code], `${file}: ${JSON.stringify(body)}`);
      assert.ok(body.detail, `${file}: a message a person can act on`);
    }
  });

  test('--trust-anchors that cannot be read, or holds no certificate, stops the start and names the flag', async () => {
    for (const [flag, files, message] of [
      ['--trust-anchors=missing.pem', {}, /--trust-anchors: .*missing\.pem cannot be read \(ENOENT\)/],
      ['--trust-anchors=notes.pem', { 'notes.pem': 'not a certificate' }, /--trust-anchors: .*notes\.pem is not a certificate/],
    ] as const) {
      const workFolder = await mkdtemp(path.join(tmpdir(), 'signet-anchors-'));
      try {
        await assert.rejects(startTestService({ workFolder, flags: [flag], files }), message);
      } finally {
        await rm(workFolder, { recursive: true, force: true });
      }
    }
  });

  // The test's timeout only bounds a hang (a metric that never shows the upload); no speed is asserted.
  test('--max-verifications: one more than allowed at once is a 503 verification_busy with Retry-After, not a queue', { timeout: 60_000 }, async () => {
    const limited = await startTestService({ flags: ['--max-verifications=1'] });
    try {
      const url = new URL(`${limited.url}/v1/verify`);
      const boundary = 'signet-test-boundary';
      const pdf = await read('pdf-signed/pdf-signed-original.pdf');
      // The first upload starts and stays open: its request holds the only slot.
      const first = request({ method: 'POST', host: url.hostname, port: url.port, path: url.pathname, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      const firstAnswer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        first.on('response', (response) => {
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        first.on('error', reject);
      });
      first.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n`);
      first.write(pdf.subarray(0, 1000));
      await until(async () => /signet_verifications_in_flight 1\b/.test(await (await fetch(`${limited.url}/metrics`)).text()));

      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(pdf)]), 'b.pdf');
      const busy = await fetch(url, { method: 'POST', body: form });
      assert.equal(busy.status, 503);
      assert.equal(busy.headers.get('retry-after'), '2');
      assert.equal(((await busy.json()) as any).code, 'verification_busy');

      first.end(Buffer.concat([pdf.subarray(1000), Buffer.from(`\r\n--${boundary}--\r\n`)]));
      const answered = await firstAnswer;
      assert.equal(answered.status, 200, answered.body);
      assert.equal(JSON.parse(answered.body).signatures[0].intact, true);
      const again = await fetch(url, { method: 'POST', body: form });
      assert.equal(again.status, 200, 'the slot is free again');
    } finally {
      await limited.stop();
    }
  });

  test('the /verify page offers a drop zone that posts to /v1/verify; it needs no login', async () => {
    const response = await fetch(`${service.url}/verify`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /id="drop"/);
    assert.match(html, /fetch\('\/v1\/verify'/);
  });
});
