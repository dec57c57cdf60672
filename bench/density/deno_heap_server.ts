/**
 * Sluice on Deno with a heap report on a signal, for bench/density/deno_objects.mjs: SIGUSR2 writes,
 * after two full collections, `Deno.memoryUsage()` and the process RSS to `$HEAP_OUT`; SIGUSR1 writes
 * a V8 heap snapshot to `$HEAP_OUT.heapsnapshot`. Needs `--v8-flags=--expose-gc`.
 *
 *   HEAP_OUT=/tmp/heap.json deno run -A --v8-flags=--expose-gc bench/density/deno_heap_server.ts --config cfg.json
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const out = Deno.env.get("HEAP_OUT") ?? "/tmp/sluice-heap.json";
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {
  throw new Error("run with --v8-flags=--expose-gc");
});
const rssKB = () => Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? 0);

/** V8's heap spaces: MB committed (used) each, e.g. `new_space 16.0 (3.1)`. */
const spaces = () =>
  getHeapSpaceStatistics().map((s) =>
    `${s.space_name} ${(s.space_size / 2 ** 20).toFixed(1)} (${(s.space_used_size / 2 ** 20).toFixed(1)})`
  ).join(", ");

Deno.addSignalListener("SIGUSR2", () => {
  // as the idle benchmark sees it (garbage included), then what is kept
  const uncollected = { rssKB: rssKB(), memory: Deno.memoryUsage(), spaces: spaces() };
  gc();
  gc();
  Deno.writeTextFileSync(
    out + ".tmp",
    JSON.stringify({ rssKB: rssKB(), memory: Deno.memoryUsage(), spaces: spaces(), uncollected }),
  );
  Deno.renameSync(out + ".tmp", out);
});
Deno.addSignalListener("SIGUSR1", () => {
  gc();
  writeHeapSnapshot(out + ".tmp.heapsnapshot");
  Deno.renameSync(out + ".tmp.heapsnapshot", out + ".heapsnapshot");
});

const { main } = await import("../../src/cli.ts");
const { getRuntime } = await import("../../src/runtime/serve.ts");
const { shippedPlugins } = await import("../../plugins/mod.ts");
const runtime = await getRuntime();
runtime.exit(await main(runtime.args(), { shipped: shippedPlugins }));
