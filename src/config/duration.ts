const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** How a duration is written, for error messages and `--help`. */
export const durationForm = 'a number with ms, s, m, h or d; a bare number is seconds';

/**
 * Milliseconds from `250ms`, `30s`, `1.5h`, `2d` or a bare number of seconds (`86400`, the way
 * OAuth and Sign'Stash count token lifetimes); undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * unitMs[(match[2] ?? 's').toLowerCase()]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The shortest exact spelling of a duration (`300000` → `5m`), so help and errors read like input. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  return `${ms}ms`;
}
