/**
 * Sluice's own work per uni_sse connection, without the network: `server.fetch` with a connect
 * request (an HS256 token with two channels, as bench/run.mjs sends), the connect push read, the
 * stream cancelled (the disconnect path). Prints µs per connection; run under a profiler to see
 * where it goes:
 *
 *   npx bun bench/micro/connect_path.ts [count] [--hold] [--rounds N] [--node-hmac]
 *   npx bun --cpu-prof-md --cpu-prof-dir=/tmp/prof bench/micro/connect_path.ts
 */
import { connectTokens } from "./tokens.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { createServer } from "../../src/server.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const argv: string[] = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const count = Number(argv.find((a) => /^\d+$/.test(a)) ?? 20000);
/** `--hold`: keep every stream open until the end (as the bench's 10k subscribers stay). */
const hold = argv.includes("--hold");
const held: Array<() => Promise<void>> = [];
const secret = "micro-secret-0123456789";
const { config } = loadConfig({
  file: { uni_sse: true, uni_sse_retry: 0, token_hmac_secret_key: secret, api_key: "k", log_level: "warn" },
});
/** `--node-hmac`: tokens signed through node:crypto, not the runtime's HMAC (the CLI's choice). */
const server = createServer(config, {
  hmac: argv.includes("--node-hmac") ? undefined : (await getRuntime()).hmac,
});
await server.start();
const tokens = await connectTokens(secret);
const conn = () => {
  const closers: Array<() => void> = [];
  return {
    info: {
      onClose: <T>(fn: (this: T) => void, self?: T) => closers.push(() => fn.call(self as T)),
      holdOpen() {},
      responseEnded() {},
      abort() {},
    },
    close: () => closers.forEach((fn) => fn()),
  };
};

async function once(i: number) {
  const cf = encodeURIComponent(JSON.stringify({ token: tokens[i % tokens.length] }));
  const c = conn();
  const res = await server.fetch(new Request(`http://127.0.0.1/connection/uni_sse?cf_connect=${cf}`), c.info);
  const reader = res.body!.getReader();
  await reader.read();
  const end = async () => {
    await reader.cancel();
    c.close();
  };
  if (hold) held.push(end);
  else await end();
}

for (let i = 0; i < 2000; i++) await once(i); // warm up
/** `--rounds N`: N measured rounds (the VM is noisy: the best round is the figure to compare). */
const roundsAt = argv.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 1;
const results: string[] = [];
let best = Infinity;
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const inFlight = 100;
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await once(next++);
  }));
  const us = (performance.now() - t0) * 1000 / count;
  const t1 = performance.now();
  for (const end of held.splice(0)) await end();
  const closeUs = hold ? (performance.now() - t1) * 1000 / count : 0;
  best = Math.min(best, us + closeUs);
  results.push(hold ? `${us.toFixed(1)} + ${closeUs.toFixed(1)}` : us.toFixed(1));
}
console.log(
  `${count} connections × ${rounds}: µs each (connect, connect push${
    hold ? "; held open + to close" : ", disconnect"
  }): ${results.join(", ")}${rounds > 1 ? `; best ${best.toFixed(1)}` : ""}`,
);
await server.close();
