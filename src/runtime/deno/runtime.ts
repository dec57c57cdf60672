/**
 * @module
 * Deno's implementation of the runtime contract: the listener (Deno's `node:http`, in `../node_http/`),
 * arguments, environment, files, signals, exit, worker processes (`spawnSelf`), the module
 * specifier and the SDK's browser build.
 */
import type { Runtime, SignalName } from "../types.ts";
import { listenNodeHttp } from "../node_http/listener.ts";
import { deno } from "./namespace.ts";
import { denoHmac } from "./hmac.ts";

const SIGNALS: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export const denoRuntime: Runtime = {
  name: "deno",
  version: deno?.version?.deno ?? "unknown",
  listen: listenNodeHttp,
  args: () => [...deno.args],
  env: () => deno.env.toObject(),
  readTextFile: (path) => deno.readTextFile(path),
  writeTextFile: (path, text, opts) =>
    deno.writeTextFile(path, text, { createNew: opts?.createNew ?? false }),
  exit: (code): never => deno.exit(code) as never,
  onSignal(signal: SignalName, fn: () => void) {
    deno.addSignalListener(signal, fn);
    return () => deno.removeSignalListener(signal, fn);
  },
  hostname: () => deno.hostname(),
  cpuCount: () => navigator.hardwareConcurrency,
  hmac: denoHmac,
  spawnSelf(env) {
    // Deno.mainModule is the script, run with every permission, as `deno run -A mod.ts` runs it.
    const main = new URL(deno.mainModule);
    const args = main.protocol === "file:"
      ? ["run", "-A", decodeURIComponent(main.pathname), ...deno.args]
      : [...deno.args]; // a compiled Deno binary
    const child = new deno.Command(deno.execPath(), {
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
    deno.readTextFile(new URL("../../../node_modules/centrifuge/dist/centrifuge.js", import.meta.url)),
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
