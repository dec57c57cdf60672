/**
 * The HS256 fast path alone: µs per connection token verified by `FastHmacVerifier` with the
 * runtime's HMAC (`Runtime.hmac`; `--node`: node:crypto's), 1000 distinct tokens of the connect
 * bench's shape, in rounds. Run on both runtimes:
 *
 *   npx bun bench/micro/token_verify.ts [count] [--node]
 *   npx deno run -A bench/micro/token_verify.ts [count] [--node]
 */
import { connectTokens } from "./tokens.ts";
import { FastHmacVerifier, nodeHmac } from "../../src/auth/hmac_fast.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const argv: string[] = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const count = Number(argv.find((a) => /^\d+$/.test(a)) ?? 200000);
const secret = "micro-secret-0123456789";
const tokens = await connectTokens(secret);
const hmac = argv.includes("--node") ? nodeHmac : (await getRuntime()).hmac;
const verifier = new FastHmacVerifier(secret, { algorithms: ["HS256"], hmac });
const rounds: string[] = [];
for (let r = 0; r < 4; r++) {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (!verifier.verify(tokens[i % tokens.length])) throw new Error("a valid token was not accepted");
  }
  rounds.push(((performance.now() - t0) * 1000 / count).toFixed(2));
}
console.log(`${count} tokens × ${rounds.length}: µs each ${rounds.join(", ")}`);
