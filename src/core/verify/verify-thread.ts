import { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import { answerRequests } from '../../util/answer-requests.js';
import { checkDocument, type DocumentCheck, type VerificationInput } from './signature-reports.js';

/**
 * Worker-thread entry of verification-threads.ts: holds the trust anchors broadcast to it (PEM) and
 * answers "the signatures of this document" with plain, cloneable reports.
 */

export interface VerifyRequest {
  input: VerificationInput;
  /** Milliseconds since the epoch: "now" for validity periods, as the caller saw it. */
  now: number;
}

let anchors = new TrustAnchors([]);

answerRequests<VerifyRequest, DocumentCheck>(
  ({ input, now }) => {
    const file = Buffer.from(input.file.buffer, input.file.byteOffset, input.file.byteLength);
    const signature = input.signature && Buffer.from(input.signature.buffer, input.signature.byteOffset, input.signature.byteLength);
    return checkDocument({ ...input, file, signature }, anchors, new Date(now));
  },
  { onBroadcast: (pem) => (anchors = TrustAnchors.fromPem(pem as string)) },
);
