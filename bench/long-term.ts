/**
 * Issue 12's speed goal: one operation of N × 200 KB PDFs through the HTTP API at PAdES-B-LT with a key
 * from another CA and an external TSA, beside the same operation at PAdES-B-T in the same run.
 *
 * Set-up, all on loopback: a CA made with openssl whose signer certificate names `openssl ocsp` (behind a
 * counting relay) in its AIA and a CRL distribution point served here; the external TSA is a second
 * `signet serve` (its POST /tsa, its TSA certificate naming its own /pki/ocsp); the signing service runs
 * in a child process with `--tsa-url` and `--outbound-allow 127.0.0.1`. Printed: time to upload and to
 * sign, the server's peak RSS, requests that reached the signer's OCSP responder, and B-LT / B-T.
 *
 *   node --import tsx bench/long-term.ts [documents=2500] [rounds=2]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { generatedPdf } from './support/generated-pdf.js';
import { auth, uploadBatch, waitDone } from './support/batch-upload.js';

const COUNT = Number(process.argv[2] ?? 2500);
const ROUNDS = Number(process.argv[3] ?? 2);
const workFolders: string[] = [];

function openssl(...args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const scratch = await mkdtemp(path.join(tmpdir(), 'signet-bench-lt-'));
const at = (name: string) => path.join(scratch, name);
const children: ChildProcess[] = [];
const servers: ChildServer[] = [];
let ocspRequests = 0;
try {
  // The CA's web presence: its CRL, fetched only if OCSP fails.
  const web = http.createServer(async (_request, response) => response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(await readFile(at('ca.crl.der'))));
  const webPort = await listen(web);
  const responderPort = await freePort();
  const relay = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    ocspRequests++;
    const answer = await fetch(`http://127.0.0.1:${responderPort}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.concat(chunks) });
    response.writeHead(answer.status, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  const relayPort = await listen(relay);

  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca.key'), '-subj', '/CN=Bench Root', '-days', '30', '-out', at('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('seal.key'), '-subj', '/CN=Bench Seal', '-out', at('seal.csr'));
  await writeFile(at('seal.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:${relayPort}/ocsp\ncrlDistributionPoints=URI:http://127.0.0.1:${webPort}/ca.crl\n`);
  openssl('x509', '-req', '-in', at('seal.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '30', '-extfile', at('seal.ext'), '-out', at('seal.pem'));
  const serial = spawnSync('openssl', ['x509', '-in', at('seal.pem'), '-noout', '-serial'], { encoding: 'utf8' }).stdout.trim().split('=')[1];
  await writeFile(at('index.txt'), `V\t491231235959Z\t\t${serial}\tunknown\t/CN=Bench Seal\n`);
  await writeFile(at('crlnumber'), '01\n');
  await writeFile(at('ca.cnf'), `[ ca ]\ndefault_ca = c\n[ c ]\ndatabase = ${at('index.txt')}\ncrlnumber = ${at('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 1\n`);
  openssl('ca', '-config', at('ca.cnf'), '-gencrl', '-cert', at('ca.pem'), '-keyfile', at('ca.key'), '-out', at('ca.crl.pem'));
  openssl('crl', '-in', at('ca.crl.pem'), '-outform', 'DER', '-out', at('ca.crl.der'));
  const responder = spawn('openssl', ['ocsp', '-index', at('index.txt'), '-port', String(responderPort), '-CA', at('ca.pem'), '-rsigner', at('ca.pem'), '-rkey', at('ca.key'), '-nmin', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(responder);
  await new Promise<void>((resolve) => {
    const ready = (chunk: Buffer) => chunk.toString().includes('waiting for OCSP client connections') && resolve();
    responder.stdout!.on('data', ready);
    responder.stderr!.on('data', ready);
  });

  // The external TSA: another Signet, its public address fixed so its certificates name its responder.
  const tsaFolder = await mkdtemp(path.join(tmpdir(), 'signet-bench-tsa-'));
  await writeFile(path.join(tsaFolder, 'client-services-config.json'), '{}');
  const tsaPort = await freePort();
  const tsa = await startChildServer(tsaFolder, [`--port=${tsaPort}`, `--public-url=http://127.0.0.1:${tsaPort}`]);
  servers.push(tsa);

  const pdf = generatedPdf();
  console.log(`${COUNT} × ${(pdf.length / 1024).toFixed(0)} KB PDFs in one multipart operation, key from an openssl CA, external TSA (${tsa.url}/tsa), Node ${process.version}`);
  const results: Record<string, number> = {};
  // Best of ROUNDS, the order alternating (B-T first, then B-LT first), work folders removed only at the
  // end: on this machine's ext4 (no journal) files created within minutes of thousands of deletions cost
  // several times more, so removing one level's 5,000 blobs right before the other taxed the second.
  const order = Array.from({ length: ROUNDS }, (_, round) => (round % 2 === 0 ? ['B-T', 'B-LT'] : ['B-LT', 'B-T'])).flat();
  for (const level of order) {
    const workFolder = await mkdtemp(path.join(tmpdir(), 'signet-bench-lt-work-'));
    workFolders.push(workFolder);
    await writeFile(path.join(workFolder, 'client-services-config.json'), JSON.stringify({ bench: { secret: 'bench-secret', keys: ['seal'] } }));
    await writeFile(path.join(workFolder, 'signing-keys.json'), JSON.stringify({ keys: { seal: { type: 'pem', key: at('seal.key'), certificate: at('seal.pem'), chain: at('ca.pem') } } }));
    // Counted from the start: the key's status is established then, and B-LT reuses that answer.
    const before = ocspRequests;
    const server = await startChildServer(workFolder, ['--max-body-size=2gb', '--max-documents=5000', `--tsa-url=${tsa.url}/tsa`, '--outbound-allow=127.0.0.1']);
    try {
      const start = performance.now();
      const taskId = await uploadBatch(server.url, { format: 'PAdES', level, key: 'seal' }, pdf, COUNT);
      const uploaded = performance.now();
      const task = await waitDone(server.url, taskId);
      const done = performance.now();
      const operation = (await (await fetch(`${server.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
      const signed = operation.documents.filter((document: any) => document.status === 'SIGNED').length;
      const failure = operation.documents.find((document: any) => document.status !== 'SIGNED');
      if (failure) console.log(`  first failure: ${JSON.stringify(failure.error)}`);
      const rss = await server.peakRss();
      const seconds = (done - start) / 1000;
      results[level] = Math.min(results[level] ?? Infinity, seconds);
      console.log(
        `PAdES-${level.padEnd(5)} ${task.status}, ${signed}/${COUNT} signed; upload ${((uploaded - start) / 1000).toFixed(1)} s, signing ${((done - uploaded) / 1000).toFixed(1)} s, ` +
          `total ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(0)} docs/s), server peak RSS ${(rss / 1024 / 1024).toFixed(0)} MB, ` +
          `requests to the signer's OCSP responder (start included) ${ocspRequests - before}`,
      );
    } finally {
      await server.stop();
    }
  }
  console.log(`best of ${ROUNDS}: B-T ${results['B-T']!.toFixed(1)} s, B-LT ${results['B-LT']!.toFixed(1)} s`);
  console.log(`ratio PAdES-B-LT / PAdES-B-T total time: ${(results['B-LT']! / results['B-T']!).toFixed(2)} (issue 12 goal ≤ 1.2; B-LT ≤ 10 s)`);
  web.close();
  relay.close();
  await rm(tsaFolder, { recursive: true, force: true });
} finally {
  for (const server of servers) await server.stop();
  for (const child of children) child.kill();
  for (const folder of workFolders) await rm(folder, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
}
