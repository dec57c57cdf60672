/// <reference types="bun-types" />
/**
 * @module
 * Bun's implementation of the runtime contract: serving (`server.ts`), arguments, environment,
 * files, signals, exit, worker processes (`spawnSelf`), HMAC (`hmac.ts`), the module specifier
 * (`specifier.ts`) and the SDK's browser build embedded in the compiled binary.
 */
import type { Runtime, SignalName } from "../types.ts";
import process from "node:process";
import os from "node:os";
import { bun } from "./namespace.ts";
import { listenBun } from "./server.ts";
import { exposeBunModule } from "./specifier.ts";
import { bunHmac } from "./hmac.ts";
// @ts-ignore: a Bun file import — the path of the file, embedded in the compiled binary too
import sdkBrowserBuildPath from "../../../node_modules/centrifuge/dist/centrifuge.js" with { type: "file" };

export const bunRuntime: Runtime = {
  name: "bun",
  version: bun?.version ?? "unknown",
  listen: listenBun,
  exposeModule: exposeBunModule,
  sdkBrowserBuild: () => bun.file(sdkBrowserBuildPath as unknown as string).text(),
  args: () => process.argv.slice(2),
  env: () => ({ ...process.env }) as Record<string, string>,
  readTextFile: (path) => bun.file(path).text(),
  async writeTextFile(path, text, opts) {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, text, { flag: opts?.createNew ? "wx" : "w" });
  },
  exit: (code) => process.exit(code),
  onSignal(signal: SignalName, fn: () => void) {
    process.on(signal, fn);
    return () => process.off(signal, fn);
  },
  hostname: () => os.hostname(),
  cpuCount: () => os.availableParallelism?.() ?? os.cpus().length,
  hmac: bunHmac,
  spawnSelf(env) {
    // A compiled binary is its own program (argv[1] is its virtual entry); `bun x.ts` runs x.ts again.
    const compiled = bun.main.startsWith("/$bunfs/") || bun.main.startsWith("B:/~BUN/");
    const cmd = [process.execPath, ...(compiled ? [] : [bun.main]), ...process.argv.slice(2)];
    const child = bun.spawn(cmd, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    return {
      pid: child.pid,
      exited: child.exited.then((code) =>
        code ?? 128 + ((os.constants.signals as Record<string, number>)[String(child.signalCode)] ?? 0)
      ),
      kill: (signal) => child.kill(signal),
    };
  },
};
