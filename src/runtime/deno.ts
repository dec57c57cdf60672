/**
 * @module
 * Deno implementation of the runtime contract (`Deno.serve`).
 */
import type { ConnInfo, Listener, ListenOptions, Runtime, SignalName } from "./types.ts";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

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
          // deno-lint-ignore no-explicit-any
          (req: Request, info: any) => {
            const conn: ConnInfo = {
              remoteAddr: info?.remoteAddr?.hostname,
              // `completed` settles when the response is done or the connection dropped; using it
              // (not request.signal) avoids Deno's legacy-abort warning.
              onClose: (fn) => void info?.completed?.then(fn, fn),
              holdOpen: noop,
            };
            return opts.handler(req, conn);
          },
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

function noop(): void {}
