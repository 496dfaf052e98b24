/**
 * Counts failed authentications per source address in a sliding window, so guessing secrets
 * gets slow: past `maxFailures` within `windowMs` an address is refused until its oldest failure
 * leaves the window. Successful logins do not count. Memory is bounded by `maxTrackedSources`.
 */
export class FailedAttempts {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxTrackedSources = 10_000,
  ) {}

  isBlocked(source: string, now = Date.now()): boolean {
    return this.recent(source, now).length >= this.maxFailures;
  }

  /** Seconds until the source may try again (for Retry-After). */
  retryAfterSeconds(source: string, now = Date.now()): number {
    const times = this.recent(source, now);
    if (times.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((times[0] + this.windowMs - now) / 1000));
  }

  recordFailure(source: string, now = Date.now()): void {
    const times = this.recent(source, now);
    times.push(now);
    this.failures.delete(source);
    this.failures.set(source, times);
    if (this.failures.size > this.maxTrackedSources) {
      // Maps iterate in insertion order: drop the source that failed longest ago.
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private recent(source: string, now: number): number[] {
    const times = (this.failures.get(source) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length === 0) this.failures.delete(source);
    else this.failures.set(source, times);
    return times;
  }
}
