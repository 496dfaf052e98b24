import { spawnSync } from 'node:child_process';

/** Runs an independent verifier (openssl, pdfsig, …) and returns what it said. */
export function run(command: string, args: string[], input?: Buffer): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/**
 * pdfsig without its online OCSP check: development certificates name the service's own responder
 * (/pki/ocsp) at its public address, which a test service does not serve there — and a responder in
 * this very process could not answer while spawnSync holds its event loop. Trust in the chain is still
 * checked; the responder itself is tested with `openssl ocsp` (development-ocsp.test.ts).
 */
export const PDFSIG_OFFLINE = ['-no-ocsp'];
