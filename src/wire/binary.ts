/**
 * @module
 * Payloads are JSON inside Sluice. Bytes from a protobuf client or the API's `b64data` become JSON
 * text this way: JSON text as JSON, anything else — bytes that are not JSON text — as
 * `{"$binary":"<base64>"}`. Protobuf subscribers get `$binary` bytes back exactly and JSON ones as
 * the JSON's serialisation; JSON subscribers get the `$binary` object, which never breaks their
 * framing. `exact` (a protobuf client's publication) keeps JSON as JSON only when it is already in
 * the form JSON.stringify gives, and wraps other JSON bytes too, so protobuf subscribers get the
 * publisher's bytes exactly whatever they were.
 */
import type { Raw } from "./protocol.ts";
import { base64ToBytes, bytesToBase64 } from "./base64.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON text a payload's bytes travel as (see the module notes). */
export function payloadTextFromBytes(bytes: Uint8Array, exact = false): Raw {
  const binary = () => JSON.stringify({ $binary: bytesToBase64(bytes) });
  let canonical: string;
  try {
    const text = utf8.decode(bytes);
    canonical = JSON.stringify(JSON.parse(text));
    if (exact && canonical !== text) return binary();
  } catch {
    return binary();
  }
  return canonical;
}

/** The bytes a payload value stands for: a `$binary` object's bytes, else its JSON text. */
export function payloadBytesFromValue(value: unknown): Uint8Array {
  if (isBinaryPayload(value)) return base64ToBytes(value.$binary);
  return new TextEncoder().encode(JSON.stringify(value));
}

/** `{"$binary": "<base64>"}` and nothing else. */
export function isBinaryPayload(value: unknown): value is { $binary: string } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "$binary" &&
    typeof (value as { $binary: unknown }).$binary === "string";
}
