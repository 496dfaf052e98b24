import { createHash } from 'node:crypto';
import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import type { CoreContext } from '../core-context.js';
import { reportSignatures, type SignatureReport, type VerificationInput } from './signature-reports.js';
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
  const signatures = threads ? await threads.report(input, now) : reportSignatures(input, trustAnchors, now);
  const sha256 = createHash('sha256').update(input.file).digest('hex');
  const registrations = (await context.store.registrations.findPublicBySha256(sha256)).map((row) => ({
    rid: row.rid,
    registeredAt: new Date(row.registered_at).toISOString(),
  }));
  return { signatures, registrations };
}
