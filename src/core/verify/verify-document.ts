import type { RevocationQuestion } from '../../crypto/validation/validate-signature.js';
import type { RevocationValues } from '../../crypto/validation/signature-evidence.js';
import type { CoreContext } from '../core-context.js';
import { checkDocument, judge, type JudgementOptions, type SignatureReport, type VerificationInput } from './signature-reports.js';

export type { SignatureReport, VerificationInput } from './signature-reports.js';

/*
 * POST /v1/verify (API.md §6): the signatures of a document (signature-reports.ts) and whether these
 * exact bytes were registered here — any file, signed or not. A verdict that needs revocation data the
 * document does not embed — a chain that reaches a trust anchor, with no OCSP response or CRL that
 * speaks for the time judged — gets it from the certificates' own OCSP responders and CRL distribution
 * points (the long-term signatures' validation data source: outbound address policy, single flight,
 * the store's shared cache), once; then the signatures are judged again with it. What cannot be
 * fetched leaves the verdict INDETERMINATE/TRY_LATER, never a retry loop. `--verify-offline` skips it.
 */

export interface VerificationReport {
  signatures: SignatureReport[];
  registrations: Array<{ rid: string; registeredAt: string }>;
}

/** Certificates whose status one verification may fetch: a document with more is judged on what it embeds. */
const MAX_FETCHES = 16;

export async function verifyDocument(context: CoreContext, input: VerificationInput, validationTime = new Date()): Promise<VerificationReport> {
  const { threads, trustAnchors, offline } = context.verification;
  const options: JudgementOptions = { anchors: trustAnchors, validationTime, canFetch: !offline };
  const check = threads ? await threads.check(input, validationTime, options.canFetch) : checkDocument(input, options);
  let signatures = check.signatures;
  if (check.questions.length > 0) {
    const fetched = await fetchRevocation(context, check.questions, validationTime);
    signatures = check.findings.map((finding) => judge(finding, { ...options, canFetch: false }, [], fetched));
  }
  const registrations = (await context.store.registrations.findPublicBySha256(check.sha256)).map((row) => ({
    rid: row.rid,
    registeredAt: new Date(row.registered_at).toISOString(),
  }));
  return { signatures, registrations };
}

async function fetchRevocation(context: CoreContext, questions: RevocationQuestion[], validationTime: Date): Promise<RevocationValues> {
  const unique = new Map<string, RevocationQuestion>();
  for (const question of questions) unique.set(question.certificateDer.toString('base64'), question);
  const fetched: RevocationValues = { ocsps: [], crls: [] };
  await Promise.all(
    [...unique.values()].slice(0, MAX_FETCHES).map(async ({ certificateDer, issuerDer }) => {
      try {
        // Asked as of now: a responder answers for the present; the verdict judges whether that speaks for the validation time.
        const evidence = await context.validationData.revocationOf(certificateDer, issuerDer, new Date());
        if (evidence) (evidence.source === 'ocsp' ? fetched.ocsps : fetched.crls).push(evidence.der);
      } catch (error) {
        context.log.info({ reason: (error as Error).message, validationTime: validationTime.toISOString() }, 'verify: revocation data could not be fetched');
      }
    }),
  );
  return fetched;
}
