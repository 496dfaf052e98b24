import { createHash } from 'node:crypto';
import { certificateUrls } from '../../crypto/revocation/certificate-urls.js';
import { checkCertificateAgainstCrl, crlDer } from '../../crypto/revocation/crl-check.js';
import { buildOcspRequest } from '../../crypto/revocation/ocsp-request.js';
import { verifyOcspResponse } from '../../crypto/revocation/ocsp-response.js';
import type { RevocationEvidence } from '../../crypto/revocation/revocation-evidence.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { ValidationDataClient } from '../../outbound/validation-data-client.js';
import type { ValidationDataRepository } from '../../store/validation-data-repository.js';
import { currentTimeMs } from '../../util/clock.js';
import { SingleFlight } from '../../util/single-flight.js';

/** An answer without nextUpdate is kept this long (and judged current as long, ocsp-response.ts). */
const CURRENT_WITHOUT_NEXT_UPDATE_MS = 24 * 60 * 60_000;
/** Judged answers kept in memory: a batch's signer and TSA chains are a handful; a bound all the same. */
const MEMO_LIMIT = 10_000;

/**
 * A CA this process runs itself (the development CA): its answers come from memory, not over HTTP to
 * ourselves, and are judged like any other CA's.
 */
export interface LocalRevocationIssuer {
  issuerDer: Buffer;
  /** An OCSP response for one certificate it issued. */
  ocsp?(certificateDer: Buffer): Promise<Buffer>;
  /** Its current CRL. */
  crl(): Promise<Buffer>;
}

interface Source {
  source: 'ocsp' | 'crl';
  key: string;
  url: string;
  fetch(): Promise<Buffer>;
}

/**
 * A certificate's revocation status from its own CA: OCSP first (the responders its AIA names), the
 * CRLs of its distribution points otherwise. Answers are verified (crypto/revocation), cached in the
 * store until they stop being current — shared by every instance on PostgreSQL — and fetched once
 * per key at a time (single flight), so a 2,500-document batch asks each CA once; a judged answer is
 * also remembered in memory until then, so the documents of a batch neither read the store nor
 * verify a signature again. A CA that cannot be reached is `validation_data_unavailable`, transient:
 * the caller waits and retries. Undefined when the certificate names neither an OCSP responder nor a
 * CRL (and its issuer is not local).
 */
export class RevocationSources {
  readonly #inFlight = new SingleFlight<Buffer>();
  readonly #memo = new Map<string, { evidence: RevocationEvidence; currentUntil: number }>();

  constructor(
    private readonly cache: ValidationDataRepository,
    private readonly client: ValidationDataClient,
    private readonly local: readonly LocalRevocationIssuer[] = [],
  ) {}

  async status(certificateDer: Buffer, issuerDer: Buffer, now = currentTimeMs()): Promise<RevocationEvidence | undefined> {
    const pairKey = createHash('sha256').update(certificateDer).update(issuerDer).digest('hex');
    const remembered = this.#memo.get(pairKey);
    if (remembered && remembered.currentUntil > now) return remembered.evidence;

    const sources = this.#sourcesOf(certificateDer, issuerDer, pairKey);
    if (sources.length === 0) return undefined;
    const judgedAt = new Date(now);
    const judge = (source: 'ocsp' | 'crl', der: Buffer): RevocationEvidence =>
      source === 'ocsp'
        ? { source, der, verdict: verifyOcspResponse(der, { certificateDer, issuerDer, now: judgedAt }) }
        : { source, der, verdict: checkCertificateAgainstCrl(der, { certificateDer, issuerDer, now: judgedAt }) };
    const failures: string[] = [];
    let refused = 0;
    for (const { source, key, fetch, url } of sources) {
      try {
        let evidence: RevocationEvidence | undefined;
        const der = await this.#cached(key, now, async () => {
          const body = source === 'crl' ? crlDer(await fetch()) : await fetch();
          evidence = judge(source, body);
          return { body, validUntil: currentUntil(evidence) };
        });
        // An answer from the store or from another caller's fetch is judged for this certificate and time.
        evidence ??= judge(source, der);
        if (evidence.verdict.status === 'unknown') {
          // RFC 6960 §2.2: the responder does not know the certificate; its CRL may.
          failures.push(`${url}: the responder does not know the certificate`);
          continue;
        }
        this.#remember(pairKey, evidence, now);
        return evidence;
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`);
        if (isSignetError(error) && error.code === 'url_not_allowed') refused++;
      }
    }
    // Every source refused by the outbound policy: waiting will not help; the operator must allow them.
    if (refused === failures.length) throw new SignetError('url_not_allowed', `The revocation sources of the certificate are not allowed: ${failures.join('; ')}`);
    throw new SignetError('validation_data_unavailable', `No current revocation status could be obtained: ${failures.join('; ')}`, { transient: true });
  }

  #sourcesOf(certificateDer: Buffer, issuerDer: Buffer, pairKey: string): Source[] {
    const local = this.local.find((issuer) => issuer.issuerDer.equals(issuerDer));
    if (local) {
      return [
        ...(local.ocsp ? [{ source: 'ocsp' as const, key: `local-ocsp:${pairKey}`, url: 'the local CA (OCSP)', fetch: () => local.ocsp!(certificateDer) }] : []),
        { source: 'crl' as const, key: `local-crl:${pairKey}`, url: 'the local CA (CRL)', fetch: () => local.crl() },
      ];
    }
    const urls = certificateUrls(certificateDer);
    return [
      // No nonce: the answer is cached and shared (RFC 5019 §2.1.1); its freshness is checked instead.
      ...urls.ocsp.map((url) => ({
        source: 'ocsp' as const,
        key: `ocsp:${pairKey}`,
        url,
        fetch: () => this.client.fetch(url, { body: buildOcspRequest({ certificateDer, issuerDer }).der, contentType: 'application/ocsp-request' }),
      })),
      ...urls.crl.map((url) => ({ source: 'crl' as const, key: `crl:${url}`, url, fetch: () => this.client.fetch(url) })),
    ];
  }

  #remember(pairKey: string, evidence: RevocationEvidence, now: number): void {
    if (this.#memo.size >= MEMO_LIMIT) {
      for (const [key, entry] of this.#memo) if (entry.currentUntil <= now) this.#memo.delete(key);
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    }
    this.#memo.set(pairKey, { evidence, currentUntil: currentUntil(evidence) });
  }

  /**
   * The cached bytes under `key`, else `fetch`'s, saved until they stop being current; one fetch per key at a time.
   * Local answers are not stored: the process makes them itself.
   */
  #cached(key: string, now: number, fetch: () => Promise<{ body: Buffer; validUntil: number }>): Promise<Buffer> {
    const stored = !key.startsWith('local-');
    // The lookup is inside the single flight too: a caller arriving between another's fetch and its
    // save would otherwise miss both and fetch again.
    return this.#inFlight.run(key, async () => {
      const cached = stored ? await this.cache.find(key, now) : undefined;
      if (cached) return cached;
      const { body, validUntil } = await fetch();
      if (stored) await this.cache.save(key, body, validUntil, now);
      return body;
    });
  }
}

/** Until when an answer is current: its nextUpdate, else a day after its thisUpdate. */
function currentUntil(evidence: RevocationEvidence): number {
  const { nextUpdate, thisUpdate } = evidence.verdict;
  return (nextUpdate ?? new Date(thisUpdate.getTime() + CURRENT_WITHOUT_NEXT_UPDATE_MS)).getTime();
}
