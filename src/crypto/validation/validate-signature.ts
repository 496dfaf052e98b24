import type { X509Certificate } from 'node:crypto';
import type { TrustAnchors, TrustOrigin } from '../verify/certificate-trust.js';
import { parsedCertificate } from '../cms/parsed-certificates.js';
import { oneLine } from '../verify/cms-signer-check.js';
import { buildCertificatePath, type CertificatePath } from './certificate-path.js';
import { classOf, type ProblemClass } from './problem-classes.js';
import { revocationAnswers, type RevocationAnswer, type RevocationSource } from './revocation-status.js';
import type { RevocationValues, SignatureEvidence, TimestampEvidence, TimestampType } from './signature-evidence.js';

/*
 * The verdict on one signature, after ETSI EN 319 102-1 (API.md §6), from what a format reader
 * established (signature-evidence.ts). The building blocks, in the order their failures take
 * precedence:
 *
 *   format checking (§5.2.2)                 → TOTAL_FAILED/FORMAT_FAILURE
 *   identification of the signing certificate (§5.2.3) → INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND
 *   cryptographic verification (§5.2.7)      → TOTAL_FAILED/HASH_FAILURE, SIG_CRYPTO_FAILURE,
 *                                               INDETERMINATE/SIGNED_DATA_NOT_FOUND
 *   X.509 certificate validation (§5.2.6)    → INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND, …
 *     with the time-stamps' proof of existence (§5.4, §5.5, §5.6.2.1): each certificate is judged at
 *     the best signature time, the earliest time a trusted signature, archive or document time-stamp
 *     proves the signature existed (the validation time without one). A certificate that expired or
 *     was revoked after that proof does not fail the signature; before it (or without a proof) it is
 *     OUT_OF_BOUNDS_NO_POE, REVOKED_NO_POE / REVOKED_CA_NO_POE, or TOTAL_FAILED/REVOKED when a
 *     content time-stamp proves the signature was made after the revocation (§5.3.4).
 *     Revocation data must speak for the best signature time: issued at or after it, or current at it
 *     (thisUpdate ≤ time ≤ nextUpdate); none such → TRY_LATER, or OUT_OF_BOUNDS_NOT_REVOKED for a
 *     certificate that has expired since (its CA may no longer answer for it).
 *   signature acceptance (§5.2.8)            → INDETERMINATE/SIG_CONSTRAINTS_FAILURE without a
 *                                               claimed signing time (DSS's default policy)
 *
 * A certificate that is itself a trust anchor is not judged further (as DSS). Pure: the same evidence,
 * anchors, time and revocation data give the same verdict on any thread.
 */

export type Indication = 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE';

export interface CertificateReport {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  trustAnchor: boolean;
  /** For an anchor from a trusted list: the list and service behind it. */
  trustedList?: TrustOrigin;
  revocation?: {
    status: 'good' | 'revoked' | 'unknown';
    revokedAt?: string;
    reason?: string;
    source: 'ocsp' | 'crl';
    embedded: boolean;
    producedAt: string;
  };
}

export interface TimestampReport {
  type: TimestampType;
  genTime: string;
  tsa: string;
  intact: boolean;
  trusted: boolean;
}

export interface SignatureVerdict {
  indication: Indication;
  subIndication?: string;
  errors: string[];
  warnings: string[];
  certificates: CertificateReport[];
  bestSignatureTime: string;
  timestamps: TimestampReport[];
  /** The chain reaches a trust anchor and no certificate of it had expired or been revoked at the best signature time. */
  trusted: boolean;
}

/** Revocation data that would decide the verdict and may still be fetched: this certificate's, from its issuer. */
export interface RevocationQuestion {
  certificateDer: Buffer;
  issuerDer: Buffer;
}

export interface ValidationOptions {
  /** Signature anchors for signers' chains, time-stamp anchors for TSAs' (a trusted list tells them apart). */
  anchors: TrustAnchors;
  validationTime: Date;
  /** Revocation data fetched for this validation (not embedded). */
  fetched?: RevocationValues;
  /** Missing revocation data may still be fetched: ask for it (questions) rather than judge TRY_LATER. */
  canFetch: boolean;
}

export interface ValidationOutcome {
  verdict: SignatureVerdict;
  questions: RevocationQuestion[];
}

/** Clocks differ: revocation data issued this long before a time still counts as issued after it. */
const SKEW_MS = 5 * 60_000;

interface Failure {
  indication: Indication;
  subIndication: string;
  error?: string;
  /** For a revoked certificate: when. */
  revokedAt?: Date;
}

