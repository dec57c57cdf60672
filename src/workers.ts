/**
 * @module
 * `--workers N`: one supervisor process starts N copies of itself (the same script or binary, the
 * same arguments) that listen on the same ports with SO_REUSEPORT, so the kernel spreads connections
 * over them. Each worker is an ordinary node on the configured broker — the same path as several
 * machines on Redis — so history, recovery, presence, the server API and `/emulation` requests that
 * land on another worker behave as with one node. The supervisor restarts a worker that dies (with a
 * backoff when it keeps dying), passes SIGTERM / SIGINT on for a graceful shutdown of all, and exits
 * when they are gone.
 *
 * A worker learns its place from the environment (`SLUICE_WORKER`, `SLUICE_WORKER_GROUP`,
 * `SLUICE_WORKER_PORT`), which wins over flags and config: the supervisor decides the port once, so
 * `--port 0` gives every worker the same one.
 */
import type { ChildProcess, Runtime } from "./runtime/types.ts";
import type { Logger } from "./log.ts";
import { readFileSync } from "node:fs";

/** What a worker process is told by its supervisor. */
export interface WorkerPlace {
  /** 1-based. */
  id: number;
  count: number;
  /** Shared by the workers of one supervisor (their `/metrics` adds up over it). */
  group: string;
  port: number;
}

const ENV_WORKER = "SLUICE_WORKER";
const ENV_GROUP = "SLUICE_WORKER_GROUP";
const ENV_PORT = "SLUICE_WORKER_PORT";

/** This process's place among workers, or undefined when it is not a worker. */
export function workerPlace(env: Record<string, string | undefined>): WorkerPlace | undefined {
  const spec = env[ENV_WORKER];
  if (spec === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const port = Number(env[ENV_PORT]);
  const group = env[ENV_GROUP];
  if (!m || !group || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${ENV_WORKER}, ${ENV_GROUP} and ${ENV_PORT} are set by the supervisor; got ${spec}`);
  }
  return { id: Number(m[1]), count: Number(m[2]), group, port };
}

/** How many workers `workers` asks for: the number, or one per core for "auto" (0). */
export function workerCount(configured: number, cores: number): number {
  return configured === 0 ? Math.max(1, cores) : configured;
}

/** Why workers cannot start without a shared broker, and what to configure. */
export function needsBrokerMessage(count: number): string {
  return `workers: ${count} runs ${count} processes that must share channels, history and presence ` +
    `through a broker, and none is configured. Add the Redis broker, e.g. ` +
    `"plugins": {"redis_broker": {"address": "redis://127.0.0.1:6379"}} ` +
    `(or Centrifugo's "engine": "redis" with "redis_address"), or run with workers: 1.`;
}

export interface SupervisorOptions {
  count: number;
  port: number;
  /** The whole shutdown may take this long before the remaining workers are killed. */
  shutdownMs: number;
  logger: Logger;
}

/** A worker that dies within this long after starting counts as crashing: the restart waits longer. */
const HEALTHY_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Starts the workers and keeps them running until SIGTERM / SIGINT; resolves with the exit code
 * once all have stopped.
 */
export function supervise(runtime: Runtime, opts: SupervisorOptions): Promise<number> {
  const group = crypto.randomUUID();
  const workers = new Map<number, ChildProcess>();
  const failures = new Map<number, number>();
  const restarts = new Map<number, ReturnType<typeof setTimeout>>();
  let stopping = false;
  let finish: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const log = opts.logger;

  const startWorker = (id: number) => {
    restarts.delete(id);
    const child = runtime.spawnSelf({
      [ENV_WORKER]: `${id}/${opts.count}`,
      [ENV_GROUP]: group,
      [ENV_PORT]: String(opts.port),
    });
    const startedAt = Date.now();
    workers.set(id, child);
    log.info("worker started", { worker: id, pid: child.pid });
    child.exited.then((code) => {
      workers.delete(id);
      if (stopping) {
        log.info("worker stopped", { worker: id, code });
        if (workers.size === 0) finish(0);
        return;
      }
      const crashed = Date.now() - startedAt < HEALTHY_AFTER_MS;
      const n = crashed ? (failures.get(id) ?? 0) + 1 : 0;
      failures.set(id, n);
      const delay = Math.min(MAX_RESTART_DELAY_MS, 1000 * 2 ** Math.max(0, n - 1));
      log.warn("worker exited; restarting it", { worker: id, code, restart_in_ms: delay });
      restarts.set(id, setTimeout(() => startWorker(id), delay));
    });
  };

  const stop = () => {
    if (stopping) {
      // A second signal: no more waiting.
      for (const child of workers.values()) child.kill("SIGKILL");
      return runtime.exit(1);
    }
    stopping = true;
    for (const timer of restarts.values()) clearTimeout(timer);
    log.info("stopping workers", { workers: workers.size });
    if (workers.size === 0) return finish(0);
    for (const child of workers.values()) child.kill("SIGTERM");
    setTimeout(() => {
      if (workers.size === 0) return;
      log.warn("workers did not stop in time; killing them", { workers: workers.size });
      for (const child of workers.values()) child.kill("SIGKILL");
    }, opts.shutdownMs).unref?.();
  };
  runtime.onSignal("SIGINT", stop);
  runtime.onSignal("SIGTERM", stop);

  log.info("supervising workers", { workers: opts.count, port: opts.port, group });
  for (let id = 1; id <= opts.count; id++) startWorker(id);
  return done;
}

/** The parent's pid as the kernel sees it now (Linux `/proc`), or undefined where unreadable. */
export function currentParentPid(): number | undefined {
  try {
    // "pid (comm) state ppid …": comm may contain spaces and parentheses, so read after the last ")".
    const stat = readFileSync("/proc/self/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * In a worker: when the supervisor is gone (killed without a chance to stop us), stop too, or the
 * orphan keeps the port. Checked every few seconds; `stop` should shut down gracefully.
 */
export function stopWithParent(stop: () => void, parentPid = currentParentPid): void {
  const original = parentPid();
  if (original === undefined) return;
  const timer = setInterval(() => {
    if (parentPid() !== original) {
      clearInterval(timer);
      stop();
    }
  }, 2_000);
  (timer as { unref?: () => void }).unref?.();
}
