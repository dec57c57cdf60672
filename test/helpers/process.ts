/**
 * Processes for CLI tests: Sluice (or any command) started in its own process group, its output
 * captured, and killed as a whole at cleanup.
 */
import type { TestContext } from "../harness.ts";
import { waitFor } from "../assert.ts";
import { spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getRuntime } from "../../src/runtime/serve.ts";
import { tempDir } from "./temp.ts";

export { tempDir };

export const root = fileURLToPath(new URL("../..", import.meta.url).href);
const runtime = await getRuntime();

export interface Proc {
  /** The process id (of the runtime itself when started with `sluice`). */
  pid: number;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  kill(signal?: string): void;
}

/**
 * `cmd` in its own process group (so `npm start` → sh → bun stops as a whole), its output
 * captured. The caller stops it; tests use `start`, which does so at cleanup.
 */
export function spawnGroup(cmd: string, args: string[], env: Record<string, string> = {}, cwd = root): Proc {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, detached: true });
  let out = "";
  child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  const exited = new Promise<number | null>((r) => child.on("exit", (code: number | null) => r(code)));
  let done = false;
  exited.then(() => (done = true));
  return {
    pid: child.pid!,
    output: () => out,
    async waitFor(re, ms = 15_000) {
      const match = await waitFor<RegExpExecArray | undefined>(
        () => re.exec(out) ?? undefined,
        `output matching ${re} (got: ${out.slice(-400)})`,
        ms,
      );
      return match!;
    },
    exited,
    kill(signal = "TERM") {
      if (!done) spawn("kill", ["-s", signal, "--", `-${child.pid}`]);
    },
  };
}

/** `spawnGroup`, killed (the whole group) when the test ends. */
export function start(
  t: TestContext,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = root,
): Proc {
  const p = spawnGroup(cmd, args, env, cwd);
  t.cleanup(async () => {
    p.kill("KILL");
    await p.exited;
  });
  return p;
}

/** The command line that runs `mod.ts` with `args` under the runtime running this suite. */
export function sluiceCommand(args: string[]): [string, string[]] {
  const mod = join(root, "mod.ts");
  return [process.execPath, runtime.name === "deno" ? ["run", "-A", mod, ...args] : [mod, ...args]];
}

/**
 * `mod.ts` under the runtime running this suite, from `cwd` — by default an empty folder of its
 * own, so a `config.json` in the repository (after a developer's `genconfig`) changes nothing.
 */
export function sluice(t: TestContext, args: string[], env: Record<string, string> = {}, cwd?: string): Proc {
  const [cmd, runArgs] = sluiceCommand(args);
  return start(t, cmd, runArgs, env, cwd ?? tempDir("cwd-"));
}

/** Open file descriptors of a process (Linux `/proc`). */
export function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of a process in bytes (Linux `/proc`). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export function writeConfig(config: unknown): string {
  const path = join(tempDir("config-"), "config.json");
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export const portOf = async (p: Proc) => Number((await p.waitFor(/address=[^\s:]+:(\d+)/))[1]);

/** What dev mode's banner printed: base URL (127.0.0.1), API key, HMAC secret, token. */
export function devBanner(p: Proc): { base: string; apiKey: string; secret: string; token: string } {
  const out = p.output();
  const pick = (re: RegExp) => re.exec(out)![1];
  return {
    base: pick(/URL:\s+(\S+)/).replace("localhost", "127.0.0.1"),
    apiKey: pick(/API key:\s+(\S+)/),
    secret: pick(/HMAC secret:\s+(\S+)/),
    token: pick(/Token:\s+(\S+)/),
  };
}

/** A port free right now on 127.0.0.1 (the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
