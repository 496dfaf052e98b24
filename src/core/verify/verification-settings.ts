import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import type { VerificationThreads } from './verification-threads.js';

/** What POST /v1/verify trusts and where it runs (API.md §6, §9). */
export interface VerificationSettings {
  trustAnchors: TrustAnchors;
  /** Where the signatures are checked; without, on the calling thread. */
  threads?: VerificationThreads;
  /** `--verify-offline`: judge with the revocation data documents embed only, never fetch. */
  offline: boolean;
}
