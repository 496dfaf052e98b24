import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { createWorkFolder, rawRequest, readMemory, startChildService, type ChildService } from './support/child-service.js';
import { basicAuth, waitUntilFinal } from './support/test-service.js';

/**
 * API.md §10 / issue 14: a 200 MB FileData — inline base64 (270 MB of XML text) and as an MTOM
 * attachment — registers while the server's peak RSS stays under 300 MB: the envelope is read as it
 * streams and FileData goes to the content store chunk by chunk, as a REST upload does.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const MB = 1024 * 1024;
const SIZE = 200 * MB;
const PEAK_RSS_LIMIT = 300 * MB;
// A multiple of 3, so that the base64 of each chunk can simply be concatenated.
const CHUNK = 3 * 256 * 1024;
const NS = 'urn:signet:copytrust:v1';

const children: ChildService[] = [];
const folders: string[] = [];
after(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** `size` deterministic pseudo-random bytes, generated as they are read, hashed on the way. */
function content(size: number, hash: ReturnType<typeof createHash>, encode: (chunk: Buffer) => Buffer = (chunk) => chunk): AsyncIterable<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 5), Buffer.alloc(16, 6));
  const zeros = Buffer.alloc(CHUNK);
  return (async function* () {
    for (let left = size; left > 0; ) {
      const n = Math.min(CHUNK, left);
      left -= n;
      const chunk = cipher.update(zeros.subarray(0, n));
      hash.update(chunk);
      yield encode(chunk);
    }
  })();
}

function body(head: string, middle: AsyncIterable<Buffer>, tail: string): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(head);
      yield* middle;
      yield Buffer.from(tail);
    })(),
    { objectMode: false },
  );
}

function sampleMemory(pid: number) {
  let peak = 0;
  let hwm = 0;
  const take = () => {
    const memory = readMemory(pid);
    if (memory) (peak = Math.max(peak, memory.rss)), (hwm = Math.max(hwm, memory.hwm));
  };
  const timer = setInterval(take, 50);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peak, hwm };
    },
  };
}

const fields = (fileData: string) =>
  `<FileName>big.bin</FileName><FileData>${fileData}</FileData><UserID>u-big</UserID><UserEMail>big@example.org</UserEMail>`;

describe('COPYTRUST SOAP with a 200 MB FileData', () => {
  for (const shape of ['inline base64', 'MTOM'] as const) {
    test(`${shape}: registered with the exact bytes, server peak RSS under 300 MB`, { timeout: 240_000 }, async () => {
      const workFolder = await createWorkFolder();
      folders.push(workFolder);
      const child = await startChildService({ workFolder, flags: ['--workers=1'] });
      children.push(child);
      const sampler = sampleMemory(child.pid);
      const hash = createHash('sha256');
      const started = Date.now();
      let request: { contentType: string; stream: Readable };
      if (shape === 'inline base64') {
        const [head, tail] = fields('\u0000').split('\u0000');
        request = {
          contentType: 'text/xml; charset=utf-8',
          stream: body(
            `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SubmitFileRegistrationTask xmlns="${NS}">${head}`,
            content(SIZE, hash, (chunk) => Buffer.from(`${chunk.toString('base64')}\n`)),
            `${tail}</SubmitFileRegistrationTask></s:Body></s:Envelope>`,
          ),
        };
      } else {
        const boundary = 'MIMEBoundary_signet_large';
        const root = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><SubmitFileRegistrationTask xmlns="${NS}">${fields(
          '<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:big@signet.test"/>',
        )}</SubmitFileRegistrationTask></s:Body></s:Envelope>`;
        request = {
          contentType: `multipart/related; type="application/xop+xml"; start="<root@signet.test>"; start-info="application/soap+xml"; boundary=${boundary}`,
          stream: body(
            `--${boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\nContent-ID: <root@signet.test>\r\n\r\n${root}\r\n` +
              `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <big@signet.test>\r\n\r\n`,
            content(SIZE, hash),
            `\r\n--${boundary}--\r\n`,
          ),
        };
      }
      const response = await rawRequest(`${child.url}/copytrust/soap`, { headers: { authorization: AUTH, 'content-type': request.contentType }, body: request.stream });
      const uploadMs = Date.now() - started;
      assert.equal(response.status, 200, response.body.toString());
      const taskId = /<TaskID>([^<]+)<\/TaskID>/.exec(response.body.toString())?.[1];
      assert.ok(taskId, response.body.toString());
      const task = await waitUntilFinal(child.url, AUTH, taskId, 120_000);
      const memory = sampler.stop();
      console.log(
        `SOAP ${shape} 200 MB: ${uploadMs} ms to TaskID, ${Date.now() - started} ms to ${task.status}; ` +
          `peak RSS sampled ${(memory.peak / MB).toFixed(0)} MB, VmHWM ${(memory.hwm / MB).toFixed(0)} MB`,
      );
      assert.equal(task.status, 'SUCCEEDED', JSON.stringify(task));
      const registration = (await (await fetch(`${child.url}/v1/registrations/${task.rid}`, { headers: { authorization: AUTH } })).json()) as any;
      assert.equal(registration.object.size, SIZE);
      assert.equal(registration.object.sha256, hash.digest('hex'), 'the server registered other bytes than were sent');
      assert.ok(memory.hwm < PEAK_RSS_LIMIT, `peak RSS (VmHWM) ${(memory.hwm / MB).toFixed(1)} MB ≥ 300 MB`);
      await child.kill();
    });
  }
});
