/**
 * The runtime's HMAC (`Runtime.hmac`) and the JavaScript HMAC-SHA256 Deno's uses give node:crypto's
 * MAC for any key (empty, up to a block, longer ones, which HMAC hashes first) and any text (UTF-8,
 * lone surrogates, lengths around the 64-byte blocks and their 9 bytes of padding, texts longer
 * than its shared buffer), a signer reused across texts as the token verifier reuses it.
 */
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { getRuntime } from "../../src/runtime/serve.ts";
import { hmacSha256 } from "../../src/runtime/hmac_sha256.ts";
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

test("hmacSha256 (JavaScript) gives node:crypto's HMAC-SHA256", () => {
  agreesWithNodeCrypto("sha256", hmacSha256);
  // Every message length from 0 to 3 blocks, under a short and a long key.
  for (const k of [new Uint8Array([1, 2, 3]), new Uint8Array(65).fill(7)]) {
    const sign = hmacSha256(k);
    for (let n = 0; n <= 192; n++) {
      const t = "x".repeat(n);
      assertEquals(sign(t), createHmac("sha256", k).update(t).digest("base64url"), `length ${n}`);
    }
  }
  // Texts longer than the shared buffer, and a short one after them.
  const sign = hmacSha256(new Uint8Array([9]));
  for (const t of ["é".repeat(5000), "y".repeat(4097), "short"]) {
    assertEquals(sign(t), createHmac("sha256", new Uint8Array([9])).update(t).digest("base64url"));
  }
});

for (const hash of ["sha256", "sha384", "sha512"] as const) {
  test(`${runtime.name}'s Runtime.hmac gives node:crypto's HMAC (${hash})`, () => {
    agreesWithNodeCrypto(hash, (k) => runtime.hmac(hash, k));
  });
}
