/// <reference types="bun-types" />
/**
 * @module
 * WebSocket on Bun: the upgrade of a request (`server.upgrade`), the handlers `Bun.serve` calls for
 * every upgraded socket, and the `ServerWebSocket` Sluice drives over Bun's socket.
 */
import type { ServerWebSocket, WebSocketEvents, WebSocketUpgrade } from "../types.ts";

/** What a Bun WebSocket carries: the events of the Sluice connection behind it. */
export interface SocketData {
  events: WebSocketEvents;
}

/**
 * Returned by the handler of an upgraded request: Bun has already answered it (101), and its
 * `fetch` must return nothing. Compared by identity.
 */
export const UPGRADED = new Response(null, { status: 204 });

const NO_PROTOCOL = Object.freeze({ "Sec-WebSocket-Protocol": "" });

/** Upgrades `req` on `server`; the socket's events go to `opts.events`. */
export function upgradeBunWebSocket(
  server: Pick<Bun.Server<SocketData>, "upgrade">,
  req: Request,
  opts: WebSocketUpgrade,
): Response {
  // Without the header Bun answers with the client's first offered subprotocol, one Sluice may
  // not speak; an empty value makes Bun send none (the client then decides, as with Centrifugo).
  const headers = opts.protocol
    ? { "Sec-WebSocket-Protocol": opts.protocol }
    : req.headers.has("sec-websocket-protocol")
    ? NO_PROTOCOL
    : undefined;
  if (!server.upgrade(req, { data: { events: opts.events }, headers })) {
    return new Response("Bad Request: not a WebSocket upgrade", { status: 400 });
  }
  return UPGRADED;
}

class BunWebSocket implements ServerWebSocket {
  constructor(private readonly ws: Bun.ServerWebSocket<SocketData>) {}
  sendText(text: string): void {
    this.ws.sendText(text);
  }
  sendTexts(texts: readonly string[]): void {
    this.ws.cork(() => {
      for (const t of texts) this.ws.sendText(t);
    });
  }
  sendBinary(bytes: Uint8Array): void {
    this.ws.sendBinary(bytes);
  }
  get bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
}

/** The WebSocket handlers of a Bun server: each socket's events come with its upgrade. */
export function websocketHandlers(maxPayloadLength: number): Bun.WebSocketHandler<SocketData> {
  return {
    maxPayloadLength,
    // Bun pings; a peer that stops answering for this long is closed.
    idleTimeout: 120,
    sendPings: true,
    // Sluice bounds each connection's queue itself (client_queue_max_size → 3008).
    backpressureLimit: 64 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    perMessageDeflate: false,
    open(ws) {
      ws.data.events.open(new BunWebSocket(ws));
    },
    message(ws, message) {
      ws.data.events.message(typeof message === "string" ? message : new Uint8Array(message));
    },
    close(ws, code, reason) {
      ws.data.events.close(code, reason);
    },
  };
}
