import { createHash } from 'node:crypto';
import { checkCertificateAgainstCrl, type CrlVerdict } from '../revocation/crl-check.js';
import { verifyOcspResponse, type OcspVerdict } from '../revocation/ocsp-response.js';
import type { RevocationValues } from './signature-evidence.js';

/*
 * A certificate's status from the revocation data at hand (ETSI EN 319 102-1 §5.2.5): each OCSP
 * response and CRL that answers for it is verified — signed by its issuer or the issuer's delegated
 * OCSP responder, CertID or CRL issuer matching — without judging its currency, which depends on the
 * time the signature is proven to have existed and is the validation process's question. Every
 * verified answer is returned; data that answers for other certificates is skipped silently.
 */

export interface RevocationAnswer {
  status: 'good' | 'revoked' | 'unknown';
  revokedAt?: Date;
  reason?: string;
  source: 'ocsp' | 'crl';
  /** From the signature or document, rather than fetched for this validation. */
  embedded: boolean;
  /** OCSP producedAt, or the CRL's thisUpdate: when the answer was issued. */
  producedAt: Date;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface RevocationSource {
  values: RevocationValues;
  embedded: boolean;
}

/** Answers already worked out, by data and certificate: a batch or a long chain asks the same again. */
const answered = new Map<string, RevocationAnswer | null>();
const LIMIT = 5_000;

export function revocationAnswers(certificateDer: Buffer, issuerDer: Buffer, sources: readonly RevocationSource[]): RevocationAnswer[] {
  const answers: RevocationAnswer[] = [];
  const subject = digest(certificateDer) + digest(issuerDer);
  for (const { values, embedded } of sources) {
    for (const der of values.ocsps) {
      const answer = remembered(`o${digest(der)}${subject}`, () => fromOcsp(verifyOcspResponse(der, { certificateDer, issuerDer, checkCurrency: false })));
      if (answer) answers.push({ ...answer, embedded });
    }
    for (const der of values.crls) {
      const answer = remembered(`c${digest(der)}${subject}`, () => fromCrl(checkCertificateAgainstCrl(der, { certificateDer, issuerDer, checkCurrency: false })));
      if (answer) answers.push({ ...answer, embedded });
    }
  }
  return answers;
}

function remembered(key: string, answer: () => RevocationAnswer): RevocationAnswer | null {
  let known = answered.get(key);
  if (known === undefined) {
    try {
      known = answer();
    } catch {
      // Not about this certificate, not from its issuer, or not readable: no answer.
      known = null;
    }
    if (answered.size >= LIMIT) answered.clear();
    answered.set(key, known);
  }
  return known;
}

function fromOcsp(verdict: OcspVerdict): RevocationAnswer {
  return {
    status: verdict.status,
    ...(verdict.revokedAt && { revokedAt: verdict.revokedAt }),
    ...(verdict.reason && { reason: verdict.reason }),
    source: 'ocsp',
    embedded: true,
    producedAt: verdict.producedAt,
    thisUpdate: verdict.thisUpdate,
    ...(verdict.nextUpdate && { nextUpdate: verdict.nextUpdate }),
  };
}

function fromCrl(verdict: CrlVerdict): RevocationAnswer {
  return {
    status: verdict.status,
    ...(verdict.revokedAt && { revokedAt: verdict.revokedAt }),
    ...(verdict.reason && { reason: verdict.reason }),
    source: 'crl',
    embedded: true,
    producedAt: verdict.thisUpdate,
    thisUpdate: verdict.thisUpdate,
    ...(verdict.nextUpdate && { nextUpdate: verdict.nextUpdate }),
  };
}

/** Each buffer hashed once: a chain asks about every CRL of a document (megabytes) once per certificate. */
const digests = new WeakMap<Buffer, string>();

function digest(der: Buffer): string {
  let known = digests.get(der);
  if (known === undefined) {
    known = createHash('sha1').update(der).digest('base64');
    digests.set(der, known);
  }
  return known;
}
