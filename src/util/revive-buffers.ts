/**
 * Structured cloning (worker messages) turns a Buffer into a plain Uint8Array; code on the other side
 * expects Buffer methods (equals, toString('base64')). Walks plain data and gives every Uint8Array
 * back its Buffer view, sharing the memory. Dates and other values pass unchanged.
 */
export function reviveBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) return (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)) as T;
  if (Array.isArray(value)) return value.map(reviveBuffers) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const revived: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) revived[key] = reviveBuffers(item);
    return revived as T;
  }
  return value;
}
