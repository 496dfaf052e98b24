import { spawnSync } from 'node:child_process';

/** Runs an independent verifier (openssl, pdfsig, …) and returns what it said. */
export function run(command: string, args: string[], input?: Buffer): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}
