import type { X509Certificate } from 'node:crypto';
import { issuedBy, parsedCertificate } from '../../crypto/cms/parsed-certificates.js';
import type { ValidationDataSource } from '../../crypto/cms/cades-baseline-lt.js';
import type { Signer } from '../../crypto/keys/signer.js';
import { SignetError } from '../../errors/signet-error.js';
import { currentTimeMs } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';

/**
 * - `good`: the CA says so, in an answer still current;
 * - `revoked`, `expired`, `not_yet_valid`: the key signs nothing;
 * - `unknown`: the CA could not be asked and no current answer is at hand — documents wait;
 * - `not_checked`: the certificate names no OCSP responder and no CRL (or is self-signed): it signs as before.
 */
export type KeyState = 'good' | 'revoked' | 'expired' | 'not_yet_valid' | 'unknown' | 'not_checked';

export interface KeyStatus {
  key: string;
  state: KeyState;
  notBefore: Date;
  notAfter: Date;
  /** When the CA last answered for it (ms since the epoch). */
  checkedAt?: number;
  /** Until when that answer is current. */
  currentUntil?: number;
  /** What was found, for the log and the error a document gets. */
  detail?: string;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * The status of each signing key's certificate, known before anything is signed (API.md §3): checked
 * at start, then every `refreshMs` from the revocation sources — which answer from their cache until
 * the CA's answer stops being current, so a refresh costs a request only then. A revoked or expired
 * certificate signs nothing at any level (`certificate_revoked`, `certificate_expired`); one whose status
 * cannot be established waits, as B-LT does (transient `validation_data_unavailable`). The log warns
 * once a day from `warnBeforeExpiryMs` before a certificate expires.
 */
export class SigningKeyStatus {
  readonly #statuses = new Map<string, KeyStatus>();
  readonly #warnedAt = new Map<string, number>();
  readonly #checking = new Map<string, Promise<void>>();
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: ReadonlyMap<string, Signer>,
    private readonly validationData: Pick<ValidationDataSource, 'issuerOf' | 'revocationOf'>,
    private readonly log: Logger,
    private readonly options: { refreshMs?: number; warnBeforeExpiryMs?: number; startWaitMs?: number } = {},
  ) {}

