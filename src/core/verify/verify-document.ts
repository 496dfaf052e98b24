import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import type { CoreContext } from '../core-context.js';
import { checkDocument, type SignatureReport, type VerificationInput } from './signature-reports.js';
import type { VerificationThreads } from './verification-threads.js';

export type { SignatureReport, VerificationInput } from './signature-reports.js';

/*
 * POST /v1/verify (API.md §6): the signatures of a document (signature-reports.ts) and whether these
 * exact bytes were registered here — any file, signed or not.
 */

export interface VerificationReport {
  signatures: SignatureReport[];
  registrations: Array<{ rid: string; registeredAt: string }>;
}

export interface VerificationSettings {
  trustAnchors: TrustAnchors;
  /** Where the signatures are checked; without, on the calling thread. */
  threads?: VerificationThreads;
}

export async function verifyDocument(context: CoreContext, input: VerificationInput, now = new Date()): Promise<VerificationReport> {
  const { threads, trustAnchors } = context.verification;
  const { signatures, sha256 } = threads ? await threads.check(input, now) : checkDocument(input, trustAnchors, now);
  const registrations = (await context.store.registrations.findPublicBySha256(sha256)).map((row) => ({
    rid: row.rid,
    registeredAt: new Date(row.registered_at).toISOString(),
  }));
  return { signatures, registrations };
}
