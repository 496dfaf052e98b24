import { X509Certificate } from 'node:crypto';

/*
 * The certificates a relying party trusts: the service's own roots, `--trust-anchors`, and later the
 * services of trusted lists. How a signature's chain reaches them is validation/certificate-path.ts;
 * how its certificates are judged against time and revocation, validation/validate-signature.ts.
 */

/** The CERTIFICATE blocks of PEM text, in order (other blocks are skipped). */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export class TrustAnchors {
  readonly certificates: readonly X509Certificate[];

  constructor(anchorsDer: Buffer[]) {
    this.certificates = anchorsDer.map((der) => new X509Certificate(der));
  }

  /** Every certificate of PEM text (any number of CERTIFICATE blocks; other blocks are skipped). */
  static fromPem(pem: string): TrustAnchors {
    return new TrustAnchors(pemCertificates(pem).map((block) => new X509Certificate(block).raw));
  }

  get size(): number {
    return this.certificates.length;
  }

  get der(): Buffer[] {
    return this.certificates.map((certificate) => certificate.raw);
  }
}
