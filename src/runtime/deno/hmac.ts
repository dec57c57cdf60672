/**
 * @module
 * Deno's HMAC: `node:crypto`'s `createHmac` with the key's raw bytes, the fastest of Deno's own
 * primitives measured here (`bench/micro/hmac_primitives.ts`): 10–40 µs per connection token on a
 * busy box, where `crypto.subtle` with a cached CryptoKey takes 35–75 µs (and an await on the
 * connect path). A hash written in JavaScript was faster still (2–5 µs) but is not shipped: SHA-256
 * is not Sluice's to write, and the well-kept JavaScript implementation (@noble/hashes) was no
 * faster than `createHmac` here. Deno's `createHmac` costs several times its `createHash`: an
 * upstream matter.
 */
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import type { HmacHash, HmacSign } from "../types.ts";

export function denoHmac(hash: HmacHash, key: Uint8Array): HmacSign {
  // Raw bytes, not a KeyObject: Deno's createHmac takes ~8 µs longer with one.
  const bytes = Buffer.from(key);
  return (data) => createHmac(hash, bytes).update(data).digest("base64url");
}
