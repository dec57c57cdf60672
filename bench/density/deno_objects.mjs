#!/usr/bin/env node
// What an idle connection keeps on Deno: starts bench/density/deno_heap_server.ts (Sluice with a
// uni_sse config on the node:http listener), opens N idle connections the way the idle benchmark
// does (uni_sse with an HS256 token, channels as below), and prints per connection the RSS growth,
// the JS heap growth (V8's heapUsed), the rest (RSS − heap: the runtime's native side, the
// allocator), and, with --snapshot, the objects and bytes by constructor from a V8 heap snapshot.
// Heap figures are taken after full collections, so they are what the connections keep.
//
//   node bench/density/deno_objects.mjs [N=5000] [--channels=one|two] [--snapshot] [--keep=DIR]
//                                       [--v8-flags=--max-semi-space-size=1] [--stalled]
//
// --stalled: then the connections stop reading, 16 KB publications follow until the server has cut
// every one as slow (3008), and the same figures are printed after the cut: what the process keeps
// once the stalled subscribers are gone, JS heap or native (the soak's `slow` scenario, taken apart).
//
// --keep=DIR keeps both snapshots there (before.heapsnapshot, after.heapsnapshot) for a closer look.
//
// one: every connection in channel "bench" (the idle benchmark); two: "u<i>" and "g<i % 100>".
import { spawn } from "node:child_process";
import http from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, openIdle, sleep, uniSsePath, waitForHealth, writeDensityConfig } from "./idle_clients.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith("--"));
const N = Number(positional[0] ?? 5000);
const option = (name, fallback) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const channels = option("channels", "one");
const v8Flags = option("v8-flags", "");
const KEEP = option("keep", undefined);
const SNAPSHOT = args.includes("--snapshot") || KEEP !== undefined;
const STALLED = args.includes("--stalled");
const SECRET = "density-" + Math.random().toString(36).slice(2);
const dir = mkdtempSync(join(tmpdir(), "deno-objects-"));
const HEAP = join(dir, "heap.json");

const port = await freePort();
const cfg = writeDensityConfig(dir, port, SECRET);
const server = spawn(
  DENO,
  [
    "run",
    "-A",
    `--v8-flags=--expose-gc${v8Flags ? "," + v8Flags : ""}`,
    "bench/density/deno_heap_server.ts",
    "--config",
    cfg,
  ],
  {
    cwd: ROOT,
    env: { ...process.env, HEAP_OUT: HEAP, NO_COLOR: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  },
);
await waitForHealth(port);

// RSS of the fresh server: the idle benchmark's base, so its figure with fixed costs can be given too.
const startRssKB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))[1]);

async function signalled(signal, file) {
  rmSync(file, { force: true });
  process.kill(server.pid, signal);
  while (!existsSync(file)) await sleep(100);
  await sleep(100);
  return readFileSync(file, "utf8");
}
/** A V8 heap snapshot summed by constructor (objects), function name (closures) or node type. */
async function classes(name) {
  const text = await signalled("SIGUSR1", HEAP + ".heapsnapshot");
  if (KEEP) writeFileSync(join(KEEP, `${name}.heapsnapshot`), text);
  const snap = JSON.parse(text);
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [T, NAME, SIZE] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const m = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + T]];
    const named = type === "object" || type === "closure" || type === "native" || type === "hidden" ||
      type === "array" || type === "code" || type === "object shape";
    const key = named ? `${type} ${snap.strings[snap.nodes[i + NAME]]}`.slice(0, 90) : type;
    const e = m.get(key) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += snap.nodes[i + SIZE];
    m.set(key, e);
  }
  return m;
}

const open = (i) => openIdle(port, uniSsePath(i, channels, SECRET), "connect");

// A few connections opened and closed first: what the first connection initialises (modules,
// compiled code) is not counted per connection.
const warm = Array.from({ length: 50 }, (_, i) => open(1e6 + i));
await Promise.all(warm.map((c) => c.ready));
for (const c of warm) c.s.destroy();
await sleep(1000);

