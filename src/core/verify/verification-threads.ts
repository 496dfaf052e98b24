import { errorCodes, type ErrorCode } from '../../errors/codes.js';
import { SignetError } from '../../errors/signet-error.js';
import { RequestThreads } from '../../util/request-threads.js';
import type { SignatureReport, VerificationInput } from './signature-reports.js';
import type { VerifyRequest } from './verify-thread.js';

/**
 * Verification off the event loop: parsing a PDF's revisions or canonicalizing a large XML document
 * takes the CPU for as long as the document is large, and POST /v1/verify is public. The reports are
 * made on these threads (verify-thread.ts); a SignetError thrown there comes back with its code.
 */
export class VerificationThreads {
  readonly #threads: RequestThreads<VerifyRequest, SignatureReport[]>;

  constructor(size: number, trustAnchorsPem: string) {
    this.#threads = new RequestThreads(import.meta.url, './verify-thread', size);
    this.#threads.broadcast(trustAnchorsPem);
  }

  async report(input: VerificationInput, now: Date): Promise<SignatureReport[]> {
    try {
      return await this.#threads.request({ input, now: now.getTime() });
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      if (code !== undefined && code in errorCodes) throw new SignetError(code as ErrorCode, message);
      throw new SignetError('internal_error', `Verification failed: ${message}`, { cause: error });
    }
  }

  close(): Promise<void> {
    return this.#threads.close();
  }
}
