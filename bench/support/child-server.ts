import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..', '..');

export interface ChildServer {
  child: ChildProcess;
  url: string;
  /** The server's peak resident memory so far (VmHWM), bytes. */
  peakRss(): Promise<number>;
  /** SIGTERM (a profiling server writes its profile), then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * `signet serve` in a process of its own, as deployed: the benchmark's client load then runs on
 * another core instead of sharing the server's event loop, and the server's memory is its own.
 * BENCH_SERVER_NODE_ARGS passes flags to its node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
export async function startChildServer(workFolder: string, flags: string[] = []): Promise<ChildServer> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, 'bin/signet.js', 'serve', '--port=0', '--host=127.0.0.1', `--work-folder=${workFolder}`, '--log-level=info', ...flags],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      const match = /"msg":"signet is listening"/.test(buffer) && /"address":"(http:[^"]+)"/.exec(buffer);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error('server exited')));
  });
  child.stdout!.resume();
  return {
    child,
    url,
    peakRss: () => readFile(`/proc/${child.pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)![1]) * 1024),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
    },
  };
}
