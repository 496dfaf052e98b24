import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDevelopmentPki, type DevelopmentPki } from '../src/crypto/devca/development-pki.js';
import { createPemSigner } from '../src/crypto/keys/pem-signer.js';
import type { Signer } from '../src/crypto/keys/signer.js';
import { InProcessTimestampClient } from '../src/crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../src/crypto/tsp/timestamp-authority.js';
import type { TimestampClient } from '../src/crypto/tsp/timestamp-client.js';
import { ExclusiveCanonicalizer, StringSink } from '../src/crypto/xml/exclusive-c14n.js';
import { XadesPool } from '../src/crypto/xml/xades-pool.js';
import { signXades, type XadesSignOptions } from '../src/crypto/xml/xades-sign.js';
import { canonicalSignatureValue, signatureIds } from '../src/crypto/xml/xades-template.js';
import { decodeXml } from '../src/crypto/xml/xml-encoding.js';
import { scanXml } from '../src/crypto/xml/xml-scanner.js';
import { SignetError } from '../src/errors/signet-error.js';

const XML_DATA = fileURLToPath(new URL('../../shared/testdata/xml', import.meta.url));
/** MANIFEST.md, xml/: "sign: must succeed". */
const MUST_SIGN = [
  'BIS3_Invoice_positive.XML',
  'CII_example1.xml',
  'factur-x.xml',
  'mixed-namespaces-comments-cdata.xml',
  'ubl-tc434-creditnote1.xml',
  'ubl-tc434-example1.xml',
];
const SIGNED_PROPERTIES_ID = 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties';

let work: string;
let pki: DevelopmentPki;
let caFile: string;
let pool: XadesPool;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'signet-xades-'));
  pki = await ensureDevelopmentPki(join(work, 'pki'));
  caFile = join(work, 'pki', 'ca.cert.pem');
  pool = new XadesPool({ size: 2 });
});

after(async () => {
  await pool.close();
  rmSync(work, { recursive: true, force: true });
});

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: work });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

let fileCounter = 0;
function writeTemp(content: Buffer | string, extension = 'xml'): string {
  const path = join(work, `doc-${++fileCounter}.${extension}`);
  writeFileSync(path, content);
  return path;
}

/** xmlsec1 verifies the signature, both references and the certificate chain up to the development CA. */
function xmlsecVerify(signed: Buffer, extraArgs: string[] = []): { ok: boolean; output: string } {
  const path = writeTemp(signed);
  const result = run('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', SIGNED_PROPERTIES_ID, ...extraArgs, path]);
  return { ok: result.status === 0 && /^OK$/m.test(result.output), output: result.output };
}

function assertVerifies(signed: Buffer, label: string): void {
  const result = xmlsecVerify(signed);
  assert.ok(result.ok, `${label}: xmlsec1 --verify failed:\n${result.output}`);
  assert.match(result.output, /SignedInfo References \(ok\/all\): 2\/2/);
}

function sign(xml: Buffer, options: Partial<XadesSignOptions> = {}): Promise<Buffer> {
  return signXades(xml, { signer: pki.signer, signingTime: new Date(), level: 'B-B', pool, ...options });
}

/** The output is the input with one ds:Signature inserted; returns where it was inserted. */
function assertOnlySignatureInserted(original: Buffer, signed: Buffer): number {
  const start = signed.indexOf('<ds:Signature ');
  const endTag = '</ds:Signature>';
  const end = signed.indexOf(endTag, start) + endTag.length;
  assert.ok(start > 0 && end > start, 'no ds:Signature in the output');
  assert.ok(Buffer.concat([signed.subarray(0, start), signed.subarray(end)]).equals(original), 'bytes outside the signature changed');
  return start;
}

function rootQName(xml: string): string {
  const withoutProlog = xml.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, '');
  return /<([^\s/>]+)/.exec(withoutProlog)![1];
}

