/**
 * @module
 * The servers the suites beside Centrifugo run against, each a real process on a loopback port:
 * Centrifugo v6.9.1 (built by `bench/peers/centrifugo.sh`), and Sluice as users run it — `bun mod.ts`,
 * `deno run -A mod.ts` and the compiled binary — all reading the same Centrifugo v6 JSON config.
 *
 * Used by the differential suite (`test/differential/`) and the interop runner (`test/interop/`);
 * `npm test` does not load it (no file here ends in `_test.ts`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "../helpers/binary.ts";
import { freePort, type Proc, root, spawnGroup } from "../helpers/process.ts";

export type TargetName = "centrifugo" | "sluice-bun" | "sluice-deno" | "sluice-binary";
export const SLUICE_TARGETS: TargetName[] = ["sluice-bun", "sluice-deno", "sluice-binary"];
export const ALL_TARGETS: TargetName[] = ["centrifugo", ...SLUICE_TARGETS];

export interface Running {
  target: TargetName;
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  pid: number;
  /** The server's own output so far (for failures). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment variables (both servers read `CENTRIFUGO_*`-free configs here: file only). */
  env?: Record<string, string>;
  /** How long the server may take to listen (ms). */
  startupMs?: number;
}

let centrifugoPath: Promise<string> | undefined;

/**
 * The Centrifugo binary, installed on first use. Fails with the install script's one line (naming
 * Go) when it cannot be had — never a silent skip.
 */
export function centrifugoBinary(): Promise<string> {
  return centrifugoPath ??= new Promise((resolve, reject) => {
    execFile(join(root, "bench/peers/centrifugo.sh"), { cwd: root }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim().split("\n").pop() || `centrifugo.sh failed: ${err.message}`));
      else resolve(stdout.trim().split("\n").pop()!);
    });
  });
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `ms`. */
async function listening(port: number, proc: Proc, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`exited before listening:\n${proc.output().slice(-2000)}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not listening on ${port} after ${ms} ms:\n${proc.output().slice(-2000)}`);
}

/**
 * Starts `target` with `config` (a Centrifugo v6 JSON config; `http_server.port` is set here) in a
 * folder of its own, so neither server finds a stray `config.json`.
 */
export async function startTarget(
  target: TargetName,
  config: Record<string, unknown>,
  opts: StartOptions = {},
): Promise<Running> {
  // The free port is handed over between its check and the server's bind: another process may
  // take it meanwhile, so a server that finds it taken starts again on another.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(target, config, opts);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(
  target: TargetName,
  config: Record<string, unknown>,
  opts: StartOptions,
): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${target}-`));
  const file = join(dir, "config.json");
  const httpServer = { ...(config.http_server as Record<string, unknown> ?? {}), port, address: "127.0.0.1" };
  writeFileSync(file, JSON.stringify({ ...config, http_server: httpServer }, null, 2));
  const env = opts.env ?? {};
  const bin = (name: string) => join(root, "node_modules", ".bin", name);
  const mod = join(root, "mod.ts");
  let proc: Proc;
  switch (target) {
    case "centrifugo":
      proc = spawnGroup(await centrifugoBinary(), ["--config", file], env, dir);
      break;
    case "sluice-bun":
      proc = spawnGroup(bin("bun"), [mod, "--config", file], env, dir);
      break;
    case "sluice-deno":
      proc = spawnGroup(bin("deno"), ["run", "-A", mod, "--config", file], env, dir);
      break;
    case "sluice-binary":
      proc = spawnGroup(await binary(), ["--config", file], env, dir);
      break;
  }
  try {
    await listening(port, proc, opts.startupMs ?? 30_000);
  } catch (err) {
    proc.kill("KILL");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${target}: ${(err as Error).message}`);
  }
  return {
    target,
    url: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    output: proc.output,
    async stop() {
      proc.kill("TERM");
      const timer = setTimeout(() => proc.kill("KILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true }); // the config file (and whatever the server wrote there)
    },
  };
}
