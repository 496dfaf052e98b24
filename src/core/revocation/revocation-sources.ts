import { createHash } from 'node:crypto';
import { certificateUrls } from '../../crypto/revocation/certificate-urls.js';
import { checkCertificateAgainstCrl, type CrlVerdict } from '../../crypto/revocation/crl-check.js';
import { buildOcspRequest } from '../../crypto/revocation/ocsp-request.js';
import { verifyOcspResponse, type OcspVerdict } from '../../crypto/revocation/ocsp-response.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { ValidationDataClient } from '../../outbound/validation-data-client.js';
import type { ValidationDataRepository } from '../../store/validation-data-repository.js';
import { currentTimeMs } from '../../util/clock.js';

/** What a certificate's CA says of it, with the bytes that say so (to embed at B-LT). */
export type RevocationEvidence =
  | { source: 'ocsp'; der: Buffer; verdict: OcspVerdict }
  | { source: 'crl'; der: Buffer; verdict: CrlVerdict };

/** An answer without nextUpdate is kept this long (and judged current as long, ocsp-response.ts). */
const CURRENT_WITHOUT_NEXT_UPDATE_MS = 24 * 60 * 60_000;

/**
 * A certificate's revocation status from its own CA: OCSP first (the responders its AIA names), the
 * CRLs of its distribution points otherwise. Answers are verified (crypto/revocation), cached in the
 * store until they stop being current — shared by every instance on PostgreSQL — and fetched once
 * per key at a time (single flight), so a 2,500-document batch asks each CA once. A CA that cannot
 * be reached is `validation_data_unavailable`, transient: the caller waits and retries. Undefined
 * when the certificate names neither an OCSP responder nor a CRL.
 */
export class RevocationSources {
  readonly #inFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly cache: ValidationDataRepository,
    private readonly client: ValidationDataClient,
  ) {}

  async status(certificateDer: Buffer, issuerDer: Buffer, now = currentTimeMs()): Promise<RevocationEvidence | undefined> {
    const urls = certificateUrls(certificateDer);
    const judgedAt = new Date(now);
    const ocspKey = `ocsp:${createHash('sha256').update(certificateDer).update(issuerDer).digest('hex')}`;
    // Each source: where to ask, how to ask, how to judge the answer. OCSP first (RFC 6960 is what
    // validators prefer and a response is small), the CRLs of the distribution points otherwise.
    const sources = [
      ...urls.ocsp.map((url) => ({
        source: 'ocsp' as const,
        key: ocspKey,
        // No nonce: the answer is cached and shared (RFC 5019 §2.1.1); its freshness is checked instead.
        fetch: () => this.client.fetch(url, { body: buildOcspRequest({ certificateDer, issuerDer }).der, contentType: 'application/ocsp-request' }),
        judge: (der: Buffer) => verifyOcspResponse(der, { certificateDer, issuerDer, now: judgedAt }),
        url,
      })),
      ...urls.crl.map((url) => ({
        source: 'crl' as const,
        key: `crl:${url}`,
        fetch: () => this.client.fetch(url),
        judge: (der: Buffer) => checkCertificateAgainstCrl(der, { certificateDer, issuerDer, now: judgedAt }),
        url,
      })),
    ];
    if (sources.length === 0) return undefined;
    const failures: string[] = [];
    let refused = 0;
    for (const { source, key, fetch, judge, url } of sources) {
      try {
        let verdict: OcspVerdict | CrlVerdict | undefined;
        const der = await this.#cached(key, now, async () => {
          const body = await fetch();
          verdict = judge(body);
          return { body, validUntil: (verdict.nextUpdate ?? new Date(verdict.thisUpdate.getTime() + CURRENT_WITHOUT_NEXT_UPDATE_MS)).getTime() };
        });
        // An answer from the store or from another caller's fetch is judged for this certificate and time.
        verdict ??= judge(der);
        return { source, der, verdict } as RevocationEvidence;
      } catch (error) {
        failures.push(describe(url, error));
        if (isSignetError(error) && error.code === 'url_not_allowed') refused++;
      }
    }
    // Every source refused by the outbound policy: waiting will not help; the operator must allow them.
    if (refused === failures.length) throw new SignetError('url_not_allowed', `The revocation sources of the certificate are not allowed: ${failures.join('; ')}`);
    throw new SignetError('validation_data_unavailable', `No current revocation status could be obtained: ${failures.join('; ')}`, { transient: true });
  }

  /** The cached bytes under `key`, else `fetch`'s, saved until they stop being current; one fetch per key at a time. */
  #cached(key: string, now: number, fetch: () => Promise<{ body: Buffer; validUntil: number }>): Promise<Buffer> {
    // The lookup is inside the single flight too: a caller arriving between another's fetch and its
    // save would otherwise miss both and fetch again.
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = (async () => {
        const cached = await this.cache.find(key, now);
        if (cached) return cached;
        const { body, validUntil } = await fetch();
        await this.cache.save(key, body, validUntil, now);
        return body;
      })().finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }
}

function describe(url: string, error: unknown): string {
  return `${url}: ${(error as Error).message}`;
}
