import type { ValidationDataSource } from '../../src/crypto/cms/cades-baseline-lt.js';
import type { CrlIssuer } from '../../src/crypto/devca/crl.js';
import { checkCertificateAgainstCrl } from '../../src/crypto/revocation/crl-check.js';

/**
 * A B-LT validation data source over development CRL issuers only, for crypto-level tests: each
 * certificate's status from its issuer's current CRL, judged by crypto/revocation as the service does.
 * Issuers not among `issuers` give no revocation data.
 */
export function crlValidationData(certificates: Buffer[], ...issuers: CrlIssuer[]): ValidationDataSource {
  return {
    certificates,
    async revocationOf(certificateDer, issuerDer, now) {
      const issuer = issuers.find((candidate) => candidate.issuerCertificateDer.equals(issuerDer));
      if (!issuer) return undefined;
      const der = await issuer.current();
      return { source: 'crl', der, verdict: checkCertificateAgainstCrl(der, { certificateDer, issuerDer, now }) };
    },
  };
}
