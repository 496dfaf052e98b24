const multipliers: Record<string, number> = { '': 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * Bytes from `100`, `64kb`, `512mb` or `1GB` (1024-based, case-insensitive, as Sign'Stash's
 * Spring settings read them); undefined when the text is not such a size or is zero.
 * Fractions are refused rather than rounded: `1.5mb` is more likely a typo than a wish.
 */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+)\s*(kb|mb|gb)?$/i.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * multipliers[(match[2] ?? '').toLowerCase()];
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}
