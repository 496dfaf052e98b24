import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/**
 * `signet serve` as a real child process (not in-process like test-service.ts), for the tests that
 * need to kill it, restart it, or measure its memory.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildService {
  process: ChildProcess;
  pid: number;
  url: string;
  /** Every stdout/stderr line so far (pino JSON lines and anything else). */
  logs: string[];
  exited: Promise<ChildExit>;
  /** SIGKILL (if still alive) and wait for the exit; never throws. */
  kill(): Promise<ChildExit>;
}

/** A fresh work folder with `client-services-config.json` (one client unless told otherwise). */
export async function createWorkFolder(
  clients: Record<string, unknown> = { 'client-a': { secret: 'secret-a' } },
): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'signet-child-'));
  await writeFile(path.join(folder, 'client-services-config.json'), JSON.stringify(clients, null, 2));
  return folder;
}

/** Starts `node bin/signet.js serve` on an ephemeral port and waits for "signet is listening". */
export async function startChildService(
  options: { workFolder: string; flags?: string[]; startTimeoutMs?: number; nodeArgs?: string[] },
): Promise<ChildService> {
  const args = [
    ...(options.nodeArgs ?? []),
    'bin/signet.js',
    'serve',
    '--port=0',
    '--host=127.0.0.1',
    `--work-folder=${options.workFolder}`,
    '--log-level=info',
    ...(options.flags ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let onListening: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (onListening = resolve));
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        if (line.includes('"signet is listening"')) {
          try {
            onListening(JSON.parse(line).address as string);
          } catch {
            /* not JSON after all */
          }
        }
      }
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);

  const service: ChildService = {
    process: child,
    pid: child.pid!,
    url: '',
    logs,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    listening.then((url) => ({ url })),
    exited.then((exit) => ({ exit })),
    new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), timeoutMs))),
  ]);
  clearTimeout(timer);
  if ('url' in outcome) {
    service.url = outcome.url;
    return service;
  }
  await service.kill();
  const why = 'exit' in outcome ? `exited (${JSON.stringify(outcome.exit)})` : `did not listen within ${timeoutMs} ms`;
  throw new Error(`signet serve ${why}; output:\n${logs.slice(-30).join('\n')}`);
}

/** Resident memory of a process in bytes: now (VmRSS) and its peak so far (VmHWM). */
export function readMemory(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP request whose body is streamed from `body` (chunked unless `content-length` is given).
 * The server may answer before it read the whole body (413): the answer counts, and a write error
 * after it (EPIPE, reset) is ignored.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Readable | Buffer | string;
    /** Resolve with status 0 (instead of rejecting) when the connection breaks before an answer. */
    allowReset?: boolean;
  },
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let answered = false;
    // Keep-alive, like fetch and curl: with `Connection: close` the server may reset the socket
    // right after an early answer while the body is still being sent, and the answer can be lost.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = http.request(url, { method: options.method ?? 'POST', headers: options.headers, agent }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        agent.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
      response.on('error', reject);
    });
    request.on('error', (error) => {
      if (!answered) {
        answered = true;
        agent.destroy();
        if (options.allowReset) resolve({ status: 0, headers: {}, body: Buffer.from(String((error as NodeJS.ErrnoException).code ?? error)) });
        else reject(error);
      }
    });
    const body = options.body;
    if (body === undefined) request.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) request.end(body);
    else {
      pipeline(body, request).catch((error) => {
        if (!answered) setTimeout(() => !answered && reject(error), 1000);
      });
    }
  });
}
