import { TrustAnchors, type TrustAnchorEntry } from '../../crypto/verify/certificate-trust.js';
import { answerRequests } from '../../util/answer-requests.js';
import { reviveBuffers } from '../../util/revive-buffers.js';
import { checkDocument, type DocumentCheck, type VerificationInput } from './signature-reports.js';

/**
 * Worker-thread entry of verification-threads.ts: holds the trust anchors broadcast to it (entries with purposes and origins) and
 * answers "the signatures of this document" with plain, cloneable reports.
 */

export interface VerifyRequest {
  input: VerificationInput;
  /** Milliseconds since the epoch: the time to judge at (API.md §6 validationTime, default now). */
  validationTime: number;
  /** Whether revocation data missing for a verdict may be fetched afterwards (then it is asked for). */
  canFetch: boolean;
}

let anchors = new TrustAnchors([]);

answerRequests<VerifyRequest, DocumentCheck>(
  ({ input, validationTime, canFetch }) => checkDocument(reviveBuffers(input), { anchors, validationTime: new Date(validationTime), canFetch }),
  { onBroadcast: (entries) => (anchors = new TrustAnchors(reviveBuffers(entries as TrustAnchorEntry[]))) },
);
