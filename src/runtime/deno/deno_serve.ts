/**
 * @module
 * `Deno.serve` as the listener (`deno_listener: "deno_serve"`, and the fallback on a Deno without
 * `serveHttpOnConnection`): Deno's own accept loop — no idle timeout, EMFILE is fatal — but it can
 * upgrade to a WebSocket.
 */
import type { Listener, ListenOptions, WebSocketUpgrade } from "../types.ts";
import { StandardWebSocket } from "../standard_websocket.ts";
import { deno } from "./namespace.ts";
import { DenoConn, type DenoServeInfo } from "./conn.ts";

/** What a Deno server answers when the handler throws (its `onError`). */
export const internalError = () => new Response("internal server error", { status: 500 });
const noop = () => {};

/**
 * A request served by `Deno.serve`, which can upgrade to a WebSocket. Sluice's own listener
 * cannot: Deno's per-connection server ends its loop once the connection has no HTTP request
 * left — which an upgrade is — and closes it non-gracefully, taking the socket with it. Its
 * connections have no `upgradeWebSocket`, and the transport answers 501 (the SDK then falls back
 * to its next transport).
 */
class DenoServeConn extends DenoConn {
  /** `Deno.upgradeWebSocket`; Deno's own protocol pings watch the socket (`idleTimeout`, 120 s). */
  upgradeWebSocket(req: Request, opts: WebSocketUpgrade): Response {
    const { socket, response } = deno.upgradeWebSocket(req, opts.protocol ? { protocol: opts.protocol } : {});
    socket.binaryType = "arraybuffer";
    const { events } = opts;
    socket.onopen = () => events.open(new StandardWebSocket(socket));
    socket.onmessage = (e: MessageEvent) =>
      events.message(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
    socket.onclose = (e: CloseEvent) => events.close(e.code, e.reason);
    socket.onerror = noop;
    return response;
  }
}

export function listenWithDenoServe(opts: ListenOptions): Listener {
  const server = deno.serve(
    {
      port: opts.port,
      hostname: opts.hostname,
      reusePort: opts.reusePort ?? false,
      ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}),
      onListen() {},
      onError: internalError,
    },
    (req: Request, info: DenoServeInfo) => opts.handler(req, new DenoServeConn(info)),
  );
  let shutdown: Promise<void> | undefined;
  return {
    port: server.addr.port,
    hostname: server.addr.hostname,
    async close(force = false) {
      shutdown ??= server.shutdown();
      if (force) {
        await Promise.race([shutdown, new Promise((r) => setTimeout(r, 50))]);
        server.unref?.();
        return;
      }
      await shutdown;
    },
  };
}
