/**
 * A real `redis-server` on a loopback port for one test (or a suite), started and stopped by the
 * test. `.ci/run` installs the Debian package; locally: `apt-get install redis-server`.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { waitFor } from "../assert.ts";

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM: with appendonly it keeps its data on disk). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Runs a redis-cli command against it. */
  cli(...args: string[]): string;
}

export function redisAvailable(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0;
}

export async function startRedis(opts: { persistent?: boolean } = {}): Promise<RedisServer> {
  if (!redisAvailable()) {
    throw new Error("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it");
  }
  const dir = mkdtempSync(join(tmpdir(), "sluice-redis-"));
  let port = 0;
  let proc: ReturnType<typeof spawn> | undefined;
  let exited: Promise<void> = Promise.resolve();
  const launch = async (fixedPort?: number) => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const p = fixedPort ?? 20_000 + Math.floor(Math.random() * 30_000);
      const args = [
        "--port",
        String(p),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        opts.persistent ? "yes" : "no",
        "--appendfsync",
        "always",
        "--protected-mode",
        "yes",
      ];
      const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
      const done = new Promise<void>((r) => child.on("exit", () => r()));
      const ready = await waitFor(
        () => out.includes("Ready to accept connections") || child.exitCode !== null,
        "redis-server start",
        10_000,
      )
        .then(() => out.includes("Ready to accept connections"));
      if (ready) {
        port = p;
        proc = child;
        exited = done;
        return;
      }
      if (fixedPort) throw new Error(`redis-server could not start again on ${p}: ${out.slice(-300)}`);
    }
    throw new Error("redis-server did not start on any port tried");
  };
  await launch();
  const server: RedisServer = {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    async stop() {
      proc?.kill("SIGTERM");
      await exited;
    },
    async restart() {
      await launch(port);
    },
    cli: (...args) => spawnSync("redis-cli", ["-p", String(port), ...args]).stdout?.toString() ?? "",
  };
  return server;
}
