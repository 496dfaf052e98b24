import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import { errorCodes, type ErrorCode } from '../../errors/codes.js';
import { SignetError } from '../../errors/signet-error.js';
import { RequestThreads } from '../../util/request-threads.js';
import { reviveBuffers } from '../../util/revive-buffers.js';
import type { DocumentCheck, VerificationInput } from './signature-reports.js';
import type { VerifyRequest } from './verify-thread.js';

/**
 * Verification off the event loop: parsing a PDF's revisions or canonicalizing a large XML document
 * takes the CPU for as long as the document is large, and POST /v1/verify is public. The reports are
 * made on these threads (verify-thread.ts); a SignetError thrown there comes back with its code.
 */
export class VerificationThreads {
  readonly #threads: RequestThreads<VerifyRequest, DocumentCheck>;

  constructor(size: number, anchors: TrustAnchors) {
    // A document of the largest allowed upload (100 MB) decodes to at most 200 MB of text; a thread that
    // still needs more than this fails alone (ERR_WORKER_OUT_OF_MEMORY) instead of taking the process down.
    this.#threads = new RequestThreads(import.meta.url, './verify-thread', size, { resourceLimits: { maxOldGenerationSizeMb: 1536 } });
    this.useAnchors(anchors);
  }

  /** New trust anchors (a trusted list read again): threads judge with them from their next document. */
  useAnchors(anchors: TrustAnchors): void {
    this.#threads.broadcast(anchors.toTransferable(), 'anchors');
  }

  async check(input: VerificationInput, validationTime: Date, canFetch: boolean): Promise<DocumentCheck> {
    // A thread that runs out of memory fails every request it holds, not only the document that did it:
    // each is tried once more on a fresh thread, and only a document that fails again is blamed.
    for (let attempt = 1; ; attempt++) {
      try {
        return reviveBuffers(await this.#threads.request({ input, validationTime: validationTime.getTime(), canFetch }));
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        if (code !== undefined && code in errorCodes) throw new SignetError(code as ErrorCode, message);
        const outOfMemory = /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(`${message} ${(error as Error).cause ?? ''}`);
        if (outOfMemory && attempt === 1) continue;
        if (outOfMemory) {
          throw new SignetError('invalid_request', 'The document needs more memory to verify than a verification thread may use', { cause: error });
        }
        throw new SignetError('internal_error', `Verification failed: ${message}`, { cause: error });
      }
    }
  }

  close(): Promise<void> {
    return this.#threads.close();
  }
}
