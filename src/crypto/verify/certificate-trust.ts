import { X509Certificate } from 'node:crypto';

/*
 * The certificates a relying party trusts, and for what: the service's own roots and `--trust-anchors`
 * anchor both signatures and time-stamps; a trusted list's services anchor what their type says (CA/QC
 * signatures, TSA/QTST time-stamps) and are remembered with the list and service behind them, so a
 * verdict can name them. How a chain reaches an anchor is validation/certificate-path.ts; how its
 * certificates are judged against time and revocation, validation/validate-signature.ts.
 */

/** The CERTIFICATE blocks of PEM text, in order (other blocks are skipped). */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export type TrustPurpose = 'signature' | 'timestamp';

/** The trusted-list service an anchor comes from (ETSI TS 119 612). */
export interface TrustOrigin {
  /** Where the list was read from (file or URL). */
  list: string;
  territory: string;
  provider: string;
  service: string;
  /** ServiceTypeIdentifier and ServiceStatus URIs. */
  type: string;
  status: string;
}

export interface TrustAnchorEntry {
  der: Buffer;
  purposes: readonly TrustPurpose[];
  origin?: TrustOrigin;
}

const EVERY_PURPOSE: readonly TrustPurpose[] = ['signature', 'timestamp'];

export class TrustAnchors {
  readonly certificates: readonly X509Certificate[];
  readonly #entries: readonly TrustAnchorEntry[];
  readonly #byPurpose: Record<TrustPurpose, X509Certificate[]>;
  readonly #origins = new Map<string, TrustOrigin>();

  /** Certificates trusted for signatures and time-stamps alike; or entries with purposes and origins. */
  constructor(anchors: Array<Buffer | TrustAnchorEntry>) {
    this.#entries = anchors.map((anchor) => (Buffer.isBuffer(anchor) ? { der: anchor, purposes: EVERY_PURPOSE } : anchor));
    this.certificates = this.#entries.map((entry) => new X509Certificate(entry.der));
    this.#byPurpose = { signature: [], timestamp: [] };
    this.#entries.forEach((entry, index) => {
      for (const purpose of entry.purposes) this.#byPurpose[purpose].push(this.certificates[index]!);
      if (entry.origin && !this.#origins.has(this.certificates[index]!.fingerprint256)) this.#origins.set(this.certificates[index]!.fingerprint256, entry.origin);
    });
  }

  /** Every certificate of PEM text (any number of CERTIFICATE blocks; other blocks are skipped). */
  static fromPem(pem: string): TrustAnchors {
    return new TrustAnchors(pemCertificates(pem).map((block) => new X509Certificate(block).raw));
  }

  /** Plain data for a worker thread (structured clone keeps the buffers). */
  toTransferable(): TrustAnchorEntry[] {
    return this.#entries.map((entry) => ({ ...entry, der: Buffer.from(entry.der) }));
  }

  get size(): number {
    return this.certificates.length;
  }

  get der(): Buffer[] {
    return this.certificates.map((certificate) => certificate.raw);
  }

  /** The anchors for signatures, or for time-stamps. */
  for(purpose: TrustPurpose): readonly X509Certificate[] {
    return this.#byPurpose[purpose];
  }

  /** The trusted-list service behind an anchor, if it comes from a list. */
  originOf(certificate: X509Certificate): TrustOrigin | undefined {
    return this.#origins.get(certificate.fingerprint256);
  }
}
