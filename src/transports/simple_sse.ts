/**
 * @module
 * The streams of the "Simple SSE Server" drop-in (chabberwock/sse): `/events/` on the client
 * listener, opened with a token and subscribed to the node channels of its (channel, userId)
 * (core/simple_sse_channel.ts). They run on the same node, hub and broker as everything else, so
 * they scale on Redis and share a process with Centrifugo's endpoints. Events come from the
 * control port (api/simple_sse.ts) or any node of the broker. The payload is written exactly as
 * sent plus one newline — the sender formats the SSE fields (`event: …\ndata: …\n`).
 */
import type { Node, NodeClient } from "../core/node.ts";
import type { Publication } from "../wire/protocol.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { StreamWriter } from "./outbox/stream_writer.ts";
import { textResponse } from "../http/responses.ts";
import { queryOf } from "../http/request_url.ts";
import type { HmacKeys } from "../auth/hmac_keys.ts";
import { type SimpleClaims, SimpleTokenError, verifySimpleToken } from "../auth/simple_token.ts";
import { simpleChannel } from "../core/simple_sse_channel.ts";
import type { TimerHandle } from "../core/timers.ts";

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(": ping\n\n");
const OPENING = encoder.encode(": ok\n\n");

export interface SimpleSseStreamOptions {
  /** The keys of `simple_sse_secret`, shared with the control port that signs the tokens. */
  keys: HmacKeys;
  /** Cookie that may carry the token (EventSource cannot set headers). */
  cookie: string;
  /** Query parameter that may carry the token. */
  queryParam: string;
  /** ms between heartbeat comments (invisible to EventSource); 0 = none. */
  heartbeatMs: number;
}

/** The raw bytes of a payload publication, made once and shared by every receiver. */
const payloadBytes = new WeakMap<Publication, Uint8Array>();

function bytesOf(pub: Publication): Uint8Array {
  let b = payloadBytes.get(pub);
  if (!b) {
    let text: string;
    try {
      const v = JSON.parse(pub.data);
      text = typeof v === "string" ? v : pub.data;
    } catch {
      text = pub.data;
    }
    b = encoder.encode(text + "\n");
    payloadBytes.set(pub, b);
  }
  return b;
}

export class SimpleSseStreams {
  private readonly connections = new Set<SimpleConnection>();

  constructor(private readonly node: Node, private readonly opts: SimpleSseStreamOptions) {}

  /** `GET /events/` on the client listener. */
  async events(req: Request, conn: ConnInfo): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(405, "Method Not Allowed", { Allow: "GET" });
    }
    const token = this.tokenOf(req);
    if (!token) return textResponse(401, "Unauthorized: no token (Authorization: Bearer, cookie or ?token=)");
    let claims;
    try {
      claims = await verifySimpleToken(token, this.opts.keys, this.node.now() / 1000);
    } catch (err) {
      const reason = err instanceof SimpleTokenError ? err.message : "invalid token";
      this.node.log.info("simple sse token refused", { reason });
      return textResponse(401, `Unauthorized: ${reason}`);
    }
    const sink = new StreamWriter({
      name: "simple_sse",
      unidirectional: true,
      emulation: false,
      framing: "sse",
      ping: HEARTBEAT,
      maxQueueBytes: this.node.config.client_queue_max_size,
    });
    const connection = new SimpleConnection(this.node, sink, claims, this.opts.heartbeatMs, this.connections);
    sink.attach(connection, conn);
    sink.write(OPENING, OPENING.byteLength); // gets the headers out at once, invisible to EventSource
    const channels = [
      ...new Set([simpleChannel(claims.channel, claims.userId), simpleChannel(claims.channel, "*")]),
    ];
    try {
      await connection.subscribe(channels);
    } catch (err) {
      connection.close();
      this.node.log.error("simple sse subscribe failed", { channel: claims.channel, err });
      return textResponse(503, "Service Unavailable: cannot subscribe right now");
    }
    this.node.log.debug("simple sse client connected", { user: claims.userId, channel: claims.channel });
    return sink.response({
      status: 200,
      headers: {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
      },
    });
  }

  /** Ends every stream (shutdown); browsers reconnect by themselves. */
  closeAll(): void {
    for (const c of this.connections) c.close();
    this.connections.clear();
  }

  /** Bearer header first, then the cookie, then the query parameter. */
  private tokenOf(req: Request): string | undefined {
    const auth = req.headers.get("authorization");
    if (auth && auth.length > 7 && auth.slice(0, 6).toLowerCase() === "bearer") return auth.slice(7).trim();
    const cookie = req.headers.get("cookie");
    if (cookie) {
      for (const part of cookie.split(";")) {
        const at = part.indexOf("=");
        if (at > 0 && part.slice(0, at).trim() === this.opts.cookie) {
          return decodeURIComponent(part.slice(at + 1).trim());
        }
      }
    }
    return queryOf(req.url).get(this.opts.queryParam) ?? undefined;
  }
}

/**
 * One `/events/` stream: a hub subscriber that writes payload bytes. It ends when its token
 * expires (the browser's EventSource then reconnects, and a stale token gets 401).
 */
class SimpleConnection implements NodeClient {
  readonly id = crypto.randomUUID();
  readonly session = "";
  readonly user: string;
  private channels: string[] = [];
  private closed = false;
  private heartbeat?: TimerHandle;
  private readonly expiry: TimerHandle;

  constructor(
    private readonly node: Node,
    private readonly sink: StreamWriter,
    claims: SimpleClaims,
    private readonly heartbeatMs: number,
    private readonly open: Set<SimpleConnection>,
  ) {
    this.user = claims.userId;
    open.add(this);
    this.scheduleHeartbeat();
    this.expiry = node.timers.schedule(claims.exp * 1000 - node.now(), () => {
      this.node.log.debug("simple sse token expired; closing the stream", { user: this.user });
      this.close();
    });
  }

  /** The reader went away (sink.attach). */
  transportGone(): void {
    this.close();
  }

  async subscribe(channels: string[]): Promise<void> {
    this.channels = channels;
    for (const ch of channels) await this.node.addSubscription(ch, this);
  }

  deliverPublication(_channel: string, pub: Publication): void {
    if (this.closed) return;
    const bytes = bytesOf(pub);
    if (!this.sink.write(bytes, bytes.byteLength)) {
      this.node.log.info("simple sse client too slow; closing", { user: this.user });
      this.sink.abort();
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.open.delete(this);
    this.heartbeat?.cancel();
    this.expiry.cancel();
    for (const ch of this.channels) {
      this.node.removeSubscription(ch, this)?.catch((err) =>
        this.node.log.error("simple sse unsubscribe failed", { err })
      );
    }
    this.sink.close();
  }

  disconnectNow(): void {
    this.close();
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatMs <= 0) return;
    this.heartbeat = this.node.timers.schedule(this.heartbeatMs, () => {
      if (this.closed) return;
      this.sink.write(HEARTBEAT, HEARTBEAT.byteLength);
      this.scheduleHeartbeat();
    });
  }

  // Centrifugo-protocol operations do not apply to these connections.
  deliverJoinLeave(): void {}
  checkPosition(): void {}
  receive(): boolean {
    return false;
  }
  refreshPresence(): void {}
  serverSubscribe(): Promise<void> {
    return Promise.resolve();
  }
  serverUnsubscribe(): Promise<void> {
    return Promise.resolve();
  }
  serverRefresh(): void {}
}