  /**
   * Checks every key once — waiting at most `startWaitMs` (default 5 s): a CA that does not answer must
   * not hold the start; its keys' documents wait until it does — then keeps checking in the background.
   */
  async start(): Promise<void> {
    const first = this.refresh();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timeout = setTimeout(resolve, this.options.startWaitMs ?? 5_000)))]);
    clearTimeout(timeout);
    this.#timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One check of every key, all at once (each CA is asked once: the revocation sources fetch in single flight). */
  async refresh(now = currentTimeMs()): Promise<void> {
    await Promise.all([...this.keys.keys()].map((name) => this.#refreshKey(name, now)));
  }

  /** One check of one key; a check of it already running is joined rather than doubled. */
  #refreshKey(name: string, now: number): Promise<void> {
    let pending = this.#checking.get(name);
    if (!pending) {
      pending = this.#check(name, this.keys.get(name)!, now)
        .then((status) => this.#record(status, now))
        .finally(() => this.#checking.delete(name));
      this.#checking.set(name, pending);
    }
    return pending;
  }

  statuses(): KeyStatus[] {
    return [...this.#statuses.values()];
  }

  /**
   * Throws when the key must not sign now. A status not established yet is checked again first (the
   * sources answer from their cache when they can), so a document retried after an outage signs as
   * soon as the CA answers, without waiting for the next refresh.
   */
  async assertUsable(name: string, now = currentTimeMs()): Promise<void> {
    if (!this.keys.has(name)) return;
    if (this.#statuses.get(name)?.state === 'unknown' || !this.#statuses.has(name)) await this.#refreshKey(name, now);
    const status = this.#statuses.get(name);
    if (!status) return;
    // Expiry is a matter of the clock: checked at each call, not only at each refresh.
    if (now > status.notAfter.getTime()) {
      throw new SignetError('certificate_expired', `The certificate of signing key "${name}" expired at ${status.notAfter.toISOString()}; configure a renewed certificate`);
    }
    if (now < status.notBefore.getTime()) {
      throw new SignetError('certificate_expired', `The certificate of signing key "${name}" is not valid before ${status.notBefore.toISOString()}`);
    }
    if (status.state === 'revoked') throw new SignetError('certificate_revoked', `The certificate of signing key "${name}" ${status.detail}`);
    if (status.state === 'unknown') {
      throw new SignetError('validation_data_unavailable', `The revocation status of signing key "${name}" could not be established: ${status.detail}`, { transient: true });
    }
  }

  async #check(name: string, signer: Signer, now: number): Promise<KeyStatus> {
    const certificate = parsedCertificate(signer.certificateDer);
    const base = { key: name, notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
    if (now > base.notAfter.getTime()) return { ...base, state: 'expired' };
    if (now < base.notBefore.getTime()) return { ...base, state: 'not_yet_valid' };
    if (issuedBy(certificate, certificate)) return { ...base, state: 'not_checked', detail: 'self-signed' };
    try {
      const issuer = await this.#issuerOf(certificate, signer);
      const evidence = await this.validationData.revocationOf(signer.certificateDer, issuer, new Date(now));
      if (!evidence) return { ...base, state: 'not_checked', detail: 'the certificate names no OCSP responder and no CRL' };
      const { verdict } = evidence;
      const currentUntil = (verdict.nextUpdate ?? new Date(verdict.thisUpdate.getTime() + DAY_MS)).getTime();
      const by = evidence.source === 'ocsp' ? 'its CA’s OCSP responder' : 'its CA’s CRL';
      if (verdict.status === 'revoked') {
        const reason = verdict.reason ? ` (${verdict.reason})` : '';
        return { ...base, state: 'revoked', checkedAt: now, currentUntil, detail: `is revoked since ${verdict.revokedAt?.toISOString() ?? 'an unknown time'}${reason}, says ${by}` };
      }
      if (verdict.status === 'good') return { ...base, state: 'good', checkedAt: now, currentUntil };
      return { ...base, state: 'unknown', detail: `${by} does not know the certificate` };
    } catch (error) {
      const previous = this.#statuses.get(name);
      // An answer that is still current stands while the CA is out of reach.
      if (previous?.currentUntil !== undefined && previous.currentUntil > now && (previous.state === 'good' || previous.state === 'revoked')) return previous;
      return { ...base, state: 'unknown', detail: (error as Error).message };
    }
  }

  async #issuerOf(certificate: X509Certificate, signer: Signer): Promise<Buffer> {
    const issuer = signer.chainDer.find((der) => issuedBy(certificate, parsedCertificate(der)));
    if (issuer) return issuer;
    const fetched = await this.validationData.issuerOf?.(signer.certificateDer);
    if (!fetched) throw new Error(`the issuer of "${certificate.subject.replace(/\n/g, ', ')}" is neither configured nor named by its AIA`);
    return fetched;
  }

  #record(status: KeyStatus, now: number): void {
    const previous = this.#statuses.get(status.key);
    this.#statuses.set(status.key, status);
    const fields = { key: status.key, state: status.state, notAfter: status.notAfter.toISOString(), ...(status.detail && { detail: status.detail }) };
    if (previous?.state !== status.state) {
      if (status.state === 'good' || status.state === 'not_checked') this.log.info(fields, 'signing key certificate status');
      else this.log.error(fields, status.state === 'unknown' ? 'signing key certificate status unknown: its documents wait' : 'signing key certificate unusable: it signs nothing');
    }
    const left = status.notAfter.getTime() - now;
    const warnBefore = this.options.warnBeforeExpiryMs ?? 30 * DAY_MS;
    if (left > 0 && left <= warnBefore && now - (this.#warnedAt.get(status.key) ?? -Infinity) >= DAY_MS) {
      this.#warnedAt.set(status.key, now);
      this.log.warn({ ...fields, daysLeft: Math.floor(left / DAY_MS) }, `the certificate of signing key "${status.key}" expires in ${Math.ceil(left / DAY_MS)} days; renew it`);
    }
  }
}
