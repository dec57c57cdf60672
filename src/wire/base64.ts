/**
 * @module
 * Base64 for bytes that travel inside JSON (protobuf's JSON mapping, control messages).
 */

export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Throws on text that is not base64. */
export function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
