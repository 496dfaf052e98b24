import { createHash } from 'node:crypto';
import type { ValidationDataSource } from '../../crypto/cms/cades-baseline-lt.js';
import type { ValidationDataClient } from '../../outbound/validation-data-client.js';
import type { ValidationDataRepository } from '../../store/validation-data-repository.js';
import { SingleFlight } from '../../util/single-flight.js';
import { issuerFromAia } from './chain-completion.js';
import { RevocationSources } from './revocation-sources.js';

/**
 * B-LT's validation data for any key and any TSA (crypto/cms/cades-baseline-lt.ts asks, this answers):
 * the configured chains first, missing issuers from AIA caIssuers, and each certificate's status from
 * its own CA — OCSP first, CRLs otherwise (RevocationSources) — all through the outbound address
 * policy and the store's shared cache.
 */
export function createValidationDataSource(options: {
  cache: ValidationDataRepository;
  client: ValidationDataClient;
  revocation: RevocationSources;
  /** Every certificate of every configured chain. */
  certificates: Buffer[];
}): ValidationDataSource {
  const { cache, client, revocation } = options;
  // Documents of a batch ask for the same missing issuer at once: one fetch, the others wait for it;
  // the answer is remembered (a certificate's issuer does not change), so later documents ask nobody.
  const issuerFetches = new SingleFlight<Buffer>();
  const issuers = new Map<string, Buffer>();
  return {
    certificates: options.certificates,
    issuerOf: async (certificateDer) => {
      const key = createHash('sha256').update(certificateDer).digest('hex');
      const known = issuers.get(key);
      if (known) return known;
      const issuer = await issuerFetches.run(key, () => issuerFromAia({ cache, client }, certificateDer, Date.now()));
      if (issuers.size >= 1_000) issuers.clear();
      issuers.set(key, issuer);
      return issuer;
    },
    revocationOf: (certificateDer, issuerDer, now) => revocation.status(certificateDer, issuerDer, now.getTime()),
  };
}
