/**
 * @module
 * WebSocket on node:http, through the `ws` package: the upgrade request goes through Sluice's
 * handler like any other (Origin check, route); `ws` completes the handshake on the socket when
 * the transport upgrades, else the handler's answer is written as plain HTTP and the socket closes.
 * The socket Sluice drives is `ws`'s, as a `WsSocket`.
 */
import * as http from "node:http";
import type { Socket } from "node:net";
import type { Buffer } from "node:buffer";
import { type ServerOptions, WebSocketServer } from "ws";
import {
  type ConnInfo,
  DEFAULT_IDLE_TIMEOUT_MS,
  type ListenOptions,
  type WebSocketUpgrade,
} from "../types.ts";
import { WsSocket } from "./socket.ts";
import { joinBytes } from "../../bytes.ts";
import { toRequest } from "./request.ts";

/** The subprotocol the transport chose for an upgrade request (read by `handleProtocols`). */
const chosenProtocol = new WeakMap<http.IncomingMessage, string>();
/** What `upgradeWebSocket` returns: the handshake is ws's, on the socket, not a Response to write. */
const UPGRADED = new Response(null, { status: 200 });

/** The `ws` server that completes the upgrades of one listener (it listens on nothing itself). */
export function createWebSocketServer(opts: ListenOptions): WebSocketServer {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new WebSocketServer(
    {
      noServer: true,
      // Checked against each frame's declared length before its payload is read, and against the
      // fragments of a message so far (ws also caps their number): nothing over it is buffered.
      maxPayload: opts.maxWebSocketMessageBytes ?? 65536,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
      // A socket the server closed (3502, 3008, 1009) waits for the client's close frame this long,
      // then is destroyed: a client that ignores the close, or reads nothing, cannot keep it. With
      // the idle timeout off, ws's own 30 s. (ws 8.23 has the option; its type declarations do not.)
      ...(idleMs > 0 ? { closeTimeout: idleMs } : {}),
    } as ServerOptions & { closeTimeout?: number },
  );
}

/** An upgrade request (node:http's `upgrade` event) through the handler. */
export async function upgrade(
  req: http.IncomingMessage,
  socket: Socket,
  head: Buffer,
  wss: WebSocketServer,
  opts: ListenOptions,
): Promise<void> {
  const conn = new NodeUpgradeConn(req, socket, head, wss);
  const response = await opts.handler(toRequest(req, opts), conn);
  if (response === UPGRADED) return;
  // Refused (403 origin, 400, 404, 501 …): the answer as a plain HTTP response, then the socket closes.
  const text = response.body ? await response.text() : "";
  const reason = response.statusText || http.STATUS_CODES[response.status] || "";
  const lines = [`HTTP/1.1 ${response.status} ${reason}`];
  response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  lines.push("connection: close", `content-length: ${new TextEncoder().encode(text).length}`);
  socket.end(`${lines.join("\r\n")}\r\n\r\n${text}`, () => socket.destroy());
}

/** An upgrade request's connection: `upgradeWebSocket` hands the socket to ws. */
class NodeUpgradeConn implements ConnInfo {
  constructor(
    private readonly req: http.IncomingMessage,
    private readonly socket: Socket,
    private readonly head: Buffer,
    private readonly wss: WebSocketServer,
  ) {}

  get remoteAddr(): string | undefined {
    return this.socket.remoteAddress;
  }

  onClose<T>(fn: (this: T) => void, self?: T): void {
    if (this.socket.destroyed) fn.call(self as T);
    else this.socket.once("close", () => fn.call(self as T));
  }

  holdOpen(): void {}
  responseEnded(): void {}

  abort(): void {
    this.socket.destroy();
  }

  upgradeWebSocket(_req: Request, opts: WebSocketUpgrade): Response {
    if (opts.protocol) chosenProtocol.set(this.req, opts.protocol);
    const { events } = opts;
    this.wss.handleUpgrade(this.req, this.socket, this.head, (ws) => {
      ws.on("message", (data: Uint8Array | ArrayBuffer | Uint8Array[], isBinary: boolean) => {
        const bytes = messageBytes(data);
        events.message(isBinary ? bytes : new TextDecoder().decode(bytes));
      });
      ws.on(
        "close",
        (code: number, reason: Uint8Array) => events.close(code, new TextDecoder().decode(reason)),
      );
      ws.on("error", () => {});
      events.open(new WsSocket(ws));
    });
    return UPGRADED;
  }
}

/** A message's bytes as one Uint8Array of its own (ws may hand over fragments or pooled views). */
function messageBytes(data: Uint8Array | ArrayBuffer | Uint8Array[]): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return joinBytes(Array.isArray(data) ? data : [data]);
}
