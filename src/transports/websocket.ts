/**
 * @module
 * WebSocket transports: `/connection/websocket` (Centrifugo's bidirectional protocol, JSON or
 * protobuf) and `/connection/uni_websocket` (a connect request in `cf_connect` or as the first
 * message, then one JSON push per message, `{}` pings).
 *
 * Bidirectional: every message is a frame of commands fed to `Client.receive` (the first must be
 * connect): newline-delimited JSON in text messages, or varint-delimited protobuf in binary ones
 * when the client chose `centrifuge-protobuf`. Replies and pushes written during one I/O turn go
 * out as one message, delimited as the SDK reads them (outbox/websocket_writer.ts; JSON stays text
 * from the encoder to the socket: a publication's text is made once for every JSON socket). A
 * disconnect is a close frame carrying the code and reason, as in Centrifugo. Unidirectional: each
 * push is its own message, so a plain `JSON.parse(event.data)` works; a disconnect push comes
 * before the close frame.
 *
 * Bounds: messages over `*_message_size_limit` close with 1009; bytes waiting (ours plus the
 * runtime's `bufferedAmount`) over `client_queue_max_size` disconnect with 3008; a socket that
 * sends no connect within `client_stale_close_delay` closes with 3502.
 */
import { Client } from "../core/client.ts";
import type { Node } from "../core/node.ts";
import type { TimerHandle } from "../core/timers.ts";
import type { ConnectRequest } from "../wire/protocol.ts";
import type { ConnInfo, ServerWebSocket, WebSocketEvents } from "../runtime/types.ts";
import { DisconnectCode } from "../errors.ts";
import type { OutboxOptions } from "./outbox/outbox.ts";
import { WebSocketWriter } from "./outbox/websocket_writer.ts";
import { goError, statusResponse, textResponse } from "../http/responses.ts";
import { queryOf } from "../http/request_url.ts";
import { decodeConnectRequest } from "./uni_stream.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Centrifugo's subprotocols: JSON (the default) and protobuf (bidirectional only). */
const JSON_PROTOCOL = "centrifuge-json";
const PROTOBUF_PROTOCOL = "centrifuge-protobuf";
/** WebSocket close codes of RFC 6455 that Sluice uses besides Centrifugo's disconnect codes. */
const CLOSE_TOO_BIG = 1009;
/** A close frame's reason is at most 123 bytes. */
const MAX_REASON_BYTES = 123;

/** One WebSocket connection: the client's transport, and the runtime's socket events. */
class WebSocketTransport extends WebSocketWriter implements WebSocketEvents {
  client!: Client;
  /** Set when the client's first frame arrives (connect), for the stale check. */
  private started = false;
  private staleTimer: TimerHandle | undefined;

  constructor(private readonly node: Node, opts: OutboxOptions) {
    super(opts);
  }

  /** The close frame carries the disconnect; no push before it (bidirectional, as Centrifugo). */
  get disconnectInClose(): boolean {
    return !this.unidirectional;
  }

  close(code: number = DisconnectCode.ConnectionClosed, reason = ""): void {
    if (this.closed) return;
    this.endWrites();
    this.staleTimer?.cancel();
    // A code no close frame may carry (the server API takes any, as Centrifugo does) or a reason
    // too long for one: the connection ends without a frame, and the client sees 1006 — as it
    // does with Centrifugo, whose close frame then fails.
    if (!closeFrameCarries(code, reason)) this.socket?.terminate();
    else this.socket?.close(code, reason);
  }

  abort(): void {
    if (this.closed) return;
    this.stopWrites();
    this.staleTimer?.cancel();
    this.socket?.close(DisconnectCode.Slow, "slow");
  }

  // ------------------------------------------------------------------ socket events

  open(socket: ServerWebSocket): void {
    if (this.closed) {
      socket.close(DisconnectCode.ConnectionClosed, "connection closed");
      return;
    }
    this.attachSocket(socket);
    if (!this.started) {
      this.staleTimer = this.node.timers.schedule(this.node.config.client_stale_close_delay, () => {
        if (this.started || this.closed) return;
        this.client.log.info("no connect command on the websocket");
        this.client.disconnectNow(DisconnectCode.Stale, "stale");
      });
    }
  }

  message(data: string | Uint8Array): void {
    if (this.closed) return;
    const size = typeof data === "string" ? data.length : data.byteLength;
    const config = this.node.config;
    if (
      size >
        (this.unidirectional ? config.uni_websocket_message_size_limit : config.websocket_message_size_limit)
    ) {
      this.client.log.info("websocket message over its size limit", { bytes: size });
      this.stopWrites();
      this.staleTimer?.cancel();
      this.socket?.close(CLOSE_TOO_BIG, ""); // Centrifugo's close carries no reason
      this.client.transportGone();
      return;
    }
    if (this.unidirectional) {
      if (this.started) return; // a unidirectional client has nothing more to say
      // As Centrifugo, a binary message is read as text too (invalid UTF-8 is not JSON).
      return this.uniMessage(typeof data === "string" ? data : decoder.decode(data));
    }
    this.started = true;
    this.staleTimer?.cancel();
    this.client.receive(data);
  }

