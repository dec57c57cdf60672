/// <reference types="bun-types" />
/**
 * @module
 * Serving on Bun: `Bun.serve` with the listen options (idle timeout in Bun's whole seconds, TLS,
 * SO_REUSEPORT, the WebSocket handlers), each request handed to Sluice's handler with its `BunConn`.
 */
import { DEFAULT_IDLE_TIMEOUT_MS, type Listener, type ListenOptions } from "../types.ts";
import { bun } from "./namespace.ts";
import { BUN_MAX_IDLE_SECONDS, BunConn } from "./conn.ts";
import { type SocketData, UPGRADED, websocketHandlers } from "./websocket.ts";

export function listenBun(opts: ListenOptions): Promise<Listener> {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // Whole seconds, at most 255 (Bun's limit); 0 disables. Streams opt out per request.
  const idleSeconds = idleMs > 0 ? Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, Math.ceil(idleMs / 1000))) : 0;
  const server = bun.serve({
    port: opts.port,
    hostname: opts.hostname,
    idleTimeout: idleSeconds,
    reusePort: opts.reusePort ?? false,
    ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    async fetch(req: Request, srv: Bun.Server<SocketData>) {
      const res = await opts.handler(req, new BunConn(req, srv, idleSeconds));
      return res === UPGRADED ? undefined : res;
    },
    websocket: websocketHandlers(opts.maxWebSocketMessageBytes ?? 65536),
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
}
