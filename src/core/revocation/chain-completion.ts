import { createHash, X509Certificate } from 'node:crypto';
import { certificateUrls } from '../../crypto/revocation/certificate-urls.js';
import { isSelfSigned, issuedBy, issuerCertificatesFrom } from '../../crypto/revocation/issuer-certificates.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { ValidationDataClient } from '../../outbound/validation-data-client.js';
import type { ValidationDataRepository } from '../../store/validation-data-repository.js';
import { currentTimeMs } from '../../util/clock.js';

/** Links followed at most: real chains are two to four certificates deep. */
const MAX_DEPTH = 8;

/**
 * A certificate's chain up to a self-signed certificate or a trust anchor, from what is at hand (a
 * key's configured chain, which may be partial or absent; certificates a signature carries) and,
 * for each missing issuer, the AIA caIssuers URLs of the certificate it issued — fetched through
 * the outbound policy and kept in the store (until the fetched certificate expires), as EU DSS's AIA
 * source does. Each link is checked: names chain and the issuer's key verifies the signature.
 * Returns leaf first. A link that cannot be found is `validation_data_unavailable` (transient when a
 * URL could not be reached).
 */
export async function completeChain(
  context: { cache: ValidationDataRepository; client: ValidationDataClient },
  leafDer: Buffer,
  options: { known?: readonly Buffer[]; anchors?: readonly Buffer[]; now?: number } = {},
): Promise<Buffer[]> {
  const now = options.now ?? currentTimeMs();
  const anchors = options.anchors ?? [];
  const pool = [...(options.known ?? []), ...anchors];
  const chain = [leafDer];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const current = chain[chain.length - 1]!;
    if (anchors.some((anchor) => anchor.equals(current)) || isSelfSigned(current)) return chain;
    let issuer = pool.find((candidate) => !candidate.equals(current) && issuedBy(current, candidate));
    if (!issuer) issuer = await issuerFromAia(context, current, now);
    if (chain.some((link) => link.equals(issuer))) throw new SignetError('validation_data_unavailable', 'The certificate chain loops');
    chain.push(issuer);
  }
  throw new SignetError('validation_data_unavailable', `The certificate chain is longer than ${MAX_DEPTH} certificates`);
}

/**
 * The certificate that issued `certificateDer`, from the caIssuers URLs of its AIA (a DER certificate
 * or a certs-only PKCS #7, PEM too), kept in the store until it expires.
 */
export async function issuerFromAia(context: { cache: ValidationDataRepository; client: ValidationDataClient }, certificateDer: Buffer, now: number): Promise<Buffer> {
  const subject = new X509Certificate(certificateDer).subject.replace(/\n/g, ', ');
  const urls = certificateUrls(certificateDer).caIssuers;
  if (urls.length === 0) {
    throw new SignetError('validation_data_unavailable', `The issuer of "${subject}" is not configured and its certificate names no caIssuers URL; add it to the key's chain`);
  }
  const failures: string[] = [];
  let transient = false;
  for (const url of urls) {
    const key = `cert:${createHash('sha256').update(url).digest('hex')}`;
    try {
      let bytes = await context.cache.find(key, now);
      if (!bytes) {
        bytes = await context.client.fetch(url);
        const certificates = issuerCertificatesFrom(bytes);
        // Kept while the earliest of them is valid: a renewed CA certificate is fetched again after.
        const validUntil = Math.min(...certificates.map((der) => new Date(new X509Certificate(der).validTo).getTime()));
        await context.cache.save(key, bytes, validUntil, now);
      }
      const issuer = issuerCertificatesFrom(bytes).find((candidate) => issuedBy(certificateDer, candidate));
      if (issuer) return issuer;
      failures.push(`${url}: serves no certificate that issued "${subject}"`);
    } catch (error) {
      if (isSignetError(error) && error.transient) transient = true;
      failures.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new SignetError('validation_data_unavailable', `The issuer of "${subject}" could not be obtained: ${failures.join('; ')}`, { transient });
}
