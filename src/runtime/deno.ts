/**
 * @module
 * Deno implementation of the runtime contract (HTTP serving in `deno_listener.ts`).
 */
import type { Listener, ListenOptions, Runtime, SignalName } from "./types.ts";
import { listenDeno } from "./deno_listener.ts";
import { listenNodeHttp } from "./node_http.ts";

/** Deno's namespace, typed by Deno's own declarations (read only when running on Deno). */
const D = (globalThis as { Deno?: typeof Deno }).Deno!;

const SIGNALS: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export const denoRuntime: Runtime = {
  name: "deno",
  version: D?.version?.deno ?? "unknown",
  listen(opts: ListenOptions): Promise<Listener> {
    if (opts.denoListener === "node_http") return listenNodeHttp(opts);
    try {
      return Promise.resolve(listenDeno(opts));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  args: () => [...D.args],
  env: () => D.env.toObject(),
  readTextFile: (path) => D.readTextFile(path),
  writeTextFile: (path, text, opts) => D.writeTextFile(path, text, { createNew: opts?.createNew ?? false }),
  exit: (code): never => D.exit(code) as never,
  onSignal(signal: SignalName, fn: () => void) {
    D.addSignalListener(signal, fn);
    return () => D.removeSignalListener(signal, fn);
  },
  hostname: () => D.hostname(),
  cpuCount: () => navigator.hardwareConcurrency,
  spawnSelf(env) {
    // Deno.mainModule is the script; -A and --unstable-net (SO_REUSEPORT on Sluice's own listener).
    const main = new URL(D.mainModule);
    const args = main.protocol === "file:"
      ? ["run", "-A", "--unstable-net", decodeURIComponent(main.pathname), ...D.args]
      : [...D.args]; // a compiled Deno binary
    const child = new D.Command(D.execPath(), {
      args,
      env,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return {
      pid: child.pid,
      exited: child.status.then((s) => s.signal ? 128 + (SIGNALS[s.signal] ?? 0) : s.code),
      kill: (signal) => child.kill(signal),
    };
  },
  sdkBrowserBuild: () =>
    D.readTextFile(new URL("../../node_modules/centrifuge/dist/centrifuge.js", import.meta.url)),
  /**
   * Deno has no loader hooks; `"sluice"` resolves through the import map in Sluice's `deno.json`,
   * which Deno finds next to `mod.ts` wherever the process starts. Only say whether it does.
   */
  exposeModule(specifier) {
    try {
      import.meta.resolve(specifier);
      return undefined;
    } catch {
      return `Deno resolves "${specifier}" through the "imports" of Sluice's deno.json, and this process ` +
        `did not load it (started with --config, --no-config or --import-map?)`;
    }
  },
};
