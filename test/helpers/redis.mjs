// @ts-self-types="./redis.d.mts"
/**
 * @module
 * A real `redis-server` on a loopback port, started and stopped by its user: a test or a suite,
 * the soak campaign (`bench/soak/`), the benchmark's worker servers (`bench/run/`). Plain
 * JavaScript so that Node (bench and soak), Deno and Bun (the suite) all import it; its types are
 * in redis.d.mts. `.ci/run` installs the Debian package; locally: `apt-get install redis-server`.
 */
import process from "node:process";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What redis-server prints once it listens. */
const READY = "Ready to accept connections";
const START_TIMEOUT_MS = 10_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Data folders not yet removed: whatever is left goes when the process exits. */
const dirs = new Set();
let exitHookSet = false;

function removeDir(dir) {
  dirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function makeDir() {
  const dir = mkdtempSync(join(tmpdir(), "sluice-redis-"));
  dirs.add(dir);
  if (!exitHookSet) {
    exitHookSet = true;
    const removeAll = () => dirs.forEach(removeDir);
    // One runtime's exit fires the process "exit" event, the other's the global "unload" event.
    process.on("exit", removeAll);
    globalThis.addEventListener?.("unload", removeAll);
  }
  return dir;
}

export function redisAvailable() {
  return spawnSync("redis-server", ["--version"]).status === 0;
}

/**
 * Starts redis-server on `port`, or on a random port (tried up to ten times: another process may
 * hold one). Nothing is saved unless `persistent`: then an append-only file fsynced on every
 * write, so a restart (even after kill -9) keeps every acknowledged write.
 */
export async function startRedis({ persistent = false, port: fixedPort } = {}) {
  if (!redisAvailable()) {
    throw new Error("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it");
  }
  const dir = makeDir();
  let port = 0;
  let child;
  let exited = Promise.resolve();
  /** Starts the server on `at` (or random ports); resolves once it accepts connections. */
  const launch = async (at) => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const p = at ?? 20_000 + Math.floor(Math.random() * 30_000);
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
        persistent ? "yes" : "no",
        "--appendfsync",
        "always",
        "--protected-mode",
        "yes",
      ];
      const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      proc.stdout.setEncoding("utf8");
      proc.stdout.on("data", (d) => (out += d));
      const done = new Promise((r) => proc.on("exit", () => r()));
      const started = Date.now();
      while (!out.includes(READY) && proc.exitCode === null && Date.now() - started < START_TIMEOUT_MS) {
        await sleep(20);
      }
      if (out.includes(READY)) {
        port = p;
        child = proc;
        exited = done;
        return;
      }
      // Exited at once: a random port may have been taken, so another is tried; a given port, or a
      // server that never got ready, is an error.
      if (at !== undefined || proc.exitCode === null) {
        proc.kill("SIGKILL");
        throw new Error(`redis-server did not start on port ${p}: ${out.slice(-300)}`);
      }
    }
    throw new Error("redis-server did not start on any port tried");
  };
  try {
    await launch(fixedPort);
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  return {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get pid() {
      return child.pid;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
      // A persistent server keeps its folder for `restart()` (its data); it goes at exit.
      if (!persistent) removeDir(dir);
    },
    kill() {
      child.kill("SIGKILL");
      return exited;
    },
    restart: () => launch(port),
    cli: (...args) => spawnSync("redis-cli", ["-p", String(port), ...args]).stdout?.toString() ?? "",
  };
}
