/// <reference types="bun-types" />
/**
 * @module
 * Bun implementation of the runtime contract (`Bun.serve`), typed with `bun-types` (the type
 * checker sees Bun's API; at run time `Bun` is only read when this module runs on Bun).
 */
import type { ConnInfo, Listener, ListenOptions, Runtime, SignalName } from "./types.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "./types.ts";
import process from "node:process";
import os from "node:os";
import { exposeBunModule } from "./bun_specifier.ts";

const B = (globalThis as { Bun?: typeof Bun }).Bun!;

/** The parts of Bun's server a request needs. */
type BunServer = Pick<Bun.Server<undefined>, "requestIP" | "timeout">;

const ONCE = { once: true };

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
class BunConn implements ConnInfo {
  constructor(
    private readonly req: Request,
    private readonly srv: BunServer,
    private readonly idleSeconds: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.srv.requestIP?.(this.req)?.address;
  }

  onClose(fn: () => void): void {
    const signal = this.req.signal;
    if (signal.aborted) fn();
    else signal.addEventListener("abort", fn, ONCE);
  }

  /**
   * Bun closes connections idle for `idleTimeout` (10 s by default), and a stream that is only
   * pinged every 25 s looks idle; 0 disables the timeout for this request only.
   */
  holdOpen(): void {
    this.srv.timeout(this.req, 0);
  }

  /** Bun cuts a connection that makes no progress for its timeout: give the stream one again. */
  responseEnded(): void {
    this.srv.timeout(this.req, this.idleSeconds || BUN_MAX_IDLE_SECONDS);
  }

  /** As soon as Bun allows: one second without progress. */
  abort(): void {
    this.srv.timeout(this.req, 1);
  }
}

/** Bun's largest idle timeout. */
const BUN_MAX_IDLE_SECONDS = 255;

export const bunRuntime: Runtime = {
  name: "bun",
  version: B?.version ?? "unknown",
  listen(opts: ListenOptions): Promise<Listener> {
    const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    // Whole seconds, at most 255 (Bun's limit); 0 disables. Streams opt out per request.
    const idleSeconds = idleMs > 0
      ? Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, Math.ceil(idleMs / 1000)))
      : 0;
    const server = B.serve({
      port: opts.port,
      hostname: opts.hostname,
      idleTimeout: idleSeconds,
      fetch(req: Request, srv: BunServer) {
        return opts.handler(req, new BunConn(req, srv, idleSeconds));
      },
      error: () => new Response("internal server error", { status: 500 }),
    });
    return Promise.resolve({
      // Undefined only for unix sockets, which Sluice does not listen on.
      port: server.port ?? opts.port,
      hostname: server.hostname ?? opts.hostname,
      async close(force = false) {
        await server.stop(force);
      },
    });
  },
  exposeModule: exposeBunModule,
  args: () => process.argv.slice(2),
  env: () => ({ ...process.env }) as Record<string, string>,
  readTextFile: (path) => B.file(path).text(),
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
};