export function validateSignature(evidence: SignatureEvidence, options: ValidationOptions): ValidationOutcome {
  const errors: string[] = [];
  const warnings: string[] = [];
  const classes = new Set<ProblemClass>();
  for (const problem of evidence.problems) {
    const problemClass = classOf(problem);
    if (problemClass === 'WARNING') warnings.push(problem);
    else {
      errors.push(problem);
      classes.add(problemClass);
    }
  }
  const sources: RevocationSource[] = [{ values: evidence.revocation, embedded: true }];
  if (options.fetched) sources.push({ values: options.fetched, embedded: false });
  const pool = [...evidence.certificatesDer, ...evidence.timestamps.flatMap((timestamp) => timestamp.certificatesDer)];

  const timestampQuestions: RevocationQuestion[] = [];
  const timestamps = judgeTimestamps(evidence.timestamps, pool, sources, options, timestampQuestions);
  const proofs = timestamps.filter((timestamp) => timestamp.trusted && timestamp.type !== 'content').map((timestamp) => timestamp.at.getTime());
  const proven = proofs.length > 0 ? new Date(Math.min(...proofs, options.validationTime.getTime())) : undefined;
  const bestTime = proven ?? options.validationTime;

  const signer = readCertificate(evidence.signingCertificateDer);
  const path = signer && buildCertificatePath(signer, pool, options.anchors.for('signature'));
  const chain = path ? judgeChain(path, bestTime, proven !== undefined, sources, options) : undefined;

  const failure = firstFailure(classes, signer, path, chain?.failure, evidence, timestamps, errors);
  if (failure?.error) errors.push(failure.error);
  if (chain?.notes) warnings.push(...chain.notes);
  return {
    verdict: {
      indication: failure?.indication ?? 'TOTAL_PASSED',
      ...(failure && { subIndication: failure.subIndication }),
      errors,
      warnings,
      certificates: chain?.reports ?? [],
      bestSignatureTime: bestTime.toISOString(),
      timestamps: timestamps.map(({ at: _at, ...report }) => report),
      trusted: Boolean(path?.anchored) && (!chain?.failure || chain.failure.subIndication === 'TRY_LATER'),
    },
    // Worth fetching only while nothing else decides the verdict.
    questions: failure && !chain?.questions.length ? [] : [...(chain?.questions ?? []), ...timestampQuestions],
  };
}

