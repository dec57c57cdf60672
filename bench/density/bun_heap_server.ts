/**
 * Sluice (or, with `--bare`, bench/servers/bare_sse.ts) on Bun with a heap report on a signal, for
 * bench/density/bun_objects.mjs: SIGUSR2 writes, after two full collections, the JS heap's object
 * counts by type, its size, the process RSS and `process.memoryUsage()` to `$HEAP_OUT`; SIGUSR1
 * writes a JSC heap snapshot (per-class sizes) to `$HEAP_OUT.snap`.
 *
 *   HEAP_OUT=/tmp/heap.json bun bench/density/bun_heap_server.ts --config cfg.json
 *   HEAP_OUT=/tmp/heap.json bun bench/density/bun_heap_server.ts --bare --port 9000
 */
import { heapStats } from "bun:jsc";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import process from "node:process";

const out = process.env.HEAP_OUT ?? "/tmp/sluice-heap.json";
const rssKB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);

process.on("SIGUSR2", () => {
  Bun.gc(true);
  Bun.gc(true);
  const s = heapStats();
  const report = {
    rssKB: rssKB(),
    memory: process.memoryUsage(),
    heapSize: s.heapSize,
    objectCount: s.objectCount,
    counts: s.objectTypeCounts,
  };
  writeFileSync(out + ".tmp", JSON.stringify(report));
  renameSync(out + ".tmp", out);
});
process.on("SIGUSR1", () => {
  Bun.gc(true);
  writeFileSync(out + ".snap.tmp", JSON.stringify(Bun.generateHeapSnapshot()));
  renameSync(out + ".snap.tmp", out + ".snap");
});

if (process.argv.includes("--bare")) {
  await import("../servers/bare_sse.ts");
} else {
  const { main } = await import("../../src/cli.ts");
  const { getRuntime } = await import("../../src/runtime/serve.ts");
  const { shippedPlugins } = await import("../../plugins/mod.ts");
  const runtime = await getRuntime();
  runtime.exit(await main(runtime.args(), { shipped: shippedPlugins }));
}
