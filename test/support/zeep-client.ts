import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Debian's python3 (with python3-zeep), not a pyenv one earlier in PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export type ZeepAuth = { mode: 'basic' | 'wsse'; id: string; secret: string } | { mode: 'none' };

export interface ZeepAnswer {
  ok?: any;
  fault?: { code: string; message: string; detailCode: string | null; detailMessage: string | null };
  error?: string;
}

/**
 * The independent SOAP client (support/copytrust-zeep-client.py) kept running: zeep loads the WSDL
 * once per credentials and binding, then each call is one JSON line each way.
 */
export class ZeepClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: AsyncIterator<string>;
  private stderr = '';

  /** `address` replaces the WSDL's soap:address (a service whose --public-url is not this test's address). */
  constructor(wsdlUrl: string, address?: string) {
    const script = path.join(import.meta.dirname, 'copytrust-zeep-client.py');
    this.child = spawn(SYSTEM_PYTHON, [script, wsdlUrl, ...(address ? [address] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => (this.stderr = (this.stderr + text).slice(-4000)));
    this.answers = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async call(operation: string, args: Record<string, unknown>, auth: ZeepAuth, binding: '1.1' | '1.2' = '1.1'): Promise<ZeepAnswer> {
    this.child.stdin.write(`${JSON.stringify({ operation, args, auth, binding })}\n`);
    const next = await this.answers.next();
    if (next.done) throw new Error(`the zeep client exited: ${this.stderr}`);
    return JSON.parse(next.value) as ZeepAnswer;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
