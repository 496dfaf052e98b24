import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from './tools.js';

/**
 * A test PKI made with the openssl command line, in a folder of its own: a root CA, certificates it
 * issues with any extensions, its `index.txt` (openssl ca's database), CRLs from `openssl ca -gencrl`
 * and `openssl ocsp` responders over that database — independent tools, not Signet's own code.
 */
export class OpensslPki {
  readonly folder = mkdtempSync(path.join(tmpdir(), 'signet-pki-'));
  readonly #responders: ChildProcess[] = [];

  file(name: string): string {
    return path.join(this.folder, name);
  }

  openssl(...args: string[]): string {
    const result = run('openssl', args);
    assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  /** The DER of a PEM certificate file of the folder. */
  der(pemFile: string): Buffer {
    return Buffer.from(readFileSync(this.file(pemFile), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  }

  createRoot(subject = '/CN=Test Root'): void {
    this.openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.file('ca.key'), '-subj', subject, '-days', '30', '-out', this.file('ca.pem'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }

  /** A certificate signed by `issuer` (the root by default), with extensions from `extensions` (openssl extension lines). */
  issue(name: string, subject: string, extensions: string, issuer = 'ca', days = 30): void {
    this.openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.file(`${name}.key`), '-subj', subject, '-out', this.file(`${name}.csr`));
    writeFileSync(this.file(`${name}.ext`), extensions);
    this.openssl('x509', '-req', '-in', this.file(`${name}.csr`), '-CA', this.file(`${issuer}.pem`), '-CAkey', this.file(`${issuer}.key`), '-CAcreateserial', '-days', String(days),
      '-extfile', this.file(`${name}.ext`), '-out', this.file(`${name}.pem`));
  }

  serialOf(name: string): string {
    return this.openssl('x509', '-in', this.file(`${name}.pem`), '-noout', '-serial').trim().split('=')[1]!;
  }

  /** The database file of CA `ca`: index.txt for the root ("ca"), <ca>.index.txt for others. */
  indexFile(ca = 'ca'): string {
    return this.file(ca === 'ca' ? 'index.txt' : `${ca}.index.txt`);
  }

  /**
   * openssl ca's index.txt of CA `ca` (the root by default): `good` names valid certificates, `revoked`
   * maps names to "YYMMDDHHMMSSZ,reason".
   */
  writeIndex(entries: { good: Record<string, string>; revoked?: Record<string, { subject: string; at: string }> }, ca = 'ca'): void {
    const expiry = '491231235959Z';
    const lines = [
      ...Object.entries(entries.good).map(([name, subject]) => `V\t${expiry}\t\t${this.serialOf(name)}\tunknown\t${subject}`),
      ...Object.entries(entries.revoked ?? {}).map(([name, { subject, at }]) => `R\t${expiry}\t${at}\t${this.serialOf(name)}\tunknown\t${subject}`),
    ];
    writeFileSync(this.indexFile(ca), `${lines.join('\n')}\n`);
  }

  /** `openssl ca -gencrl` of CA `ca` over its index: the CRL's DER (valid for a day). */
  crl(ca = 'ca'): Buffer {
    const at = (suffix: string) => this.file(`${ca}.${suffix}`);
    writeFileSync(at('crlnumber'), '01\n');
    writeFileSync(
      at('cnf'),
      ['[ ca ]', 'default_ca = test_ca', '[ test_ca ]', `database = ${this.indexFile(ca)}`, `crlnumber = ${at('crlnumber')}`, 'default_md = sha256',
        'default_crl_days = 1', `certificate = ${this.file(`${ca}.pem`)}`, `private_key = ${this.file(`${ca}.key`)}`, ''].join('\n'),
    );
    this.openssl('ca', '-config', at('cnf'), '-gencrl', '-out', at('crl.pem'));
    this.openssl('crl', '-in', at('crl.pem'), '-outform', 'DER', '-out', at('crl.der'));
    return readFileSync(at('crl.der'));
  }

  /**
   * `openssl ocsp` over the index of CA `ca` on `port` (OpenSSL 3.0 takes a port only; it is reached on
   * loopback), signing with `signer`. Ready once it says so — never probed by a bare connection:
   * OpenSSL 3.0's responder spins at full CPU after a client that connects and closes without a request.
   */
  async startResponder(signer: string, port: number, ca = 'ca'): Promise<string> {
    const child = spawn('openssl', ['ocsp', '-index', this.indexFile(ca), '-port', String(port), '-CA', this.file(`${ca}.pem`), '-rsigner', this.file(`${signer}.pem`),
      '-rkey', this.file(`${signer}.key`), '-nmin', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#responders.push(child);
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${output}`)), 10_000);
      const listen = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('waiting for OCSP client connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', listen);
      child.stderr!.on('data', listen);
      child.once('exit', (code) => reject(new Error(`openssl ocsp exited (${code}): ${output}`)));
    });
    return `http://127.0.0.1:${port}`;
  }

  destroy(): void {
    for (const child of this.#responders) child.kill();
    rmSync(this.folder, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `server` on an ephemeral loopback port (a CA's web presence, a relay, a list host); answers the port. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}