function firstFailure(
  classes: Set<ProblemClass>,
  signer: X509Certificate | undefined,
  path: CertificatePath | undefined,
  chainFailure: Failure | undefined,
  evidence: SignatureEvidence,
  timestamps: JudgedTimestamp[],
  errors: string[],
): Failure | undefined {
  if (classes.has('FORMAT_FAILURE')) return { indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' };
  if (classes.has('NO_SIGNING_CERTIFICATE_FOUND') || !signer) {
    const said = errors.length > 0;
    return {
      indication: 'INDETERMINATE',
      subIndication: 'NO_SIGNING_CERTIFICATE_FOUND',
      ...(!said && { error: 'signer_certificate_missing: the signing certificate is neither in the signature nor among the trust anchors' }),
    };
  }
  if (classes.has('HASH_FAILURE')) return { indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' };
  if (classes.has('SIG_CRYPTO_FAILURE')) return { indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' };
  if (classes.has('SIGNED_DATA_NOT_FOUND')) return { indication: 'INDETERMINATE', subIndication: 'SIGNED_DATA_NOT_FOUND' };
  if (classes.has('UNSUPPORTED')) return { indication: 'INDETERMINATE', subIndication: 'CRYPTO_CONSTRAINTS_FAILURE_NO_POE' };
  if (path && !path.anchored) {
    return { indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND', error: `untrusted_chain: ${path.gap} (--trust-anchors, --trust-list)` };
  }
  if (chainFailure?.subIndication === 'REVOKED_NO_POE') {
    // §5.3.4: a content time-stamp after the revocation proves the signature was made by a revoked key.
    const revokedAt = chainFailure.revokedAt!;
    const after = timestamps.find((timestamp) => timestamp.type === 'content' && timestamp.trusted && timestamp.at >= revokedAt);
    if (after) return { ...chainFailure, indication: 'TOTAL_FAILED', subIndication: 'REVOKED' };
  }
  if (chainFailure) return chainFailure;
  if (!evidence.claimedSigningTime) {
    return {
      indication: 'INDETERMINATE',
      subIndication: 'SIG_CONSTRAINTS_FAILURE',
      error: 'signing_time_missing: the signature claims no signing time, which the validation policy requires (EN 319 102-1 §5.2.8)',
    };
  }
  return undefined;
}

interface ChainJudgement {
  reports: CertificateReport[];
  failure?: Failure;
  questions: RevocationQuestion[];
  notes: string[];
}

function judgeChain(path: CertificatePath, at: Date, proven: boolean, sources: RevocationSource[], options: ValidationOptions): ChainJudgement {
  const judgement: ChainJudgement = { reports: [], questions: [], notes: [] };
  const { chain, anchored } = path;
  chain.forEach((certificate, index) => {
    const isAnchor = anchored && index === chain.length - 1;
    const issuer = chain[index + 1];
    const answer = !isAnchor && issuer ? chosenAnswer(revocationAnswers(certificate.raw, issuer.raw, sources), at) : undefined;
    judgement.reports.push(describe(certificate, isAnchor, answer, isAnchor ? options.anchors.originOf(certificate) : undefined));
    if (isAnchor || !anchored || judgement.failure || !issuer) return;
    const failure = judgeCertificate(certificate, index === 0, answer, at, proven, options);
    if (failure === 'ask') judgement.questions.push({ certificateDer: certificate.raw, issuerDer: issuer.raw });
    else if (failure) judgement.failure = failure;
    else if (answer?.status === 'revoked') {
      judgement.notes.push(`revoked_after_proof: "${oneLine(certificate.subject)}" was revoked at ${answer.revokedAt!.toISOString()}, after the signature was proven to exist (${at.toISOString()})`);
    }
  });
  if (judgement.failure) judgement.questions = [];
  return judgement;
}

function judgeCertificate(
  certificate: X509Certificate,
  isSigner: boolean,
  answer: RevocationAnswer | undefined,
  at: Date,
  proven: boolean,
  options: ValidationOptions,
): Failure | 'ask' | undefined {
  const name = `"${oneLine(certificate.subject)}"`;
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (at < from) {
    return { indication: 'INDETERMINATE', subIndication: 'NOT_YET_VALID', error: `certificate_not_yet_valid: ${name} is valid from ${from.toISOString()}, after ${at.toISOString()}` };
  }
  if (at > to) {
    const since = proven ? `the earliest proof that the signature existed (${at.toISOString()})` : `the validation time (${at.toISOString()}), and no time-stamp proves the signature existed before`;
    return { indication: 'INDETERMINATE', subIndication: 'OUT_OF_BOUNDS_NO_POE', error: `certificate_expired: ${name} expired at ${to.toISOString()}, before ${since}` };
  }
  if (answer?.status === 'revoked' && answer.revokedAt! <= at) {
    return {
      indication: 'INDETERMINATE',
      subIndication: isSigner ? 'REVOKED_NO_POE' : 'REVOKED_CA_NO_POE',
      revokedAt: answer.revokedAt!,
      error:
        `certificate_revoked: ${name} was revoked at ${answer.revokedAt!.toISOString()}${answer.reason ? ` (${answer.reason})` : ''} ` +
        `according to ${answer.source === 'ocsp' ? 'its OCSP responder' : 'its CRL'}, and nothing proves the signature existed before`,
    };
  }
  if (answer?.status === 'revoked' || (answer?.status === 'good' && usableAt(answer, at))) return undefined;
  if (options.canFetch) return 'ask';
  const expiredSince = options.validationTime > to;
  const what = answer ? `the revocation data at hand (${answer.source}, issued ${answer.producedAt.toISOString()}${answer.status === 'unknown' ? ', status unknown' : ''}) does not speak for ${at.toISOString()}` : 'no OCSP response or CRL could be found or fetched';
  return expiredSince && proven
    ? { indication: 'INDETERMINATE', subIndication: 'OUT_OF_BOUNDS_NOT_REVOKED', error: `revocation_unknown: ${name} has expired since, and ${what}` }
    : { indication: 'INDETERMINATE', subIndication: 'TRY_LATER', error: `revocation_unknown: for ${name}, ${what}` };
}

/** Issued at or after the time (within clock skew), or current at it. */
function usableAt(answer: RevocationAnswer, at: Date): boolean {
  const time = at.getTime();
  if (answer.thisUpdate.getTime() >= time - SKEW_MS) return true;
  return answer.nextUpdate !== undefined && answer.thisUpdate.getTime() <= time && time <= answer.nextUpdate.getTime() + SKEW_MS;
}

/** A revocation wins (the earliest); else the newest good answer that speaks for the time, else the newest. */
function chosenAnswer(answers: RevocationAnswer[], at: Date): RevocationAnswer | undefined {
  const revoked = answers.filter((answer) => answer.status === 'revoked').sort((a, b) => a.revokedAt!.getTime() - b.revokedAt!.getTime());
  if (revoked[0]) return revoked[0];
  const newestFirst = [...answers].sort((a, b) => b.thisUpdate.getTime() - a.thisUpdate.getTime());
  return newestFirst.find((answer) => answer.status === 'good' && usableAt(answer, at)) ?? newestFirst.find((answer) => answer.status === 'good') ?? newestFirst[0];
}

function describe(certificate: X509Certificate, trustAnchor: boolean, answer: RevocationAnswer | undefined, origin: TrustOrigin | undefined): CertificateReport {
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    serial: certificate.serialNumber.toLowerCase(),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    trustAnchor,
    ...(origin && { trustedList: origin }),
    ...(answer && {
      revocation: {
        status: answer.status,
        ...(answer.revokedAt && { revokedAt: answer.revokedAt.toISOString() }),
        ...(answer.reason && { reason: answer.reason }),
        source: answer.source,
        embedded: answer.embedded,
        producedAt: answer.producedAt.toISOString(),
      },
    }),
  };
}

interface JudgedTimestamp extends TimestampReport {
  at: Date;
}

/**
 * A time-stamp proves existence when it is intact, its TSA chains to an anchor, the TSA's certificates
 * were valid at its genTime and not revoked by then, and they are still valid now — or a later trusted
 * time-stamp (archive or document, or the signature time-stamp over a content time-stamp) proves the
 * token existed before they expired (§5.6.2.1). Judged from the latest back.
 */
function judgeTimestamps(
  list: TimestampEvidence[],
  pool: Buffer[],
  sources: RevocationSource[],
  options: ValidationOptions,
  questions: RevocationQuestion[],
): JudgedTimestamp[] {
  const judged: JudgedTimestamp[] = list.map((timestamp) => ({
    type: timestamp.type,
    genTime: timestamp.genTime.toISOString(),
    tsa: timestamp.tsa,
    intact: timestamp.intact,
    trusted: false,
    at: timestamp.genTime,
  }));
  const order = list.map((_, index) => index).sort((a, b) => list[b]!.genTime.getTime() - list[a]!.genTime.getTime() || coverRank(list[b]!.type) - coverRank(list[a]!.type));
  for (const index of order) {
    const timestamp = list[index]!;
    const tsa = timestamp.intact ? readCertificate(timestamp.tsaCertificateDer) : undefined;
    if (!tsa) continue;
    const path = buildCertificatePath(tsa, [...timestamp.certificatesDer, ...pool], options.anchors.for('timestamp'));
    if (!path.anchored) continue;
    const judgedCertificates = path.chain.slice(0, -1);
    const validAtGenTime = judgedCertificates.every((certificate) => new Date(certificate.validFrom) <= timestamp.genTime && timestamp.genTime <= new Date(certificate.validTo));
    const expires = Math.min(...judgedCertificates.map((certificate) => new Date(certificate.validTo).getTime()), Number.POSITIVE_INFINITY);
    const stillValid =
      expires >= options.validationTime.getTime() ||
      judged.some((later, laterIndex) => laterIndex !== index && later.trusted && later.type !== 'content' && later.at >= timestamp.genTime && later.at.getTime() <= expires);
    const revoked = judgedCertificates.some((certificate, position) => {
      const issuer = path.chain[position + 1]!;
      const answer = chosenAnswer(revocationAnswers(certificate.raw, issuer.raw, sources), timestamp.genTime);
      // The TSA's status is asked of its CA too when nothing at hand answers; without an answer the token
      // still proves existence (a TSA key is rarely revoked, and DSS does not require it by default).
      if ((!answer || answer.status === 'unknown') && options.canFetch) questions.push({ certificateDer: certificate.raw, issuerDer: issuer.raw });
      return answer?.status === 'revoked' && answer.revokedAt! <= timestamp.genTime;
    });
    judged[index]!.trusted = validAtGenTime && stillValid && !revoked;
  }
  return judged;
}

/** Among time-stamps of one instant, those that cover others are judged first. */
function coverRank(type: TimestampType): number {
  return type === 'archive' || type === 'document' ? 2 : type === 'signature' ? 1 : 0;
}

function readCertificate(der: Buffer | undefined): X509Certificate | undefined {
  if (!der) return undefined;
  try {
    return parsedCertificate(der);
  } catch {
    return undefined;
  }
}