/** Changes one digit of the first element content that has one (inside the root, before the signature). */
function tamperOneCharacter(signed: Buffer): Buffer {
  const text = signed.toString('latin1');
  const rootStart = text.indexOf(`<${rootQName(text)}`);
  const match = />[^<]*?(\d)/g;
  match.lastIndex = rootStart;
  const found = match.exec(text)!;
  const index = found.index + found[0].length - 1;
  assert.ok(index < text.indexOf('<ds:Signature '));
  const tampered = Buffer.from(signed);
  tampered[index] = tampered[index] === 0x37 ? 0x38 : 0x37;
  return tampered;
}

describe('XAdES-B-B of the manifest invoices', () => {
  for (const name of MUST_SIGN) {
    test(`${name}: signed, xmlsec1 verifies, only the signature was added, one changed character fails`, async () => {
      const original = readFileSync(join(XML_DATA, name));
      const signed = await sign(original);
      assertVerifies(signed, name);
      const at = assertOnlySignatureInserted(original, signed);
      // The last child of the document element: right before its end tag.
      assert.ok(original.subarray(at).toString('utf8').startsWith(`</${rootQName(original.toString('utf8'))}>`));
      const tampered = xmlsecVerify(tamperOneCharacter(signed));
      assert.equal(tampered.ok, false, `${name}: a tampered document still verifies`);
      assert.match(tampered.output, /SignedInfo References \(ok\/all\): 1\/2|Data digest|digest/i);
    });
  }

  test('the signature has the EN 319 132-1 B-B properties', async () => {
    const signingTime = new Date('2026-03-01T10:15:30.123Z');
    const signed = (await sign(readFileSync(join(XML_DATA, 'ubl-tc434-creditnote1.xml')), { signingTime })).toString('utf8');
    assert.match(signed, /<ds:SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"\/>/);
    assert.match(signed, /<xades:SigningTime>2026-03-01T10:15:30Z<\/xades:SigningTime>/);
    assert.match(signed, /<ds:Reference Type="http:\/\/uri\.etsi\.org\/01903#SignedProperties" URI="#xades-id-[0-9a-f]+">/);
    assert.match(signed, /<ds:Transform Algorithm="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#enveloped-signature"\/>/);
    const certDigest = createHash('sha256').update(pki.signer.certificateDer).digest('base64');
    assert.ok(signed.includes(`<ds:DigestValue>${certDigest}</ds:DigestValue></xades:CertDigest>`));
    // IssuerSerialV2 = DER IssuerSerial { GeneralNames { [4] issuer Name }, serialNumber }: compare with openssl's view.
    const issuerSerial = Buffer.from(/<xades:IssuerSerialV2>([^<]+)</.exec(signed)![1], 'base64');
    const parsed = run('openssl', ['asn1parse', '-inform', 'DER', '-in', writeTemp(issuerSerial, 'der')]).output;
    assert.match(parsed, /cont \[ 4 \]/);
    const serial = run('openssl', ['x509', '-in', join(work, 'pki', 'signing.cert.pem'), '-noout', '-serial']).output.trim().split('=')[1];
    assert.match(parsed.replace(/\s+/g, ' '), new RegExp(`INTEGER :${serial}`, 'i'));
    assert.match(signed, /<xades:DataObjectFormat ObjectReference="#r-id-[0-9a-f]+"><xades:MimeType>text\/xml<\/xades:MimeType>/);
    assert.match(signed, /<xades:QualifyingProperties xmlns:xades="http:\/\/uri\.etsi\.org\/01903\/v1\.3\.2#" Target="#id-[0-9a-f]+">/);
  });
});

describe('refused documents', () => {
  for (const name of ['billion-laughs.xml', 'xxe-file-etc-passwd.xml']) {
    test(`${name}: invalid_xml, nothing expanded`, async () => {
      const xml = readFileSync(join(XML_DATA, name));
      const rssBefore = process.memoryUsage().rss;
      for (const mode of [pool, 'inline'] as const) {
        await assert.rejects(sign(xml, { pool: mode }), (error: unknown) => {
          assert.ok(error instanceof SignetError);
          assert.equal(error.code, 'invalid_xml');
          assert.match(error.message, /document type declaration.*line 3, column 1/);
          assert.doesNotMatch(error.message, /root:|\/bin\/|lol/);
          return true;
        });
      }
      assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory grew');
    });
  }

  const malformed: Array<[string, string, RegExp]> = [
    ['mismatched end tag', '<a>\n  <b></a>', /line 2, column 6: the end tag <\/a> does not match <b>/],
    ['unclosed element', '<a><b></b>', /the element <a> is not closed/],
    ['undeclared entity', '<a>&nbsp;</a>', /line 1, column 4: the entity "&nbsp;" is not declared/],
    ['bare ampersand', '<a>fish & chips</a>', /line 1, column 9: "&" must start a reference/],
    ['unbound prefix', '<x:a/>', /the prefix "x" of <x:a> is not declared/],
    ['duplicate attribute', '<a b="1" b="2"/>', /the attribute b appears twice/],
    ['same expanded attribute name', '<a xmlns:p="u" xmlns:q="u" p:b="1" q:b="2"/>', /two attributes named \{u\}b/],
    ['two roots', '<a/><b/>', /a second root element/],
    ['text after the root', '<a/>x', /content after the root element/],
    ['forbidden character', '<a>\u0001</a>', /character U\+0001 is not allowed/],
    ['forbidden character reference', '<a>&#0;</a>', /does not refer to a character allowed/],
    ['"<" in an attribute', '<a b="<"/>', /"<" is not allowed in an attribute value/],
    ['"--" in a comment', '<a><!-- x -- y --></a>', /"--" is not allowed inside a comment/],
    ['misplaced XML declaration', '<a><?xml version="1.0"?></a>', /XML declaration is only allowed at the very start/],
    ['empty document', '', /no root element/],
    ['a DOCTYPE without entities', '<?xml version="1.0"?>\n<!DOCTYPE a>\n<a/>', /document type declaration/],
    ['nesting deeper than libxml2 reads', '<a>'.repeat(257) + '</a>'.repeat(257), /column 769: elements are nested more than 256 deep/],
    ['thousands of attributes on one element', `<a ${Array.from({ length: 1100 }, (_, i) => `a${i}=""`).join(' ')}/>`, /more than 1024 attributes on <a>/],
  ];
  for (const [what, xml, message] of malformed) {
    test(`malformed: ${what} → invalid_xml with the place`, async () => {
      await assert.rejects(sign(Buffer.from(xml), { pool: 'inline' }), (error: unknown) => {
        assert.ok(error instanceof SignetError, String(error));
        assert.equal(error.code, 'invalid_xml');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('malformed documents fail through the pool too, and the pool keeps working', async () => {
    await assert.rejects(sign(Buffer.from('<a>\n<b>')), (error: unknown) => error instanceof SignetError && error.code === 'invalid_xml' && /line 2/.test(error.message));
    assertVerifies(await sign(readFileSync(join(XML_DATA, 'factur-x.xml'))), 'after a failure');
  });

  test('a document too large for the worker memory limit is refused before it reaches a worker', async () => {
    const small = new XadesPool({ size: 1, maxWorkerMemoryMb: 16 });
    try {
      assert.equal(small.maxDocumentBytes, 4 * 1024 * 1024);
      const tooLarge = Buffer.from(`<a>${'<b>text</b>'.repeat(400_000)}</a>`);
      await assert.rejects(sign(tooLarge, { pool: small }), (error: unknown) => {
        assert.ok(error instanceof SignetError);
        assert.equal(error.code, 'invalid_xml');
        assert.match(error.message, /is 4\.2 MB; XML signing accepts at most 4\.0 MB/);
        return true;
      });
      assertVerifies(await sign(readFileSync(join(XML_DATA, 'factur-x.xml')), { pool: small }), 'small pool');
    } finally {
      await small.close();
    }
  });

  test('invalid UTF-8 and unsupported encodings are invalid_xml', async () => {
    await assert.rejects(sign(Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]), { pool: 'inline' }), /not valid UTF-8/);
    await assert.rejects(sign(Buffer.from('<?xml version="1.0" encoding="EBCDIC-US"?><a/>'), { pool: 'inline' }), /EBCDIC-US.*not supported/);
  });
});

describe('canonicalization and encodings, checked by xmlsec1', () => {
  const tricky =
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<?pi-before  data?>\r\n<!-- before -->\r\n' +
    '<r:root xmlns:r="urn:r" xmlns="urn:default" xmlns:a="urn:a" xmlns:b="urn:b" b:z="1" a:z="2" z="3" r:y="4">\r\n' +
    '  <child xmlns="" attr="tab&#9;nl&#10;cr&#13;lt&lt;gt>amp&amp;quot&quot;apos\'" other=\'single "quoted"\'>a &gt; b &#13; c\r\nd</child>\r\n' +
    '  <a:x><inner xmlns="urn:other"><deeper xmlns="urn:default"/></inner><b:y xml:lang="en"/></a:x>\r\n' +
    '  <![CDATA[<not markup> & ]]]]><![CDATA[>]]><empty/>\u00e9\u{1F600}\r\n' +
    '</r:root>\r\n<?pi-after?>\r\n';

  test('CR/LF, attribute normalization and escapes, namespace redeclarations, PIs around the root', async () => {
    const original = Buffer.from(tricky, 'utf8');
    const signed = await sign(original);
    assertVerifies(signed, 'tricky');
    assertOnlySignatureInserted(original, signed);
  });

  test('ISO-8859-1 and UTF-16 documents are signed in their own encoding', async () => {
    const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>\n<Rechnung xmlns="urn:x">Grüße, Müller</Rechnung>\n', 'latin1');
    const signedLatin1 = await sign(latin1);
    assertVerifies(signedLatin1, 'ISO-8859-1');
    assertOnlySignatureInserted(latin1, signedLatin1);

    const utf8Bom = Buffer.from('\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<a xmlns="urn:x">\r\n\u00e9\r\n</a>\r\n', 'utf8');
    const signedBom = await sign(utf8Bom);
    assertVerifies(signedBom, 'UTF-8 with BOM');
    assertOnlySignatureInserted(utf8Bom, signedBom);

    const utf16be = Buffer.from('\ufeff<?xml version="1.0" encoding="UTF-16"?><a xmlns="urn:x">\u00e9</a>', 'utf16le').swap16();
    const signedUtf16be = await sign(utf16be);
    assertVerifies(signedUtf16be, 'UTF-16BE');

    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?>\n<a xmlns="urn:x">日本語</a>\n', 'utf16le')]);
    const signedUtf16 = await sign(utf16);
    assertVerifies(signedUtf16, 'UTF-16LE');
    const text = signedUtf16.subarray(2).toString('utf16le');
    assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-16"?>\n<a xmlns="urn:x">日本語<ds:Signature '));
    assert.ok(text.endsWith('</ds:Signature></a>\n'));
  });

  test('canonicalSignatureValue is what the canonicalizer writes for the element in place (B-T imprint)', () => {
    // Our canonical SignatureValue string must be what the canonicalizer produces for the element in place.
    const ids = signatureIds('abc');
    const inPlace = `<root xmlns="urn:x" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature><ds:SignatureValue Id="${ids.signatureValue}">AAAA</ds:SignatureValue></ds:Signature></root>`;
    const sink = new StringSink();
    const canonicalizer = new ExclusiveCanonicalizer(sink, { withComments: false, apex: (element) => element.localName === 'SignatureValue' });
    scanXml(decodeXml(Buffer.from(inPlace)).text, canonicalizer);
    assert.equal(sink.text, canonicalSignatureValue(ids, 'AAAA'));
  });
});

describe('options', () => {
  const ublWithExtensions = (): Buffer => {
    const ubl = readFileSync(join(XML_DATA, 'ubl-tc434-example1.xml'), 'utf8');
    const withExtensions = ubl
      .replace(' xmlns:xsi=', ' xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2" xmlns:xsi=')
      .replace('\n    <cbc:CustomizationID>', '\n    <ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent/></ext:UBLExtension></ext:UBLExtensions>\n    <cbc:CustomizationID>');
    assert.notEqual(withExtensions, ubl);
    return Buffer.from(withExtensions);
  };

  for (const location of [
    "/*[local-name()='Invoice']/*[local-name()='UBLExtensions']/*[local-name()='UBLExtension']/*[local-name()='ExtensionContent']",
    '/*/ext:UBLExtensions/ext:UBLExtension[1]/ext:ExtensionContent',
    "/*[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2' and local-name()='Invoice']/ext:*/ext:UBLExtension/*[name()='ext:ExtensionContent']",
  ]) {
    test(`signatureLocation ${location}`, async () => {
      const original = ublWithExtensions();
      const signed = await sign(original, { signatureLocation: location });
      assertVerifies(signed, location);
      const text = signed.toString('utf8');
      assert.match(text, /<ext:ExtensionContent><ds:Signature [\s\S]*<\/ds:Signature><\/ext:ExtensionContent><\/ext:UBLExtension>/);
      // `<ext:ExtensionContent/>` became a start/end pair; nothing else changed.
      const start = text.indexOf('<ds:Signature ');
      const end = text.indexOf('</ds:Signature></ext:ExtensionContent>') + '</ds:Signature></ext:ExtensionContent>'.length;
      assert.equal(text.slice(0, start - 1) + '/>' + text.slice(end), original.toString('utf8'));
    });
  }

  test('a signatureLocation outside the supported subset is invalid_request; one that selects nothing is invalid_xml', async () => {
    const xml = readFileSync(join(XML_DATA, 'factur-x.xml'));
    for (const location of ['//ram:ID', 'rsm:CrossIndustryInvoice', '/*[@id="1"]', '/a[0]']) {
      await assert.rejects(sign(xml, { signatureLocation: location, pool: 'inline' }), (error: unknown) => {
        assert.ok(error instanceof SignetError);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.field, 'signatureLocation');
        return true;
      });
    }
    await assert.rejects(sign(xml, { signatureLocation: '/CrossIndustryInvoice' }), (error: unknown) => {
      assert.ok(error instanceof SignetError);
      assert.equal(error.code, 'invalid_xml');
      assert.match(error.message, /selects no element.*unprefixed name/);
      return true;
    });
    assertVerifies(await sign(xml, { signatureLocation: '/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction' }), 'CII location');
  });

  for (const transform of ['XPATH', 'XPATH2_FILTER'] as const) {
    test(`signatureTransform ${transform} verifies and leaves earlier signatures out of the digest`, async () => {
      const original = readFileSync(join(XML_DATA, 'ubl-tc434-creditnote1.xml'));
      const signed = await sign(original, { transform });
      assertVerifies(signed, transform);
      // A second signature added later must not break the first (both transforms drop every ds:Signature).
      const twice = await sign(signed, { transform });
      const firstId = /<ds:Signature [^>]*Id="([^"]+)"/.exec(twice.toString('utf8'))![1];
      const result = xmlsecVerify(twice, ['--id-attr:Id', 'http://www.w3.org/2000/09/xmldsig#:Signature', '--node-id', firstId]);
      assert.ok(result.ok, result.output);
    });
  }

  test('EXCLUSIVE_WITH_COMMENTS covers comments; EXCLUSIVE does not', async () => {
    const original = readFileSync(join(XML_DATA, 'mixed-namespaces-comments-cdata.xml'));
    const editComment = (signed: Buffer): Buffer => Buffer.from(signed.toString('utf8').replace('comment inside the root element', 'comment inside the root elemenT'));
    const withComments = await sign(original, { canonicalization: 'EXCLUSIVE_WITH_COMMENTS' });
    assertVerifies(withComments, 'with comments');
    assert.equal(xmlsecVerify(editComment(withComments)).ok, false);
    const withoutComments = await sign(original);
    assert.ok(xmlsecVerify(editComment(withoutComments)).ok);
  });

  for (const curve of ['prime256v1', 'secp384r1']) {
    test(`ECDSA ${curve}: ecdsa-sha256 with a raw r||s value verifies with xmlsec1`, async () => {
      const signer = ecSigner(curve);
      const signed = await sign(readFileSync(join(XML_DATA, 'BIS3_Invoice_positive.XML')), { signer });
      assert.match(signed.toString('utf8'), /xmldsig-more#ecdsa-sha256/);
      const value = Buffer.from(/<ds:SignatureValue Id="[^"]+">([^<]+)</.exec(signed.toString('utf8'))![1], 'base64');
      assert.equal(value.length, curve === 'prime256v1' ? 64 : 96);
      assertVerifies(signed, curve);
    });
  }

  test('mimeType goes into DataObjectFormat; a malformed one is invalid_request', async () => {
    const xml = readFileSync(join(XML_DATA, 'factur-x.xml'));
    const signed = await sign(xml, { mimeType: 'application/xml' });
    assert.match(signed.toString('utf8'), /<xades:MimeType>application\/xml<\/xades:MimeType>/);
    assertVerifies(signed, 'application/xml');
    await assert.rejects(sign(xml, { mimeType: 'x\u00e9</y>', pool: 'inline' }), (error: unknown) => error instanceof SignetError && error.code === 'invalid_request');
  });

  test('an unknown level is unsupported_level; B-T without a timestamp client too', async () => {
    const xml = readFileSync(join(XML_DATA, 'factur-x.xml'));
    await assert.rejects(sign(xml, { level: 'B-X' as 'B-B' }), (error: unknown) => error instanceof SignetError && error.code === 'unsupported_level');
    await assert.rejects(sign(xml, { level: 'B-T' }), (error: unknown) => error instanceof SignetError && error.code === 'unsupported_level');
  });
});

describe('XAdES-B-T', () => {
  /** xmlsec1 verifies the signature; openssl ts -verify checks the token against the canonical SignatureValue. */
  async function assertSignatureTimestamp(signed: Buffer): Promise<void> {
    assertVerifies(signed, 'B-T');
    const text = signed.toString('utf8');
    assert.match(text, /<\/xades:SignedProperties><xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:SignatureTimeStamp Id="ts-id-[0-9a-f]+"><ds:CanonicalizationMethod Algorithm="http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#"\/><xades:EncapsulatedTimeStamp>/);
    const token = Buffer.from(/<xades:EncapsulatedTimeStamp>([^<]+)</.exec(text)![1], 'base64');
    // The imprint: exclusive c14n of the ds:SignatureValue element, computed here with the canonicalizer over the output.
    const sink = new StringSink();
    scanXml(text, new ExclusiveCanonicalizer(sink, { withComments: false, apex: (element) => element.localName === 'SignatureValue' }));
    assert.match(sink.text, /^<ds:SignatureValue xmlns:ds="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#" Id="value-id-[0-9a-f]+">[A-Za-z0-9+/=]+<\/ds:SignatureValue>$/);
    const digest = createHash('sha256').update(sink.text).digest('hex');
    const verified = run('openssl', ['ts', '-verify', '-digest', digest, '-token_in', '-in', writeTemp(token, 'tst'), '-CAfile', caFile,
      '-untrusted', join(work, 'pki', 'tsa.cert.pem')]);
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.output, /Verification: OK/);
  }

  test('token from openssl ts -reply: xmlsec1 verifies, openssl ts -verify accepts the token', async () => {
    const signed = await sign(readFileSync(join(XML_DATA, 'CII_example1.xml')), { level: 'B-T', timestampClient: opensslTimestampClient() });
    await assertSignatureTimestamp(signed);
  });

  test('token from the built-in TSA (in process): xmlsec1 and openssl ts -verify accept it', async () => {
    const authority = new TimestampAuthority({ keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem });
    const signed = await sign(readFileSync(join(XML_DATA, 'ubl-tc434-example1.xml')), { level: 'B-T', timestampClient: new InProcessTimestampClient(authority) });
    await assertSignatureTimestamp(signed);
  });
});

describe('worker pool', () => {
  test('20 documents signed concurrently, each verifies', async () => {
    const names = Array.from({ length: 20 }, (_, i) => MUST_SIGN[i % MUST_SIGN.length]);
    const originals = names.map((name) => readFileSync(join(XML_DATA, name)));
    const signed = await Promise.all(originals.map((xml) => sign(xml)));
    signed.forEach((document, i) => {
      assertOnlySignatureInserted(originals[i], document);
      assertVerifies(document, `${names[i]} #${i}`);
    });
  });

  test('the event loop stays responsive while a large document is canonicalized in a worker', async () => {
    const large = largeInvoice(2 * 1024 * 1024);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const signed = await sign(large);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assertVerifies(signed, 'large');
    if (elapsed > 100) assert.ok(ticks >= (elapsed / 5) * 0.3, `only ${ticks} timer ticks in ${elapsed.toFixed(0)} ms`);
  });

  test('a closed pool refuses work with shutting_down', async () => {
    const own = new XadesPool({ size: 1 });
    assertVerifies(await signXades(readFileSync(join(XML_DATA, 'factur-x.xml')), { signer: pki.signer, signingTime: new Date(), level: 'B-B', pool: own }), 'own pool');
    await own.close();
    await assert.rejects(
      signXades(readFileSync(join(XML_DATA, 'factur-x.xml')), { signer: pki.signer, signingTime: new Date(), level: 'B-B', pool: own }),
      (error: unknown) => error instanceof SignetError && error.code === 'shutting_down',
    );
  });
});

/** UBL example 1 with its invoice lines repeated up to about `size` bytes. */
function largeInvoice(size: number): Buffer {
  const ubl = readFileSync(join(XML_DATA, 'ubl-tc434-example1.xml'), 'utf8');
  const first = ubl.indexOf('<cac:InvoiceLine>');
  const last = ubl.lastIndexOf('</cac:InvoiceLine>') + '</cac:InvoiceLine>'.length;
  const lines = ubl.slice(first, last);
  const parts: string[] = [];
  for (let length = 0; length < size; length += lines.length) parts.push(lines);
  return Buffer.from(ubl.slice(0, first) + parts.join('') + ubl.slice(last));
}

/** An EC signer certificate issued by the development CA with openssl itself. */
function ecSigner(curve: string): Signer {
  const base = join(work, `ec-${curve}`);
  writeFileSync(`${base}.ext`, 'keyUsage=critical,digitalSignature,nonRepudiation\n');
  for (const args of [
    ['ecparam', '-genkey', '-name', curve, '-noout', '-out', `${base}.key.pem`],
    ['req', '-new', '-key', `${base}.key.pem`, '-subj', `/CN=EC ${curve}`, '-out', `${base}.csr`],
    ['x509', '-req', '-in', `${base}.csr`, '-CA', caFile, '-CAkey', join(work, 'pki', 'ca.key.pem'), '-set_serial', '0x4321',
      '-days', '30', '-sha256', '-extfile', `${base}.ext`, '-out', `${base}.cert.pem`],
  ]) {
    const result = run('openssl', args);
    assert.equal(result.status, 0, result.output);
  }
  chmodSync(`${base}.key.pem`, 0o600);
  return createPemSigner({
    name: `ec-${curve}`,
    keyPem: readFileSync(`${base}.key.pem`, 'utf8'),
    certificatePem: readFileSync(`${base}.cert.pem`, 'utf8'),
    chainPem: pki.caCertificatePem,
  });
}

/** A TimestampClient answered by `openssl ts -reply` with the development TSA certificate. */
function opensslTimestampClient(): TimestampClient {
  const folder = join(work, 'tsa');
  const config = join(work, 'tsa.cnf');
  if (!existsSync(config)) {
    spawnSync('mkdir', ['-p', folder]);
    writeFileSync(join(folder, 'serial'), '01\n');
    writeFileSync(
      config,
      [
        '[ tsa ]',
        'default_tsa = signet_test_tsa',
        '[ signet_test_tsa ]',
        `serial = ${join(folder, 'serial')}`,
        `signer_cert = ${join(work, 'pki', 'tsa.cert.pem')}`,
        `signer_key = ${join(work, 'pki', 'tsa.key.pem')}`,
        `certs = ${caFile}`,
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        'digests = sha256',
        'accuracy = secs:1',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
  }
  return {
    name: 'openssl ts -reply',
    async timestamp(digest, hash) {
      const query = join(folder, `q-${++fileCounter}.tsq`);
      const token = join(folder, `t-${fileCounter}.tst`);
      const made = run('openssl', ['ts', '-query', '-digest', digest.toString('hex'), `-${hash}`, '-cert', '-out', query]);
      assert.equal(made.status, 0, made.output);
      const replied = run('openssl', ['ts', '-reply', '-config', config, '-queryfile', query, '-token_out', '-out', token]);
      assert.equal(replied.status, 0, replied.output);
      return readFileSync(token);
    },
  };
}
