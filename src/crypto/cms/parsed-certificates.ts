import { createHash, X509Certificate } from 'node:crypto';

/**
 * Parsed certificates and checked issuer links, remembered by the certificates' bytes. B-LT builds the
 * same few chains (signer, TSA) for every document of a batch: parsing a certificate costs ~0.1 ms and
 * checking a link an RSA verification, which measured as the largest part of B-LT's own work on a
 * 2,500-document batch. What is remembered is a fact about bytes (these bytes parse to this; this key
 * signed that), so it never goes stale; the maps are bounded all the same.
 */
const LIMIT = 2_000;
const parsed = new Map<string, X509Certificate>();
const links = new Map<string, boolean>();
const keys = new WeakMap<X509Certificate, string>();

export function parsedCertificate(der: Buffer): X509Certificate {
  const key = createHash('sha256').update(der).digest('base64');
  let certificate = parsed.get(key);
  if (!certificate) {
    certificate = new X509Certificate(der);
    if (parsed.size >= LIMIT) parsed.clear();
    parsed.set(key, certificate);
    keys.set(certificate, key);
  }
  return certificate;
}

/** Whether `issuer` issued `certificate`: names chain and the issuer's key verifies its signature. */
export function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  const key = `${keyOf(certificate)}>${keyOf(issuer)}`;
  let verdict = links.get(key);
  if (verdict === undefined) {
    verdict = certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
    if (links.size >= LIMIT) links.clear();
    links.set(key, verdict);
  }
  return verdict;
}

function keyOf(certificate: X509Certificate): string {
  let key = keys.get(certificate);
  if (!key) {
    key = createHash('sha256').update(certificate.raw).digest('base64');
    keys.set(certificate, key);
  }
  return key;
}
