import type { X509Certificate } from 'node:crypto';
import { issuedBy, parsedCertificate } from '../cms/parsed-certificates.js';
import { oneLine } from '../verify/cms-signer-check.js';

/*
 * ETSI EN 319 102-1 §5.2.6 begins with a path: from the signing certificate, issuer by issuer, to a
 * trust anchor (RFC 5280 §6.1). Issuers are found among the certificates the signature and the document
 * carry and among the anchors themselves; a link holds when the names chain and the issuer's key
 * verifies the certificate's signature — so two anchors sharing a name are told apart by their keys.
 * An issuer taken from the signature must be a CA (basicConstraints cA; §6.1.4 (k)); configured anchors
 * are trusted as configured. Validity periods and revocation are judged by the caller, at the time the
 * signature is proven to have existed, not here.
 */

export interface CertificatePath {
  /** Signer first; ends at the anchor when `anchored`, else at the last issuer found. */
  chain: X509Certificate[];
  anchored: boolean;
  /** Why the path stops short of an anchor. */
  gap?: string;
  /** The path ends at a self-signed certificate (an anchor or not): every certificate of the chain is at hand. */
  complete: boolean;
}

/** Chains longer than this are not real PKIs. */
const MAX_DEPTH = 10;

export function buildCertificatePath(start: X509Certificate, poolDer: readonly Buffer[], anchors: readonly X509Certificate[]): CertificatePath {
  const pool = readable(poolDer);
  const chain = [start];
  let current = start;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    // A certificate that is itself an anchor ends the path (DSS: it is not validated further).
    if (anchors.some((anchor) => anchor.raw.equals(current.raw))) return { chain, anchored: true, complete: true };
    const anchor = anchors.find((candidate) => linked(current, candidate));
    if (anchor) return { chain: [...chain, anchor], anchored: true, complete: true };
    const issuer = pool.find((candidate) => candidate.ca && !candidate.raw.equals(current.raw) && linked(current, candidate));
    if (!issuer || chain.some((seen) => seen.raw.equals(issuer.raw))) {
      const selfSigned = linked(current, current);
      const gap = selfSigned
        ? `the chain ends at "${oneLine(current.subject)}", which is not a trust anchor`
        : `the issuer "${oneLine(current.issuer)}" is not a trust anchor and its certificate is not in the signature or the document`;
      return { chain, anchored: false, gap, complete: selfSigned };
    }
    chain.push(issuer);
    current = issuer;
  }
  return { chain, anchored: false, gap: `the certificate chain is longer than ${MAX_DEPTH} certificates`, complete: false };
}

function readable(ders: readonly Buffer[]): X509Certificate[] {
  return ders.flatMap((der) => {
    try {
      return [parsedCertificate(der)];
    } catch {
      return [];
    }
  });
}

function linked(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return issuedBy(certificate, issuer);
  } catch {
    return false;
  }
}
