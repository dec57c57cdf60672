// The bench's processes: its own (clock, log, exit, CPU pinning) and those it starts. Every process
// started is the leader of its own group, so one kill takes its children too; everything still
// running is killed on the way out, and the run's temporary folder removed. CPU time and memory
// are read from /proc.
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "./paths.mjs";

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
export function log(...a) {
  process.stderr.write(a.join(" ") + "\n");
}

const CLK_TCK = 100;
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime (fields 14, 15)
  } catch {
    return 0;
  }
}
export function rssKB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/** A process and all its descendants. */
export function treeOf(pid) {
  return [pid, ...childrenOf(pid).flatMap(treeOf)];
}

export function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(
      Number,
    );
  } catch {
    return [];
  }
}

// Every process we start is the leader of its own process group; all are killed on the way out.
const groups = new Set();
export function startProcess(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["pipe", "pipe", "pipe"], ...opts });
  groups.add(child.pid);
  child.on("exit", () => groups.delete(child.pid));
  child.exitPromise = new Promise((r) => child.on("exit", (code, sig) => r({ code, sig })));
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  return child;
}
function killGroup(pid, sig = "SIGKILL") {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
}
export function killEverything() {
  for (const pid of groups) killGroup(pid);
  groups.clear();
}
export async function stopProcess(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child.pid, "SIGTERM");
  const done = await Promise.race([child.exitPromise.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) killGroup(child.pid, "SIGKILL");
  await Promise.race([child.exitPromise, sleep(2000)]);
  killGroup(child.pid, "SIGKILL"); // stragglers of the group (nginx worker)
  groups.delete(child.pid);
}
let tmpRoot;
/** The run's temporary folder (server configs, nginx prefixes): made on first use, removed on exit. */
export function runDir() {
  return (tmpRoot ??= mkdtempSync(join(os.tmpdir(), "sluice-bench-")));
}
process.on("exit", () => {
  killEverything();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`\nbench: ${sig}, stopping everything`);
    killEverything();
    process.exit(130);
  });
}
process.on("uncaughtException", (err) => {
  log("bench: " + (err?.stack ?? err));
  killEverything();
  process.exit(1);
});

let nextPort = 21000 + Math.floor(Math.random() * 5000);
export async function freePort() {
  // Below the ephemeral range (32768+), so no client socket can be holding it; a new port per
  // server start keeps TIME_WAIT leftovers of the previous run out of the way.
  for (;;) {
    const port = nextPort++;
    if (nextPort > 32000) nextPort = 21000;
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/** The CPUs of the bench's own processes: CLIENT_CPU while a pinned server runs, else all. */
let benchCpus = null;
export function pinBench(cpus) {
  benchCpus = cpus;
  // -a: every thread of this process (libuv's pool, V8's helpers), not only the main one
  execFileSync("taskset", ["-a", "-p", "-c", cpus ?? `0-${os.cpus().length - 1}`, String(process.pid)], {
    stdio: "ignore",
  });
}
/** A command of the bench's own (load client, wrk) on the bench's CPUs. */
export const onBenchCpus = (cmd, args) =>
  benchCpus ? ["taskset", ["-c", benchCpus, cmd, ...args]] : [cmd, args];
