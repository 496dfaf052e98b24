import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * An external RFC 3161 TSA made of `openssl ts -reply` behind a small HTTP wrapper (RFC 3161 §3.4:
 * POST application/timestamp-query → application/timestamp-reply). Each request runs openssl
 * asynchronously (one at a time), so a service in the same process keeps running while it answers. `up` false
 * answers 503; `requests` counts what reached openssl.
 */
export class OpensslTsa {
  up = true;
  requests = 0;
  #server?: http.Server;
  /** openssl ts keeps its serial number in a file: one reply at a time, as a TSA numbers its tokens. */
  #queue: Promise<unknown> = Promise.resolve();

  /** `folder` holds `<name>.pem` and `<name>.key` of a certificate with extendedKeyUsage critical timeStamping. */
  constructor(
    private readonly folder: string,
    private readonly name: string,
    private readonly options: { chainPem?: string; basicAuth?: string } = {},
  ) {}

  async start(): Promise<string> {
    const at = (file: string) => path.join(this.folder, file);
    writeFileSync(at(`${this.name}.serial`), '01\n');
    writeFileSync(
      at(`${this.name}.tsa.cnf`),
      ['[ tsa ]', 'default_tsa = tsa_config', '[ tsa_config ]', `serial = ${at(`${this.name}.serial`)}`, 'crypto_device = builtin',
        `signer_cert = ${at(`${this.name}.pem`)}`, `signer_key = ${at(`${this.name}.key`)}`, ...(this.options.chainPem ? [`certs = ${this.options.chainPem}`] : []),
        'signer_digest = sha256', 'default_policy = 1.2.3.4.1', 'digests = sha256, sha384, sha512', 'accuracy = secs:1', 'ordering = no',
        'tsa_name = no', 'ess_cert_id_chain = no', 'ess_cert_id_alg = sha256', ''].join('\n'),
    );
    this.#server = http.createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (!this.up) return response.writeHead(503).end();
      if (this.options.basicAuth && request.headers.authorization !== `Basic ${Buffer.from(this.options.basicAuth).toString('base64')}`) {
        return response.writeHead(401, { 'www-authenticate': 'Basic realm="tsa"' }).end();
      }
      this.requests++;
      const id = randomUUID();
      const query = at(`${id}.tsq`);
      const reply = at(`${id}.tsr`);
      try {
        await writeFile(query, Buffer.concat(chunks));
        const replied = this.#queue.then(() => execFileAsync('openssl', ['ts', '-reply', '-config', at(`${this.name}.tsa.cnf`), '-queryfile', query, '-out', reply]));
        this.#queue = replied.catch(() => {});
        await replied;
        response.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(await readFile(reply));
      } catch (error) {
        response.writeHead(500).end(String(error));
      } finally {
        await rm(query, { force: true });
        await rm(reply, { force: true });
      }
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/tsa`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
