/**
 * Publish → deliver latency through the memory broker and through Redis, on one box.
 * Prints figures; asserts nothing. Run: `bun bench/latency.ts` or `deno run -A bench/latency.ts`
 * (needs `redis-server` installed; it is started on a loopback port and stopped afterwards).
 *
 * Subscribers are raw `uni_http_stream` connections; each publication carries its send time and
 * every subscriber records `now - sent` when the line arrives.
 */
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { loadConfig } from "../src/config/mod.ts";
import { createServer } from "../src/server.ts";
import { getRuntime } from "../src/runtime/serve.ts";
import redisBroker from "../plugins/redis_broker/plugin.ts";
import { SignJWT } from "jose";

const { values } = parseArgs({
  args: (await getRuntime()).args(),
  options: {
    subscribers: { type: "string", default: "200" },
    messages: { type: "string", default: "400" },
    rate: { type: "string", default: "200" },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const MESSAGES = Number(values.messages);
const RATE = Number(values.rate);
const SECRET = "bench-secret";

interface Result {
  broker: string;
  delivered: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  const proc = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (out.includes("Ready to accept connections")) resolve();
    });
    proc.on("exit", () => reject(new Error(`redis-server exited: ${out.slice(-200)}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill("SIGTERM") };
}

async function measure(name: string, redisUrl?: string): Promise<Result> {
  const runtime = await getRuntime();
  const { config } = loadConfig({
    file: {
      uni_http_stream: true,
      token_hmac_secret_key: SECRET,
      api_insecure: true,
      client_channel_limit: 0,
    },
  });
  const plugins = redisUrl ? [redisBroker({ address: redisUrl, prefix: `bench${Date.now()}` })] : [];
  const server = createServer(config, { plugins });
  await server.start();
  const listener = await runtime.listen({ port: 0, hostname: "127.0.0.1", handler: server.fetch });
  const url = `http://127.0.0.1:${listener.port}/connection/uni_http_stream`;
  const token = await new SignJWT({ sub: "bench", channels: ["bench"] }).setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
  const latencies: number[] = [];
  const aborts: AbortController[] = [];
  let connected = 0;
  await Promise.all(Array.from({ length: SUBSCRIBERS }, async () => {
    const ac = new AbortController();
    aborts.push(ac);
    const res = await fetch(url, { method: "POST", body: JSON.stringify({ token }), signal: ac.signal });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buf += dec.decode(value, { stream: true });
          let at: number;
          while ((at = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, at);
            buf = buf.slice(at + 1);
            if (line.startsWith('{"connect"')) connected++;
            else if (line.startsWith('{"channel"')) {
              latencies.push(performance.timeOrigin + performance.now() - JSON.parse(line).pub.data.t);
            }
          }
        }
      } catch {
        // aborted at the end
      }
    })();
  }));
  while (connected < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 20));
  const api = `http://127.0.0.1:${listener.port}/api/publish`;
  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await fetch(api, {
      method: "POST",
      body: JSON.stringify({ channel: "bench", data: { t: performance.timeOrigin + performance.now() } }),
    });
  }
  const deadline = Date.now() + 5000;
  while (latencies.length < SUBSCRIBERS * MESSAGES && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const ac of aborts) ac.abort();
  await server.close();
  await listener.close(true);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    broker: name,
    delivered: latencies.length,
    expected: SUBSCRIBERS * MESSAGES,
    p50: q(0.5),
    p99: q(0.99),
    max: latencies.at(-1) ?? NaN,
  };
}

const runtime = await getRuntime();
const results: Result[] = [await measure("memory")];
let redis: { url: string; stop(): void } | undefined;
try {
  redis = await startRedis();
  results.push(await measure("redis", redis.url));
} catch (err) {
  console.error(`redis run skipped: ${(err as Error).message}`);
} finally {
  redis?.stop();
}
console.log(
  `\nPublish → deliver latency on ${runtime.name} ${runtime.version}: ${SUBSCRIBERS} subscribers, ${MESSAGES} messages at ${RATE}/s`,
);
console.log("broker   delivered        p50 ms   p99 ms   max ms");
for (const r of results) {
  console.log(
    `${r.broker.padEnd(8)} ${`${r.delivered}/${r.expected}`.padEnd(16)} ${r.p50.toFixed(2).padStart(6)}   ${
      r.p99.toFixed(2).padStart(6)
    }   ${r.max.toFixed(2).padStart(6)}`,
  );
}
console.log(
  JSON.stringify({
    runtime: runtime.name,
    subscribers: SUBSCRIBERS,
    messages: MESSAGES,
    rate: RATE,
    results,
  }),
);
runtime.exit(0);