const snapBefore = SNAPSHOT ? await classes("before") : undefined;
const before = JSON.parse(await signalled("SIGUSR2", HEAP));
const conns = [];
for (let i = 0; i < N; i++) {
  conns.push(open(i));
  if (i % 100 === 99) await sleep(10);
}
let ready = 0;
for (const c of conns) c.ready.then(() => ready++);
await Promise.race([Promise.all(conns.map((c) => c.ready)), sleep(120_000)]);
await sleep(2000);
const after = JSON.parse(await signalled("SIGUSR2", HEAP));
// per connection actually open (one refused under a burst holds nothing)
const per = (a, b) => ((b - a) / ready / 1024).toFixed(2);
const rest = (x) => x.rssKB * 1024 - x.memory.heapUsed;
console.log(
  `deno, ${N} idle connections (${ready} ready, channels: ${channels}) — per connection: RSS ${
    ((after.rssKB - before.rssKB) / ready).toFixed(2)
  } KB, JS heap used ${per(before.memory.heapUsed, after.memory.heapUsed)} KB (heap total ${
    per(before.memory.heapTotal, after.memory.heapTotal)
  } KB), RSS − heap used ${per(rest(before), rest(after))} KB, external ${
    per(before.memory.external, after.memory.external)
  } KB; RSS ${(startRssKB / 1024).toFixed(1)} at start, ${(before.rssKB / 1024).toFixed(1)} → ${
    (after.rssKB / 1024).toFixed(1)
  } MB (${((after.rssKB - startRssKB) / ready).toFixed(2)} KB per connection from start)`,
);
const u = after.uncollected;
console.log(
  `before the collections (as the idle benchmark sees it): RSS ${
    (u.rssKB / 1024).toFixed(1)
  } MB, JS heap used ${(u.memory.heapUsed / 2 ** 20).toFixed(1)} MB of ${
    (u.memory.heapTotal / 2 ** 20).toFixed(1)
  } MB; after: heap used ${(after.memory.heapUsed / 2 ** 20).toFixed(1)} MB of ${
    (after.memory.heapTotal / 2 ** 20).toFixed(1)
  } MB; at start RSS ${(startRssKB / 1024).toFixed(1)} MB`,
);
console.log(`V8 heap spaces, MB committed (used), before the collections: ${u.spaces}`);
console.log(`after: ${after.spaces}`);
if (SNAPSHOT) {
  const snapAfter = await classes("after");
  console.log("heap snapshot, per connection: count, bytes, what");
  const out = [];
  for (const k of new Set([...snapBefore.keys(), ...snapAfter.keys()])) {
    const x = snapBefore.get(k) ?? { n: 0, bytes: 0 }, y = snapAfter.get(k) ?? { n: 0, bytes: 0 };
    const dn = (y.n - x.n) / N, db = (y.bytes - x.bytes) / N;
    if (Math.abs(dn) >= 0.05 || Math.abs(db) >= 4) out.push([dn, db, k]);
  }
  let total = 0;
  for (const [, db] of out) total += db;
  for (const [dn, db, k] of out.sort((p, q) => q[1] - p[1])) {
    console.log(`  ${dn.toFixed(2).padStart(6)} ${db.toFixed(0).padStart(6)}  ${k}`);
  }
  console.log(`  total listed: ${total.toFixed(0)} B`);
}
if (STALLED) {
  const rssOf = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))[1]);
  for (const c of conns) c.s.pause();
  const body = JSON.stringify({ channel: "bench", data: { pad: "x".repeat(16_384) } });
  /** A server API call (the density config's key): the answer's text, or "" when it failed. */
  const api = (method, body) =>
    new Promise((res) => {
      const r = http.request(
        {
          host: "127.0.0.1",
          port,
          path: `/api/${method}`,
          method: "POST",
          headers: { "X-API-Key": "density" },
        },
        (x) => {
          let text = "";
          x.on("data", (d) => text += d);
          x.on("end", () => res(text));
        },
      );
      r.on("error", () => res(""));
      r.end(body);
    });
  const publish = () => api("publish", body);
  /** Connections the server still holds (a paused client socket does not see its own cut). */
  const clients = async () => {
    const text = await api("info", "{}");
    return text ? JSON.parse(text).result.nodes[0].num_clients : -1;
  };
  let peakKB = rssOf();
  let published = 0;
  let left = ready;
  const started = Date.now();
  while (left > 0 && Date.now() - started < 180_000) {
    await publish();
    published++;
    if (published % 20 === 0) {
      peakKB = Math.max(peakKB, rssOf());
      left = await clients();
    }
  }
  const cut = ready - left;
  await sleep(3000);
  const gone = JSON.parse(await signalled("SIGUSR2", HEAP));
  const mbOf = (bytes) => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `stalled: ${published} publications of 16 KB until ${cut} of ${ready} were cut; RSS ${
      (after.rssKB / 1024).toFixed(1)
    } MB connected → peak ${(peakKB / 1024).toFixed(1)} → ${
      (gone.rssKB / 1024).toFixed(1)
    } MB after the cut (${(before.rssKB / 1024).toFixed(1)} before connecting); after the cut, JS heap used ${
      mbOf(gone.memory.heapUsed)
    } MB of ${mbOf(gone.memory.heapTotal)} MB, external ${mbOf(gone.memory.external)} MB, RSS − heap total ${
      mbOf(gone.rssKB * 1024 - gone.memory.heapTotal)
    } MB (native: the runtime and the allocator)`,
  );
  console.log(`V8 heap spaces after the cut: ${gone.spaces}`);
}
for (const c of conns) c.s.destroy();
server.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
process.exit(0);
