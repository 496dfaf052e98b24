import { currentTimeMs } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { CoreContext } from '../core-context.js';
import { purgeExpiredSignatureDocuments } from './purge-expired-documents.js';
import { sweepOrphanedContent } from './sweep-orphaned-content.js';

export interface HousekeepingOptions {
  /** `--retention`: finished signature operations keep their bytes this long; absent: for ever. */
  retentionMs?: number;
  /** Content younger than this is never an orphan: an upload may still be staging it. */
  orphanGraceMs: number;
  /** How often orphans and abandoned writes are swept. */
  sweepEveryMs: number;
  log: Logger;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/**
 * The store's housekeeping on a timer: the retention purge, often enough that an operation is purged
 * soon after its retention ends (a quarter of the retention, between a second and an hour), and the
 * sweep of orphaned content and abandoned writes. The first run comes shortly after start; a run never
 * overlaps the previous one. Several instances on PostgreSQL may each run it: every step is idempotent.
 */
export function startHousekeeping(context: CoreContext, options: HousekeepingOptions): { stop(): Promise<void> } {
  const purgeEveryMs = options.retentionMs === undefined ? Infinity : Math.min(HOUR, Math.max(1000, options.retentionMs / 4));
  const tickMs = Math.min(purgeEveryMs, options.sweepEveryMs);
  let sweptAt = -Infinity;
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = async () => {
    if (options.retentionMs !== undefined) {
      const purged = await purgeExpiredSignatureDocuments(context, { retentionMs: options.retentionMs });
      if (purged.operations > 0) options.log.info(purged, 'retention: deleted the documents of finished signature operations');
    }
    if (performance.now() - sweptAt >= options.sweepEveryMs) {
      sweptAt = performance.now();
      const swept = await sweepOrphanedContent(context, { olderThanMs: options.orphanGraceMs });
      if (swept.orphans + swept.abandonedWrites > 0) options.log.info(swept, 'removed content that nothing owned and writes that never finished');
      // Account pages: ended sessions, stale reset links, failure counts a day old and not locking.
      const now = currentTimeMs();
      await context.store.accounts.deleteExpired(now, now - DAY);
    }
  };
  const tick = () => {
    if (stopped || running) return;
    running = run()
      .catch((error) => options.log.warn({ err: (error as Error).message }, 'housekeeping failed; it runs again later'))
      .finally(() => (running = undefined));
  };
  const first = setTimeout(tick, Math.min(5000, tickMs));
  const timer = setInterval(tick, tickMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
