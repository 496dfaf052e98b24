import { X509Certificate } from 'node:crypto';
import { oneLine } from './cms-signer-check.js';

/*
 * Whether a certificate chains to a configured trust anchor (RFC 5280 §6, the parts a relying party
 * can check offline): each certificate is issued and signed by the next, each is within its validity
 * period at `at`, every issuer below the anchor is a CA (basicConstraints), and the chain ends at an
 * anchor. Not checked: path length constraints and name constraints (Node does not expose them), and
 * revocation — a signature's embedded CRLs are the validation data of B-LT, not a live status.
 */

/** The CERTIFICATE blocks of PEM text, in order (other blocks are skipped). */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export interface TrustVerdict {
  trusted: boolean;
  problems: string[];
}

/** Chains longer than this are not real PKIs. */
const MAX_DEPTH = 10;

export class TrustAnchors {
  private readonly anchors: X509Certificate[];

  constructor(anchorsDer: Buffer[]) {
    this.anchors = anchorsDer.map((der) => new X509Certificate(der));
  }

  /** Every certificate of PEM text (any number of CERTIFICATE blocks; other blocks are skipped). */
  static fromPem(pem: string): TrustAnchors {
    return new TrustAnchors(pemCertificates(pem).map((block) => new X509Certificate(block).raw));
  }

  get size(): number {
    return this.anchors.length;
  }

  /**
   * Builds a path from `certificate` through `pool` (the certificates the signature carries, and any
   * other known ones) to an anchor, and checks each link at `at`.
   */
  verify(certificate: X509Certificate, pool: Buffer[], at: Date): TrustVerdict {
    const candidates = pool.flatMap((der) => {
      try {
        return [new X509Certificate(der)];
      } catch {
        return [];
      }
    });
    const problems: string[] = [];
    let current = certificate;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      checkValidity(current, at, problems);
      const anchor = this.anchors.find((candidate) => candidate.raw.equals(current.raw) || issues(candidate, current));
      if (anchor) {
        if (!anchor.raw.equals(current.raw)) checkValidity(anchor, at, problems);
        return { trusted: problems.length === 0, problems };
      }
      // An issuer taken from the signature must be a CA (basicConstraints cA): an end-entity certificate
      // issuing one is what RFC 5280 §6.1.4 (k) refuses. Configured anchors are trusted as configured.
      const issuer = candidates.find((candidate) => !candidate.raw.equals(current.raw) && candidate.ca && issues(candidate, current));
      if (!issuer) {
        problems.push(
          issues(current, current)
            ? `untrusted_chain: the chain ends at "${oneLine(current.subject)}", which is not a configured trust anchor (--trust-anchors)`
            : `untrusted_chain: the issuer "${oneLine(current.issuer)}" is not a configured trust anchor and its certificate is not in the signature or the document`,
        );
        return { trusted: false, problems };
      }
      current = issuer;
    }
    problems.push('untrusted_chain: the certificate chain is longer than 10 certificates');
    return { trusted: false, problems };
  }
}

function issues(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkValidity(certificate: X509Certificate, at: Date, problems: string[]): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (at < from || at > to) {
    problems.push(
      `certificate_not_valid: "${oneLine(certificate.subject)}" is valid from ${from.toISOString()} to ${to.toISOString()}, not at ${at.toISOString()}`,
    );
  }
}
