/**
 * @module
 * Byte-array helpers every layer may use (the runtime adapters, the transports, the tests): plain
 * functions on `Uint8Array`s, with no imports.
 */

/**
 * `parts` copied one after another into one array of their own. `size` is their total length:
 * hot paths already know it; without it, it is summed here.
 */
export function joinBytes(parts: readonly Uint8Array[], size = byteLengthOf(parts)): Uint8Array {
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
}

function byteLengthOf(parts: readonly Uint8Array[]): number {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  return size;
}
