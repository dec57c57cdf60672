/**
 * @module
 * Bun implementation of the runtime contract (`Bun.serve`).
 */
import type { ConnInfo, Listener, ListenOptions, Runtime, SignalName } from "./types.ts";
import process from "node:process";
import os from "node:os";

// deno-lint-ignore no-explicit-any
const B = (globalThis as any).Bun;

export const bunRuntime: Runtime = {
  name: "bun",
  version: B?.version ?? "unknown",
  listen(opts: ListenOptions): Promise<Listener> {
    const server = B.serve({
      port: opts.port,
      hostname: opts.hostname,
      // deno-lint-ignore no-explicit-any
      fetch(req: Request, srv: any) {
        const conn: ConnInfo = {
          get remoteAddr() {
            return srv.requestIP?.(req)?.address;
          },
          onClose(fn) {
            if (req.signal.aborted) fn();
            else req.signal.addEventListener("abort", fn, { once: true });
          },
          // Bun closes connections idle for `idleTimeout` (10 s by default), and a stream that is
          // only pinged every 25 s looks idle; 0 disables the timeout for this request only.
          holdOpen: () => srv.timeout(req, 0),
        };
        return opts.handler(req, conn);
      },
      error: () => new Response("internal server error", { status: 500 }),
    });
    return Promise.resolve({
      port: server.port,
      hostname: server.hostname,
      async close(force = false) {
        await server.stop(force);
      },
    });
  },
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
