#!/usr/bin/env node
// What an idle connection keeps on Bun, by object type: starts bench/density/bun_heap_server.ts
// (Sluice with a uni_sse config, or the bare loop), opens N idle connections the way the idle
// benchmark does (uni_sse with an HS256 token, channels as below), and prints per connection the
// RSS growth, the JS heap growth, the objects by type (bun:jsc heapStats) and, with --snapshot,
// the bytes by class from a heap snapshot (Client, StreamWriter, … by name). Heap figures are taken
// after full collections, so they are what the connections keep, not garbage.
//
//   node bench/density/bun_objects.mjs [sluice|bare] [N=5000] [--channels=one|two] [--snapshot]
//
// one: every connection in channel "bench" (the idle benchmark); two: "u<i>" and "g<i % 100>".
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  channelsOf,
  freePort,
  openIdle,
  sleep,
  uniSsePath,
  waitForHealth,
  writeDensityConfig,
} from "./idle_clients.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith("--"));
const kind = positional[0] ?? "sluice";
const N = Number(positional[1] ?? 5000);
const channels = args.find((a) => a.startsWith("--channels="))?.slice(11) ?? "one";
const SNAPSHOT = args.includes("--snapshot");
const SECRET = "density-" + Math.random().toString(36).slice(2);
const dir = mkdtempSync(join(tmpdir(), "bun-objects-"));
const HEAP = join(dir, "heap.json");

const port = await freePort();
const serverArgs = ["bench/density/bun_heap_server.ts"];
if (kind === "bare") serverArgs.push("--bare", "--port", String(port));
else {
  serverArgs.push("--config", writeDensityConfig(dir, port, SECRET));
}
const server = spawn(BUN, serverArgs, {
  cwd: ROOT,
  env: { ...process.env, HEAP_OUT: HEAP, NO_COLOR: "1" },
  stdio: ["ignore", "inherit", "inherit"],
});
await waitForHealth(port);

async function signalled(signal, file) {
  rmSync(file, { force: true });
  process.kill(server.pid, signal);
  while (!existsSync(file)) await sleep(100);
  return JSON.parse(readFileSync(file, "utf8"));
}
/** A JSC heap snapshot summed by class: count and bytes. */
async function classes() {
  const snap = await signalled("SIGUSR1", HEAP + ".snap");
  const m = new Map();
  for (let i = 0; i < snap.nodes.length; i += 4) {
    const name = snap.nodeClassNames[snap.nodes[i + 2]];
    const e = m.get(name) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += snap.nodes[i + 1];
    m.set(name, e);
  }
  return m;
}

function path(i) {
  if (kind !== "bare") return uniSsePath(i, channels, SECRET);
  return `/sub?${channelsOf(i, channels).map((c) => "channel=" + c).join("&")}`;
}
const open = (i) => openIdle(port, path(i), kind === "bare" ? ": ok" : "connect");

// A few connections opened and closed first: what the first connection initialises (modules,
// compiled code) is not counted per connection.
const warm = Array.from({ length: 50 }, (_, i) => open(1e6 + i));
await Promise.all(warm.map((c) => c.ready));
for (const c of warm) c.s.destroy();
await sleep(1000);

const snapBefore = SNAPSHOT ? await classes() : undefined;
const before = await signalled("SIGUSR2", HEAP);
const conns = [];
for (let i = 0; i < N; i++) {
  conns.push(open(i));
  if (i % 100 === 99) await sleep(10);
}
await Promise.race([Promise.all(conns.map((c) => c.ready)), sleep(60_000)]);
await sleep(2000);
const after = await signalled("SIGUSR2", HEAP);
const per = (a, b) => ((b - a) / N).toFixed(2);
console.log(
  `${kind}, ${N} idle connections (channels: ${channels}) — per connection: RSS ${
    per(before.rssKB, after.rssKB)
  } KB, JS heap ${per(before.heapSize, after.heapSize)} B, objects ${
    per(before.objectCount, after.objectCount)
  }, external ${per(before.memory.external, after.memory.external)} B`,
);
console.log("objects per connection by type:");
const rows = [];
for (const k of new Set([...Object.keys(before.counts), ...Object.keys(after.counts)])) {
  const d = ((after.counts[k] ?? 0) - (before.counts[k] ?? 0)) / N;
  if (Math.abs(d) >= 0.05) rows.push([d, k]);
}
for (const [d, k] of rows.sort((x, y) => y[0] - x[0])) console.log(`  ${d.toFixed(2).padStart(6)}  ${k}`);
if (SNAPSHOT) {
  const snapAfter = await classes();
  console.log("heap snapshot, per connection: count, bytes, class");
  const out = [];
  for (const k of new Set([...snapBefore.keys(), ...snapAfter.keys()])) {
    const x = snapBefore.get(k) ?? { n: 0, bytes: 0 }, y = snapAfter.get(k) ?? { n: 0, bytes: 0 };
    const dn = (y.n - x.n) / N, db = (y.bytes - x.bytes) / N;
    if (Math.abs(dn) >= 0.05 || Math.abs(db) >= 4) out.push([dn, db, k]);
  }
  for (const [dn, db, k] of out.sort((p, q) => q[1] - p[1])) {
    console.log(`  ${dn.toFixed(2).padStart(6)} ${db.toFixed(0).padStart(6)}  ${k}`);
  }
}
for (const c of conns) c.s.destroy();
server.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
process.exit(0);
