/**
 * @module
 * Deno's HMAC. Its `node:crypto` `createHmac` costs 15–40 µs per connection token (several times a
 * plain `createHash`) and `crypto.subtle` with a cached key more (an awaited op), so HS256 runs in
 * JavaScript (`../hmac_sha256.ts`, 2–5 µs). HS384 and HS512, rare for connection tokens, stay on
 * `createHmac`.
 */
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import type { HmacHash, HmacSign } from "../types.ts";
import { hmacSha256 } from "../hmac_sha256.ts";

export function denoHmac(hash: HmacHash, key: Uint8Array): HmacSign {
  if (hash === "sha256") return hmacSha256(key);
  // Raw bytes, not a KeyObject: Deno's createHmac takes ~8 µs longer with one.
  const bytes = Buffer.from(key);
  return (data) => createHmac(hash, bytes).update(data).digest("base64url");
}
