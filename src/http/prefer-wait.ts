/**
 * `Prefer: wait=N` (RFC 7240 §4.3): how long the client is willing to wait for a synchronous answer,
 * capped at 60 s (API.md §2). Undefined when the client prefers the immediate `202`.
 */
export function preferredWaitMs(prefer: string | string[] | undefined): number | undefined {
  const header = Array.isArray(prefer) ? prefer.join(',') : prefer;
  if (!header) return undefined;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i.exec(header);
  if (!match) return undefined;
  return Math.min(Number(match[1]), 60) * 1000;
}
