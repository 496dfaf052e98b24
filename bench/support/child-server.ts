import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..', '..');

export interface ChildServer {
  child: ChildProcess;
  url: string;
  /** The server's peak resident memory so far (VmHWM), bytes. */
  peakRss(): Promise<number>;
  /** CPU time the server has used so far (its threads and the children it waited for), seconds. */
  cpuSeconds(): Promise<{ user: number; system: number }>;
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
    async cpuSeconds() {
      // proc(5): after the ") " closing the command name, utime is field 14 and stime 15, cutime 16, cstime 17, in ticks of 1/100 s.
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      return { user: (fields[11]! + fields[13]!) / 100, system: (fields[12]! + fields[14]!) / 100 };
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
    },
  };
}
