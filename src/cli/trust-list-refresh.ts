import type { TrustAnchors } from '../crypto/verify/certificate-trust.js';
import type { Logger } from '../util/logger.js';

/**
 * Trusted lists change (a CA granted or withdrawn; the EU lists are reissued at least every six
 * months, national ones often weekly): they are read again every `everyMs`. A new reading replaces the
 * anchors verification uses — on the main thread and on every verification thread — only when it
 * succeeds; a list that no longer verifies or cannot be fetched keeps the previous anchors and says so.
 */
export function refreshTrustLists(options: {
  everyMs: number;
  read: () => Promise<TrustAnchors>;
  use: (anchors: TrustAnchors) => void;
  log: Logger;
}): { stop(): void } {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const anchors = await options.read();
      options.use(anchors);
      options.log.info({ anchors: anchors.size }, 'trusted lists read again');
    } catch (error) {
      options.log.warn({ reason: (error as Error).message }, 'trusted lists could not be read again; the previous anchors stay');
    } finally {
      running = false;
    }
  }, options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
