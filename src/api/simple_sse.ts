/**
 * @module
 * Drop-in mode for the "Simple SSE Server" (chabberwock/sse): `/events/` for browsers on the
 * client listener, `/token/` and `/emit/` on a private control listener. It runs on the same node,
 * hub and broker as everything else, so it scales on Redis and shares a process with Centrifugo's
 * endpoints.
 *
 * Routing as in the original: an event for (channel, userId) reaches every connection whose token
 * has that channel and that userId; userId `*` reaches every user of the channel. Internally a
 * connection subscribes to two broker channels, `simple_sse:<channel>#<user>` and
 * `simple_sse:<channel>#*`. The payload is written exactly as sent plus one newline — the sender
 * formats the SSE fields (`event: …\ndata: …\n`).
 */
import type { Node, NodeClient } from "../core/node.ts";
import type { Publication } from "../wire/protocol.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { StreamSink } from "../transports/transport.ts";
import { textResponse } from "../http/responses.ts";
import { readBodyBytes } from "../http/request_body.ts";
import { queryOf } from "../http/request_url.ts";
import { type HmacKeys, hmacKeys } from "../auth/hmac_keys.ts";
import {
  signSimpleToken,
  type SimpleClaims,
  SimpleTokenError,
  verifySimpleToken,
} from "../auth/simple_token.ts";
import type { TimerHandle } from "../core/timers.ts";

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(": ping\n\n");
const OPENING = encoder.encode(": ok\n\n");
/** Control request bodies larger than this are refused (413). */
const MAX_CONTROL_BODY = 1024 * 1024;

export interface SimpleSseOptions {
  secret: string;
  /** Cookie that may carry the token (EventSource cannot set headers). */
  cookie: string;
  /** Query parameter that may carry the token. */
  queryParam: string;
  /** ms between heartbeat comments (invisible to EventSource); 0 = none. */
  heartbeatMs: number;
}

export function simpleChannel(channel: string, user: string): string {
  return `simple_sse:${encodeURIComponent(channel)}#${user === "*" ? "*" : encodeURIComponent(user)}`;
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

export class SimpleSse {
  private readonly keys: HmacKeys;
  private readonly connections = new Set<SimpleConnection>();

  constructor(private readonly node: Node, private readonly opts: SimpleSseOptions) {
    this.keys = hmacKeys(opts.secret);
  }

  /** `GET /events/` on the client listener. */
  async events(req: Request, conn: ConnInfo): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(405, "Method Not Allowed", { Allow: "GET" });
    }
    const token = this.tokenOf(req);
    if (!token) return textResponse(401, "Unauthorized: no token (Authorization: Bearer, cookie or ?token=)");
    let claims;
    try {
      claims = await verifySimpleToken(token, this.keys);
    } catch (err) {
      const reason = err instanceof SimpleTokenError ? err.message : "invalid token";
      this.node.log.info("simple sse token refused", { reason });
      return textResponse(401, `Unauthorized: ${reason}`);
    }
    const sink = new StreamSink({
      name: "simple_sse",
      unidirectional: true,
      emulation: false,
      framing: "sse",
      pingBytes: HEARTBEAT,
      maxQueueBytes: this.node.config.client_queue_max_size,
    });
    const connection = new SimpleConnection(this.node, sink, claims, this.opts.heartbeatMs, this.connections);
    sink.attach(connection, conn);
    sink.write(OPENING); // gets the headers out at once, invisible to EventSource
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

  /** `/token/` and `/emit/` on the control listener; anything else is 404. */
  async control(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const route = path === "/token/" || path === "/token"
      ? "token"
      : path === "/emit/" || path === "/emit"
      ? "emit"
      : undefined;
    if (!route) return textResponse(404, "Not Found");
    if (req.method !== "POST") return textResponse(405, "Method Not Allowed", { Allow: "POST" });
    const body = await readBodyBytes(req, {
      maxBytes: MAX_CONTROL_BODY,
      timeoutMs: this.node.config.http_body_timeout,
    });
    if (body instanceof Response) return body;
    let fields: URLSearchParams;
    try {
      fields = await formFields(req, body);
    } catch (err) {
      return textResponse(400, `Bad Request: ${(err as Error).message}`);
    }
    const userId = fields.get("userId") ?? "";
    const channel = fields.get("channel") ?? "";
    const missing = [["userId", userId], ["channel", channel]].filter(([, v]) => v === "").map(([k]) => k);
    if (route === "token") {
      const exp = fields.get("exp");
      if (exp === null || exp === "") missing.push("exp");
      if (missing.length) return textResponse(400, `Bad Request: missing ${missing.join(", ")}`);
      if (!/^\d+$/.test(exp!) || Number(exp) === 0) {
        return textResponse(400, "Bad Request: exp must be a positive whole number of seconds");
      }
      if (userId === "*") return textResponse(400, "Bad Request: userId * is for emitting, not for tokens");
      return new Response(await signSimpleToken({ userId, channel }, Number(exp), this.keys), {
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const payload = fields.get("payload");
    if (payload === null) missing.push("payload");
    if (missing.length) return textResponse(400, `Bad Request: missing ${missing.join(", ")}`);
    try {
      await this.node.publishWithoutHistory(simpleChannel(channel, userId), JSON.stringify(payload));
    } catch (err) {
      this.node.log.error("simple sse emit failed", { channel, err });
      return textResponse(503, "Service Unavailable: the broker did not take the event");
    }
    return textResponse(200, "OK");
  }

  /** Ends every stream (shutdown); browsers reconnect by themselves. */
  closeAll(): void {
    for (const c of this.connections) c.close();
    this.connections.clear();
  }

  get size(): number {
    return this.connections.size;
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
 * Form fields from the body (urlencoded or multipart, read within the size and time limits by the
 * caller), falling back to the query string.
 */
async function formFields(req: Request, body: Uint8Array<ArrayBuffer>): Promise<URLSearchParams> {
  const out = queryOf(req.url);
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "Content-Type": type } }).formData();
    } catch {
      throw new Error("malformed multipart form");
    }
    for (const [k, v] of form) if (typeof v === "string") out.set(k, v);
  } else {
    for (const [k, v] of new URLSearchParams(new TextDecoder().decode(body))) out.set(k, v);
  }
  return out;
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
    private readonly sink: StreamSink,
    claims: SimpleClaims,
    private readonly heartbeatMs: number,
    private readonly open: Set<SimpleConnection>,
  ) {
    this.user = claims.userId;
    open.add(this);
    this.scheduleHeartbeat();
    this.expiry = node.timers.schedule(claims.exp * 1000 - Date.now(), () => {
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
    if (!this.sink.write(bytesOf(pub))) {
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
      this.sink.write(HEARTBEAT);
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
