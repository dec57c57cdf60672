/**
 * The runtime's HMAC (`Runtime.hmac`: Bun.CryptoHasher on Bun, node:crypto on Deno) gives
 * node:crypto's MAC for any key (empty, up to a block, longer ones, which HMAC hashes first) and any
 * text (UTF-8, lone surrogates, lengths around the 64-byte blocks and their padding), a signer
 * reused across texts as the token verifier reuses it.
 */
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { getRuntime } from "../../src/runtime/serve.ts";
import type { HmacHash, HmacSign } from "../../src/runtime/types.ts";

const runtime = await getRuntime();
const key = fc.uint8Array({ maxLength: 200 });
/** Mostly texts whose UTF-8 crosses a block boundary or the padding's: 0–300 bytes of ASCII. */
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom("a", "Z", "0", ".", "_"), maxLength: 300 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 120 }) },
);

function agreesWithNodeCrypto(hash: HmacHash, signer: (key: Uint8Array) => HmacSign): void {
  fc.assert(
    fc.property(key, fc.array(text, { minLength: 1, maxLength: 4 }), (k, texts) => {
      const sign = signer(k);
      for (const t of texts) assertEquals(sign(t), createHmac(hash, k).update(t).digest("base64url"));
    }),
    { numRuns: 500 },
  );
}

for (const hash of ["sha256", "sha384", "sha512"] as const) {
  test(`${runtime.name}'s Runtime.hmac gives node:crypto's HMAC (${hash})`, () => {
    agreesWithNodeCrypto(hash, (k) => runtime.hmac(hash, k));
    // Every message length from 0 to 3 blocks, under a short and a long key.
    for (const k of [new Uint8Array([1, 2, 3]), new Uint8Array(129).fill(7)]) {
      const sign = runtime.hmac(hash, k);
      for (let n = 0; n <= 384; n++) {
        const t = "x".repeat(n);
        assertEquals(sign(t), createHmac(hash, k).update(t).digest("base64url"), `length ${n}`);
      }
    }
  });
}
