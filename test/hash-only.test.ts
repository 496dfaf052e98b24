import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPdf } from './support/pdf-bytes.js';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';

/**
 * Signing a hash only (API.md §3): the content never reaches Signet, yet the detached CMS it answers
 * verifies against the original with openssl; with the PAdES profile the CMS goes into a PDF the test
 * builds itself and pdfsig finds the signature valid.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const digestOf = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('base64');

for (const store of testStores()) {
  describe(`hash-only signing (${store})`, () => {
    let service: TestService;
    let scratch: string;
    let caFile: string;

    before(async () => {
      service = await startTestService({ store });
      scratch = await mkdtemp(path.join(tmpdir(), 'signet-hash-only-'));
      caFile = path.join(scratch, 'ca.pem');
      await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
    });
    after(async () => {
      await service.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    async function sign(body: unknown) {
      const response = await fetch(`${service.url}/v1/signatures`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json', prefer: 'wait=30' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    }

    async function download(link: string): Promise<Buffer> {
      const response = await fetch(`${service.url}${link}`, { headers: { authorization: AUTH } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/pkcs7-signature');
      return Buffer.from(await response.arrayBuffer());
    }

    async function opensslVerify(signature: Buffer, content: Buffer) {
      const signatureFile = path.join(scratch, `${randomBytes(4).toString('hex')}.p7s`);
      const contentFile = `${signatureFile}.content`;
      await writeFile(signatureFile, signature);
      await writeFile(contentFile, content);
      return run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', signatureFile, '-content', contentFile, '-CAfile', caFile, '-out', '/dev/null']);
    }

    test('a .p7s made from a SHA-256, SHA-384 or SHA-512 digest verifies against the original it never saw, at every level', async () => {
      const original = randomBytes(300_000);
      const cases = [
        ['SHA-256', 'sha256', 'B-B'],
        ['SHA-384', 'sha384', 'B-T'],
        ['SHA-512', 'sha512', 'B-LT'],
        ['SHA-256', 'sha256', 'B-LTA'],
      ] as const;
      const { status, body } = await sign({
        externalReference: `hash-only-${store}`,
        documents: cases.map(([algorithm, hash, level], index) => ({
          name: `report-${index}.bin`,
          digest: { algorithm, value: digestOf(hash, original) },
          signature: { level },
        })),
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.status, 'SUCCEEDED', JSON.stringify(body));
      for (const [index, [algorithm, hash, level]] of cases.entries()) {
        const document = body.documents[index];
        assert.equal(document.status, 'SIGNED', JSON.stringify(document));
        assert.equal(document.format, 'CAdES');
        assert.equal(document.level, level);
        assert.equal(document.size, 0, 'nothing of the content was stored');
        const signature = await download(document.links.content);
        const verified = await opensslVerify(signature, original);
        assert.equal(verified.status, 0, `${algorithm} ${level}: ${verified.stderr}`);
        assert.match(verified.stderr, /Verification successful/);
        const tampered = Buffer.from(original);
        tampered[1000] ^= 1;
        assert.notEqual((await opensslVerify(signature, tampered)).status, 0, `${algorithm}: a changed original verified`);
        const structure = run('openssl', ['asn1parse', '-inform', 'DER'], signature).stdout;
        assert.match(structure, new RegExp(hash === 'sha256' ? 'sha256' : hash === 'sha384' ? 'sha384' : 'sha512'), `${algorithm}: digestAlgorithm`);
        if (level !== 'B-B') assert.match(structure, /id-smime-aa-timeStampToken|1\.2\.840\.113549\.1\.9\.16\.2\.14/, `${level}: a signature time-stamp`);
      }
    });

    test('wrong digests and impossible combinations are 400 invalid_request, nothing signed', async () => {
      const good = digestOf('sha256', Buffer.from('x'));
      const refused = [
        { name: 'short', digest: { algorithm: 'SHA-256', value: Buffer.alloc(31).toString('base64') } },
        { name: 'long', digest: { algorithm: 'SHA-384', value: Buffer.alloc(64).toString('base64') } },
        { name: 'not base64', digest: { algorithm: 'SHA-256', value: '!!!!' } },
        { name: 'both', content: Buffer.from('x').toString('base64'), digest: { algorithm: 'SHA-256', value: good } },
        { name: 'neither' },
        { name: 'a.pdf', digest: { algorithm: 'SHA-256', value: good }, signature: { format: 'PAdES' } },
        { name: 'lta', digest: { algorithm: 'SHA-512', value: Buffer.alloc(64).toString('base64') }, signature: { level: 'B-LTA' } },
        { name: 'profile', digest: { algorithm: 'SHA-256', value: good }, signature: { profile: 'PAdES', level: 'B-LT' } },
      ];
      for (const [index, document] of refused.entries()) {
        const { status, body } = await sign({ externalReference: `refused-${store}-${index}`, documents: [document] });
        assert.equal(status, 400, `${document.name}: ${JSON.stringify(body)}`);
        assert.equal(body.code, 'invalid_request', document.name);
        assert.ok(body.field?.startsWith('documents[0]'), `${document.name}: ${body.field}`);
      }
    });

    test('multipart: a document given by its digest takes no files part; the others keep their order', async () => {
      const first = Buffer.from('first, sent whole');
      const second = randomBytes(5000);
      const form = new FormData();
      form.append(
        'request',
        JSON.stringify({
          externalReference: `multipart-hash-${store}`,
          signature: { format: 'CAdES', level: 'B-T' },
          documents: [{ name: 'first.txt' }, { name: 'second.bin', digest: { algorithm: 'SHA-256', value: digestOf('sha256', second) } }, { name: 'third.txt' }],
        }),
      );
      form.append('files', new Blob([new Uint8Array(first)]), 'first.txt');
      form.append('files', new Blob([new Uint8Array(Buffer.from('third'))]), 'third.txt');
      const response = await fetch(`${service.url}/v1/signatures`, { method: 'POST', headers: { authorization: AUTH, prefer: 'wait=30' }, body: form });
      const body = (await response.json()) as any;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(body.documents.map((doc: any) => [doc.name, doc.status, doc.size]), [['first.txt', 'SIGNED', first.length], ['second.bin', 'SIGNED', 0], ['third.txt', 'SIGNED', 5]]);
      assert.equal((await opensslVerify(await download(body.documents[0].links.content), first)).status, 0);
      assert.equal((await opensslVerify(await download(body.documents[1].links.content), second)).status, 0);
      assert.equal((await opensslVerify(await download(body.documents[2].links.content), Buffer.from('third'))).status, 0);
    });

    test('profile PAdES: the CMS over a /ByteRange digest, put in the PDF’s /Contents by the client, is a valid ETSI.CAdES.detached signature for pdfsig', async () => {
      const placeholder = '0'.repeat(2 * 16384);
      const byteRangeSlot = '/ByteRange [0 0000000000 0000000000 0000000000]';
      let pdf = buildPdf([
        '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>',
        '<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P 3 0 R /V 5 0 R >>',
        `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached ${byteRangeSlot} /Contents <${placeholder}> /M (D:20261207120000Z) >>`,
      ]);
      const contentsStart = pdf.indexOf(`<${placeholder}>`);
      const contentsEnd = contentsStart + placeholder.length + 2;
      const byteRange = `/ByteRange [0 ${contentsStart} ${contentsEnd} ${pdf.length - contentsEnd}]`.padEnd(byteRangeSlot.length, ' ');
      pdf = Buffer.from(pdf.toString('latin1').replace(byteRangeSlot, byteRange), 'latin1');
      const signedBytes = Buffer.concat([pdf.subarray(0, contentsStart), pdf.subarray(contentsEnd)]);

      const { status, body } = await sign({
        externalReference: `pades-profile-${store}`,
        documents: [{ name: 'contract.pdf', digest: { algorithm: 'SHA-256', value: digestOf('sha256', signedBytes) }, signature: { profile: 'PAdES', level: 'B-T' } }],
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.documents[0].status, 'SIGNED', JSON.stringify(body.documents[0]));
      const cms = await download(body.documents[0].links.content);
      assert.doesNotMatch(run('openssl', ['asn1parse', '-inform', 'DER'], cms).stdout, /signingTime/, 'the PAdES profile has no signingTime attribute');
      const hex = cms.toString('hex').toUpperCase();
      assert.ok(hex.length <= placeholder.length);
      pdf.write(hex.padEnd(placeholder.length, '0'), contentsStart + 1, 'latin1');
      const file = path.join(scratch, 'contract.pdf');
      await writeFile(file, pdf);
      const report = run('pdfsig', [...PDFSIG_OFFLINE, file]).stdout;
      assert.match(report, /Signature Type: ETSI\.CAdES\.detached/, report);
      assert.match(report, /Signature is Valid\./, report);
      assert.match(report, /Total document signed/, report);
      // A byte changed in the signed range breaks it.
      pdf[pdf.indexOf('/MediaBox') + 1] ^= 0x20;
      await writeFile(file, pdf);
      assert.doesNotMatch(run('pdfsig', [...PDFSIG_OFFLINE, file]).stdout, /Signature is Valid\./);
    });
  });
}
