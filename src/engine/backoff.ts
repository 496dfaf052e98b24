/**
 * Delay before retrying a transiently failed task: exponential from 1 s, capped at 5 min, with
 * "full jitter" in the upper half so that many tasks failing together (a TSA outage) do not all
 * come back in the same second.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 5 * 60_000);
  return Math.round(base / 2 + random() * (base / 2));
}
