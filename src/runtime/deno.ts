/**
 * @module
 * Deno implementation of the runtime contract (`Deno.serve`).
 */
import type { ConnInfo, Listener, ListenOptions, Runtime, SignalName } from "./types.ts";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

/** What `Deno.serve` tells a handler about the request's connection. */
interface DenoServeInfo {
  remoteAddr?: { hostname?: string };
  completed?: Promise<void>;
}

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
class DenoConn implements ConnInfo {
  constructor(private readonly info: DenoServeInfo | undefined) {}

  get remoteAddr(): string | undefined {
    return this.info?.remoteAddr?.hostname;
  }

  /**
   * `completed` settles when the response is done or the connection dropped; using it (not
   * request.signal) avoids Deno's legacy-abort warning.
   */
  onClose(fn: () => void): void {
    this.info?.completed?.then(fn, fn);
  }

  holdOpen(): void {}
}

export const denoRuntime: Runtime = {
  name: "deno",
  version: D?.version?.deno ?? "unknown",
  listen(opts: ListenOptions): Promise<Listener> {
    return new Promise((resolve, reject) => {
      try {
        const server = D.serve(
          {
            port: opts.port,
            hostname: opts.hostname,
            onListen() {},
            // Errors thrown by handlers are logged by the server layer; answer plainly here.
            onError: () => new Response("internal server error", { status: 500 }),
          },
          (req: Request, info: DenoServeInfo) => opts.handler(req, new DenoConn(info)),
        );
        let shutdown: Promise<void> | undefined;
        resolve({
          port: server.addr.port,
          hostname: server.addr.hostname,
          async close(force = false) {
            // shutdown() stops accepting and waits for open responses (once, however often called).
            shutdown ??= server.shutdown();
            if (force) {
              await Promise.race([shutdown, new Promise((r) => setTimeout(r, 50))]);
              server.unref?.();
              return;
            }
            await shutdown;
          },
        });
      } catch (err) {
        reject(err);
      }
    });
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
};
