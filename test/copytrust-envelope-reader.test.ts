import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { readSoapRequest } from '../src/http/copytrust/read-soap-request.js';

/**
 * The streaming envelope reader gives the same call whatever the chunking of the body: a reference,
 * a multi-byte character, a tag, a base64 group or an MTOM boundary cut between two chunks.
 */

const NS = 'urn:signet:copytrust:v1';

function chunked(body: Buffer, size: number): AsyncIterable<Buffer> {
  return (async function* () {
    for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
  })();
}

async function read(body: Buffer, size: number, contentType = 'text/xml; charset=utf-8') {
  const received: Buffer[] = [];
  let authenticatedWith: unknown;
  const call = await readSoapRequest(chunked(body, size), contentType, 1024 * 1024, {
    async authenticate(header) {
      authenticatedWith = header;
    },
    openFileData() {
      return new Writable({
        write(chunk: Buffer, _encoding, callback) {
          received.push(chunk);
          callback();
        },
      });
    },
  });
  return { call, fileData: Buffer.concat(received), header: authenticatedWith };
}

const fileData = randomBytes(5000);
const envelope = Buffer.from(
  `<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="${NS}">` +
    '<soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" soapenv:mustUnderstand="1">' +
    '<wsse:UsernameToken><wsse:Username>client-a</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">s&amp;cret&#x20AC;</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>' +
    `<soapenv:Body><c:SubmitFileRegistrationTask><c:FileName>Überweisung &lt;März&gt; 日本.pdf</c:FileName><c:FileData>\n${fileData.toString('base64').replace(/.{76}/g, '$&\n')}\n</c:FileData>` +
    '<c:Title><![CDATA[a <title> & more]]></c:Title><c:UserID>u-1</c:UserID><c:UserEMail>a@example.org</c:UserEMail></c:SubmitFileRegistrationTask></soapenv:Body></soapenv:Envelope>\n',
);

describe('streaming SOAP envelope reader', () => {
  for (const size of [1, 3, 7, 64, 1000, envelope.length]) {
    test(`an envelope in chunks of ${size} byte(s) reads the same`, async () => {
      const { call, fileData: bytes, header } = await read(envelope, size);
      assert.equal(call.version, '1.1');
      assert.equal(call.operation, 'SubmitFileRegistrationTask');
      assert.equal(call.fields.get('FileName'), 'Überweisung <März> 日本.pdf');
      assert.equal(call.fields.get('Title'), 'a <title> & more');
      assert.equal(call.fields.get('UserID'), 'u-1');
      assert.ok(bytes.equals(fileData), 'FileData decoded differently');
      assert.deepEqual(header, { version: '1.1', usernameToken: { username: 'client-a', password: 's&cret€' } });
    });
  }

  test('MTOM: the attachment’s bytes arrive intact whatever the chunking, near-boundaries inside them included', async () => {
    const boundary = 'MIME_boundary_x';
    // Prefixes of the delimiter (a whole one may not occur inside a part, RFC 2046 §5.1.1).
    const attachment = Buffer.concat([randomBytes(3000), Buffer.from(`\r\n--${boundary.slice(0, -1)}\r\n--\r\n`), randomBytes(3000), Buffer.from('\r\n-')]);
    const root = `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><SubmitFileRegistrationTask xmlns="${NS}"><FileName>a</FileName><FileData><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:part2"/></FileData><UserID>u</UserID><UserEMail>a@b.cc</UserEMail></SubmitFileRegistrationTask></e:Body></e:Envelope>`;
    const body = Buffer.concat([
      Buffer.from(`preamble\r\n--${boundary}\r\nContent-Type: application/xop+xml; type="application/soap+xml"\r\nContent-ID: <part1>\r\n\r\n${root}\r\n--${boundary}\r\nContent-ID: <part2>\r\n\r\n`),
      attachment,
      Buffer.from(`\r\n--${boundary}--\r\nepilogue`),
    ]);
    for (const size of [1, 5, 17, 4096, body.length]) {
      const { call, fileData: bytes } = await read(body, size, `multipart/related; type="application/xop+xml"; start="<part1>"; boundary=${boundary}`);
      assert.equal(call.version, '1.2');
      assert.equal(call.fileDataAttachment, 'part2');
      assert.ok(bytes.equals(attachment), `chunks of ${size}: the attachment changed`);
    }
  });

  test('an entity reference, a tag or a base64 group cut at the end of the body is an error, not a hang', async () => {
    for (const cut of [envelope.indexOf('&amp;') + 2, envelope.indexOf('<c:Title>') + 4, envelope.indexOf('</c:FileData>') - 30]) {
      await assert.rejects(read(envelope.subarray(0, cut), 16), (error: any) => ['invalid_envelope', 'invalid_base64'].includes(error.code), `cut at ${cut}`);
    }
  });

  test('a sink that fails mid-upload (the content store) ends the read with its error instead of leaving it waiting for room', async () => {
    const big = Buffer.from(
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SubmitFileRegistrationTask xmlns="${NS}"><FileName>a</FileName><FileData>` +
        `${randomBytes(4 * 1024 * 1024).toString('base64')}</FileData><UserID>u</UserID><UserEMail>a@b.cc</UserEMail></SubmitFileRegistrationTask></s:Body></s:Envelope>`,
    );
    let writes = 0;
    const reading = readSoapRequest(chunked(big, 64 * 1024), 'text/xml', 64 * 1024 * 1024, {
      async authenticate() {},
      openFileData() {
        // Takes a little, then fails as a full disk would: never drains again.
        return new Writable({
          highWaterMark: 16 * 1024,
          write(_chunk, _encoding, callback) {
            if (++writes === 3) callback(new Error('ENOSPC (simulated)'));
            else setTimeout(callback, 1);
          },
        }).on('error', () => {});
      },
    });
    const outcome = await Promise.race([reading.then(() => 'resolved', (error: Error) => error.message), new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000))]);
    assert.equal(outcome, 'ENOSPC (simulated)');
  });
});
