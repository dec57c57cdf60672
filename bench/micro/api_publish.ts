/**
 * Sluice's own work per server API publish, without the network: `server.fetch` with
 * `POST /api/publish` into 1000 channels, no subscribers, no history (the plain load of the
 * publish-path issue). Prints µs per publish; run under a profiler to see where it goes:
 *
 *   npx bun bench/micro/api_publish.ts [count]
 *   npx bun --cpu-prof-md --cpu-prof-dir=/tmp/prof bench/micro/api_publish.ts
 */
import { loadConfig } from "../../src/config/mod.ts";
import { createServer } from "../../src/server.ts";

const argv: string[] = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const count = Number(argv.find((a) => /^\d+$/.test(a)) ?? 100000);
const { config } = loadConfig({ file: { token_hmac_secret_key: "s", api_key: "key", log_level: "warn" } });
const server = createServer(config);
await server.start();

async function once(i: number) {
  const body = `{"channel":"ch${i % 1000}","data":{"text":"hello","n":${i}}}`;
  // Declared length, as every HTTP client sends it (wrk, curl, backends): the runtime then reads
  // the body whole, as it does under real load.
  const res = await server.fetch(
    new Request("http://127.0.0.1/api/publish", {
      method: "POST",
      headers: { "X-API-Key": "key", "Content-Type": "application/json", "Content-Length": `${body.length}` },
      body,
    }),
  );
  await res.text();
}

for (let i = 0; i < 5000; i++) await once(i); // warm up
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < count) await once(next++);
}));
console.log(`${count} publishes: ${((performance.now() - t0) * 1000 / count).toFixed(2)} µs each`);
await server.close();
