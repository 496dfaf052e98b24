import type { AttemptOutcome, DeliveryRepository, DeliveryRow } from '../store/delivery-repository.js';
import type { Logger } from '../util/logger.js';
import { newLeaseOwner } from './lease-owner.js';
import { currentTimeMs } from '../util/clock.js';

export interface AttemptResult {
  statusCode?: number;
  error?: string;
  durationMs: number;
  retryAfterMs?: number;
  /** Nothing was sent and nothing ever will be (e.g. the client service no longer exists). */
  giveUp?: boolean;
}

export interface DeliveryRunnerOptions {
  deliveries: DeliveryRepository;
  send: (delivery: DeliveryRow) => Promise<AttemptResult>;
  decide: (delivery: DeliveryRow, result: AttemptResult, now: number) => AttemptOutcome;
  /** Attempts in flight to one receiver (host:port), so one slow receiver cannot take every slot. */
  perHostConcurrency: number;
  totalConcurrency: number;
  leaseMs: number;
  log: Logger;
  onWake?: (wake: () => void) => () => void;
  pollIntervalMs?: number;
}

/**
 * Sends due callback deliveries. Claims in batches with a lease (so instances sharing PostgreSQL
 * never send the same attempt twice), skips receivers at their concurrency limit, and records each
 * attempt and its outcome in one transaction.
 */
export class DeliveryRunner {
  readonly owner = newLeaseOwner('deliveries');
  private readonly perHost = new Map<string, number>();
  /** Finished attempts waiting to be written together (group commit). */
  private pendingRecords: Array<{ delivery: DeliveryRow; attempt: AttemptResult & { attemptedAt: number }; outcome: AttemptOutcome; done: () => void }> = [];
  private flushing?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private wakeUp?: () => void;
  private loopDone?: Promise<void>;
  private unsubscribe?: () => void;

  constructor(private readonly options: DeliveryRunnerOptions) {}

  start(): void {
    this.unsubscribe = this.options.onWake?.(() => this.wake());
    this.loopDone = this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wake();
    await this.loopDone;
    await Promise.all(this.inFlight);
  }

  private async loop(): Promise<void> {
    const { deliveries, totalConcurrency, perHostConcurrency, leaseMs, log } = this.options;
    while (!this.stopping) {
      const free = totalConcurrency - this.inFlight.size;
      let claimed: DeliveryRow[] = [];
      if (free > 0) {
        const saturated = [...this.perHost].filter(([, n]) => n >= perHostConcurrency).map(([host]) => host);
        try {
          claimed = await deliveries.claimDue(this.owner, leaseMs, Math.min(free, 100), saturated);
        } catch (error) {
          log.error({ err: (error as Error).message }, 'claiming deliveries failed; retrying');
        }
      }
      for (const delivery of claimed) {
        if ((this.perHost.get(delivery.host) ?? 0) >= perHostConcurrency || this.stopping) {
          // More of one receiver's deliveries were due than it may take at once: hand them back.
          await deliveries.release(delivery.id, this.owner).catch(() => {});
          continue;
        }
        this.attempt(delivery);
      }
      if (claimed.length === 0 || free <= 0) await this.idle();
    }
  }

  private attempt(delivery: DeliveryRow): void {
    this.perHost.set(delivery.host, (this.perHost.get(delivery.host) ?? 0) + 1);
    const run = (async () => {
      const attemptedAt = currentTimeMs();
      const result = await this.options.send(delivery);
      const outcome = this.options.decide(delivery, result, currentTimeMs());
      await this.record({ delivery, attempt: { attemptedAt, ...result }, outcome });
    })()
      .catch((error) => this.options.log.error({ err: (error as Error).message, deliveryId: delivery.id }, 'delivery attempt failed'))
      .finally(() => {
        const left = (this.perHost.get(delivery.host) ?? 1) - 1;
        if (left === 0) this.perHost.delete(delivery.host);
        else this.perHost.set(delivery.host, left);
        this.inFlight.delete(run);
        this.wake();
      });
    this.inFlight.add(run);
  }

  /** Queues an attempt's record; resolves once it is committed with the others of its batch. */
  private record(entry: { delivery: DeliveryRow; attempt: AttemptResult & { attemptedAt: number }; outcome: AttemptOutcome }): Promise<void> {
    return new Promise<void>((resolve) => {
      this.pendingRecords.push({ ...entry, done: resolve });
      this.flushing ??= new Promise<void>((started) => setImmediate(started)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.pendingRecords.length > 0) {
      const batch = this.pendingRecords.splice(0, 200);
      try {
        await this.options.deliveries.recordAttempts(this.owner, batch);
      } catch (error) {
        // The leases expire and the attempts are made again: at least once, as promised.
        this.options.log.error({ err: (error as Error).message, count: batch.length }, 'recording delivery attempts failed');
      }
      for (const entry of batch) entry.done();
    }
    this.flushing = undefined;
  }

  private async idle(): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 1000;
    const next = await this.options.deliveries.nextDueAt().catch(() => undefined);
    // Due but not claimable means every due receiver is at its limit: a finishing attempt wakes us.
    const untilNext = next === undefined ? pollMs : next - currentTimeMs();
    const delay = untilNext <= 0 ? pollMs : Math.min(pollMs, untilNext);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      this.wakeUp = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wakeUp = undefined;
  }
}
