import { request } from 'node:http';

/** The client service every batch benchmark configures: `bench` / `bench-secret`. */
export const auth = `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`;

/** Streams a multipart body: the request part, then N copies of the PDF; nothing big is built in memory. */
export function uploadBatch(url: string, signature: object, pdf: Buffer, count: number): Promise<string> {
  const boundary = 'signet-bench-boundary';
  const documents = Array.from({ length: count }, (_, i) => ({ name: `doc-${i}.pdf`, contentType: 'application/pdf', externalReference: `d-${i}` }));
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="request"\r\n\r\n` +
      JSON.stringify({ externalReference: `bench-${Date.now()}`, signature, documents }) +
      '\r\n',
  );
  const fileHead = (i: number) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="doc-${i}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`);
  const tail = Buffer.from(`--${boundary}--\r\n`);
  let length = head.length + tail.length;
  for (let i = 0; i < count; i++) length += fileHead(i).length + pdf.length + 2;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': length },
    }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(body).taskId) : reject(new Error(`${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    (async () => {
      const write = (b: Buffer) => (req.write(b) ? Promise.resolve() : new Promise<void>((r) => req.once('drain', r)));
      await write(head);
      for (let i = 0; i < count; i++) {
        await write(fileHead(i));
        await write(pdf);
        await write(Buffer.from('\r\n'));
      }
      req.end(tail);
    })().catch(reject);
  });
}

export async function waitDone(url: string, taskId: string): Promise<any> {
  for (;;) {
    const task = (await (await fetch(`${url}/v1/tasks/${taskId}`, { headers: { authorization: auth } })).json()) as any;
    if (['SUCCEEDED', 'FAILED'].includes(task.status)) return task;
    await new Promise((r) => setTimeout(r, 100));
  }
}
