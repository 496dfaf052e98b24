/*
 * Where keywords are in a file, found in one pass of native search and then looked up by binary
 * search: `%%EOF` markers (which revision an offset belongs to) and `endstream` (the end of a stream
 * whose /Length cannot be used). Searching from each offset instead would cost the file's size once
 * per lookup, which a hostile file can make quadratic.
 */

/** Offsets of every occurrence of `keyword`, in order. */
export function keywordPositions(buffer: Buffer, keyword: string): number[] {
  const positions: number[] = [];
  for (let at = buffer.indexOf(keyword, 0, 'latin1'); at >= 0; at = buffer.indexOf(keyword, at + keyword.length, 'latin1')) positions.push(at);
  return positions;
}

/** How many of the sorted `positions` lie before `offset` (the index of the first one at or after it). */
export function countBefore(positions: readonly number[], offset: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle] < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The furthest offset at which the revision closed by the `%%EOF` at `eof` can end: past the marker
 * and the line end (and stray spaces) after it (ISO 32000-1 §7.5.5). A revision may end anywhere from
 * `eof + 5` up to this offset.
 */
export function revisionEndAfter(buffer: Buffer, eof: number): number {
  let end = eof + 5;
  while (end < buffer.length && (buffer[end] === 0x0d || buffer[end] === 0x0a || buffer[end] === 0x20)) end++;
  return end;
}