  /** The first message of a uni_websocket (without `cf_connect`) is its connect request. */
  private uniMessage(data: string): void {
    this.started = true;
    this.staleTimer?.cancel();
    const req = decodeConnectRequest(data);
    if (typeof req === "string") {
      // Nothing was connected: the close frame alone, as Centrifugo (no disconnect push).
      this.client.log.info("uni_websocket connect request is not a JSON object");
      this.close(DisconnectCode.BadRequest, "bad request");
      this.client.transportGone();
      return;
    }
    void this.client.startUnidirectional(req);
  }

  /** Starts a uni_websocket whose connect request came in the URL. */
  startWith(req: ConnectRequest): void {
    this.started = true;
    this.staleTimer?.cancel();
    void this.client.startUnidirectional(req);
  }

  /** The runtime's close event (`close` is the transport's own method): the socket is gone. */
  onSocketClose(): void {
    this.stopWrites();
    this.staleTimer?.cancel();
    this.client.transportGone();
  }
}

/** Whether a close frame may carry this code (RFC 6455 §7.4) and reason. */
function closeFrameCarries(code: number, reason: string): boolean {
  const validCode = code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1011) ||
    (code >= 3000 && code <= 4999);
  return validCode &&
    (reason.length * 3 <= MAX_REASON_BYTES || encoder.encode(reason).byteLength <= MAX_REASON_BYTES);
}

/** The subprotocols a client offered (`Sec-WebSocket-Protocol`). */
function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
}

/** Checks shared by both endpoints; a Response when the request cannot be upgraded. */
function refuse(req: Request, conn: ConnInfo): Response | undefined {
  if (req.method !== "GET") return statusResponse(405, { Allow: "GET" });
  // Centrifugo's WebSocket library answers a request without the upgrade with this text.
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return goError(400, "Bad Request");
  // A request the listener did not take as an upgrade (`Upgrade: websocket` without
  // `Connection: upgrade`) has no socket to hand over: 400, as Bun's upgrade answers it.
  if (!conn.upgradeWebSocket) return goError(400, "Bad Request");
  return undefined;
}

function upgrade(
  node: Node,
  req: Request,
  conn: ConnInfo,
  kind: { name: "websocket" | "uni_websocket"; unidirectional: boolean; protobuf?: boolean },
  onClient?: (transport: WebSocketTransport) => void,
): Response {
  const protobuf = kind.protobuf === true;
  const transport = new WebSocketTransport(node, {
    name: kind.name,
    unidirectional: kind.unidirectional,
    emulation: false,
    framing: "ndjson",
    protobuf,
    text: !protobuf,
    maxQueueBytes: node.config.client_queue_max_size,
  });
  transport.client = new Client(node, transport, { headers: req.headers, conn });
  const events: WebSocketEvents = {
    open: (socket) => {
      transport.open(socket);
      onClient?.(transport);
    },
    message: (data) => transport.message(data),
    close: () => transport.onSocketClose(),
  };
  const offered = offeredProtocols(req);
  const protocol = protobuf && offered.includes(PROTOBUF_PROTOCOL)
    ? PROTOBUF_PROTOCOL
    : offered.includes(JSON_PROTOCOL)
    ? JSON_PROTOCOL
    : undefined;
  return conn.upgradeWebSocket!(req, { protocol, events });
}

/** `/connection/websocket`: Centrifugo's bidirectional protocol (JSON, or protobuf on request). */
export function websocketHandler(req: Request, node: Node, conn: ConnInfo): Response {
  const refused = refuse(req, conn);
  if (refused) return refused;
  return upgrade(node, req, conn, {
    name: "websocket",
    unidirectional: false,
    protobuf: wantsProtobuf(req, queryOf(req.url)),
  });
}

/** The SDK's protobuf build asks with its subprotocol; other clients with `?format=protobuf`. */
function wantsProtobuf(req: Request, query: URLSearchParams): boolean {
  if (offeredProtocols(req).includes(PROTOBUF_PROTOCOL)) return true;
  return query.get("format") === "protobuf" || query.get("cf_protocol") === "protobuf";
}

/** `/connection/uni_websocket`: connect request in `cf_connect` or as the first message. */
export function uniWebsocketHandler(req: Request, node: Node, conn: ConnInfo): Response {
  const refused = refuse(req, conn);
  if (refused) return refused;
  const query = queryOf(req.url);
  if (wantsProtobuf(req, query)) {
    return textResponse(400, "Bad Request: uni_websocket speaks JSON only (as in Centrifugo)");
  }
  const inUrl = query.get("cf_connect");
  let fromUrl: ConnectRequest | undefined;
  if (inUrl !== null) {
    const decoded = decodeConnectRequest(inUrl);
    if (typeof decoded === "string") {
      node.log.info("uni_websocket cf_connect is not a JSON object");
      return textResponse(400, "invalid connect request"); // Centrifugo's words
    }
    fromUrl = decoded;
  }
  return upgrade(node, req, conn, {
    name: "uni_websocket",
    unidirectional: true,
  }, fromUrl ? (transport) => transport.startWith(fromUrl) : undefined);
}
