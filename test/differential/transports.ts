/**
 * @module
 * Raw clients for every transport, recording what the server sends exactly as it arrives: each
 * message decoded (JSON lines, SSE events, protobuf Replies), the framing around it (SSE lines,
 * line endings, what comes before the first message), HTTP status and headers, WebSocket close
 * codes and reasons. No SDK: differences stay visible.
 */
import { decodeReplies, encodeCommands, encodeEmulation } from "./protobuf.ts";
import { rawRequest } from "./raw_http.ts";

export type TransportName =
  | "websocket"
  | "websocket_protobuf"
  | "http_stream"
  | "http_stream_protobuf"
  | "sse"
  | "uni_websocket"
  | "uni_sse"
  | "uni_http_stream";

export const BIDI: TransportName[] = [
  "websocket",
  "websocket_protobuf",
  "http_stream",
  "http_stream_protobuf",
  "sse",
];
export const UNI: TransportName[] = ["uni_websocket", "uni_sse", "uni_http_stream"];
export const ALL_TRANSPORTS: TransportName[] = [...BIDI, ...UNI];
export const JSON_BIDI: TransportName[] = ["websocket", "http_stream", "sse"];
export const EMULATED: TransportName[] = ["http_stream", "http_stream_protobuf", "sse"];

export const isUni = (t: TransportName) => UNI.includes(t);
export const isProtobuf = (t: TransportName) => t.endsWith("_protobuf");

/** Response headers worth comparing (others — Date, Content-Length, Server — say nothing). */
export const COMPARED_HEADERS = [
  "content-type",
  "cache-control",
  "pragma",
  "expires",
  "x-accel-buffering",
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-max-age",
  "sec-websocket-protocol",
  // Centrifugo's spelling of Expires on streams
  "expire",
];

export function pickHeaders(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of COMPARED_HEADERS) {
    const v = h.get(name);
    if (v !== null) out[name] = v;
  }
  return out;
}

/** One thing a connection saw, in order. */
export type ConnEvent = Record<string, unknown>;

export type Command = Record<string, unknown>;
export type Message = Record<string, unknown>;

export interface OpenOptions {
  /** Extra request headers (Origin, say). */
  headers?: Record<string, string>;
  /** Query string parameters added to the URL (besides cf_connect). */
  query?: Record<string, string>;
  /** For uni_websocket: send the connect request as the first message instead of in the URL. */
  connectAsMessage?: boolean;
  /** Send this raw body/URL value instead of the encoded connect (hostile and malformed cases). */
  rawConnect?: string | Uint8Array;
  /** HTTP method for stream transports (default: the one the SDK uses). */
  method?: string;
  /** Do not send any connect at all (WebSocket: open only). */
  noConnect?: boolean;
  /** Answer pings with pongs, as an SDK does. */
  autoPong?: boolean;
}

const text = new TextDecoder();

/** A raw connection. Everything received is appended to `events`. */
export class Conn {
  readonly events: ConnEvent[] = [];
  /** Emulation POST answers, kept apart: they race the stream by nature. */
  readonly emulation: ConnEvent[] = [];
  private waiters: Array<() => void> = [];
  private messages: Message[] = [];
  closeInfo?: { code?: number; reason?: string; ended?: boolean };
  session = "";
  node = "";
  private ws?: WebSocket;
  private abort = new AbortController();
  private lastEventAt = Date.now();

  constructor(readonly transport: TransportName, readonly base: string) {}

  /** Everything decoded so far (replies, pushes, pings). */
  get received(): readonly Message[] {
    return this.messages;
  }

  record(event: ConnEvent): void {
    this.events.push(event);
    this.lastEventAt = Date.now();
    this.waiters.splice(0).forEach((w) => w());
  }

  /** The HTTP chunks of an SSE response as the server cut them. */
  rawChunks?: Uint8Array[];
  private raw?: { cut: boolean };

  /**
   * The first HTTP chunk of an SSE stream, its JSON replaced: `"\r\n"` alone (Centrifugo) or with
   * the first event (which `eventsource@2` drops).
   */
  get firstChunk(): string | undefined {
    if (this.transport !== "sse" && this.transport !== "uni_sse") return undefined;
    const first = this.rawChunks?.[0];
    if (!first) return undefined;
    return text.decode(first).replace(/^(data: ?)(.+)$/gm, (_m, p) => `${p}<json>`).replace(
      /^id: .+$/gm,
      "id: <id>",
    );
  }

  /** Answer server pings with pongs, as an SDK does (bidirectional transports). */
  autoPong = false;

  private message(m: Message, extra: Record<string, unknown> = {}): void {
    this.messages.push(m);
    if (this.autoPong && Object.keys(m).length === 0 && !isUni(this.transport)) this.send([{}]);
    // the connect reply or push tells emulation where this session lives
    const connect = (m.connect ?? (m.push as Message | undefined)?.connect) as Message | undefined;
    if (connect && typeof connect.session === "string") this.session = connect.session;
    if (connect && typeof connect.node === "string") this.node = connect.node;
    this.record({ ...extra, msg: m });
  }

  private closed(info: { code?: number; reason?: string; ended?: boolean }): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.record({ close: info });
  }

  /** Waits until `pred` holds (checked after every event) or fails after `ms`. */
  async until<T>(pred: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.transport}: no ${what} within ${ms} ms; events: ${
            JSON.stringify(this.events).slice(-1500)
          }`,
        );
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /** The reply to command `id`. */
  reply(id: number, ms?: number): Promise<Message> {
    return this.until(() => this.messages.find((m) => m.id === id), `reply ${id}`, ms);
  }

  /** The first message (from index `from`) matching `pred`. */
  next(pred: (m: Message) => boolean, what = "matching message", ms?: number): Promise<Message> {
    return this.until(() => this.messages.find(pred), what, ms);
  }

  /** How many messages have arrived (for waiting on "n more"). */
  count(n: number, ms?: number): Promise<true> {
    return this.until(() => this.messages.length >= n || undefined, `${n} messages`, ms);
  }

  /** The connection's end: a close frame, or the stream's end. */
  end(ms?: number): Promise<{ code?: number; reason?: string; ended?: boolean }> {
    return this.until(() => this.closeInfo, "end of connection", ms);
  }

  /** Resolves once nothing has arrived for `quietMs` (at most `ms`). */
  async settle(quietMs = 150, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !this.closeInfo) {
      const idle = Date.now() - this.lastEventAt;
      if (idle >= quietMs) return;
      await new Promise((r) => setTimeout(r, quietMs - idle));
    }
  }

  // ------------------------------------------------------------------------------- opening

  async open(connect: Record<string, unknown> | undefined, opts: OpenOptions = {}): Promise<void> {
    this.autoPong = opts.autoPong ?? false;
    const q = new URLSearchParams(opts.query ?? {});
    switch (this.transport) {
      case "websocket":
      case "websocket_protobuf":
        await this.openWebSocket("/connection/websocket", q, opts);
        if (!opts.noConnect && connect) this.send([{ id: 1, connect }]);
        return;
      case "uni_websocket": {
        const raw = opts.rawConnect ?? (connect ? JSON.stringify(connect) : undefined);
        if (!opts.connectAsMessage && raw !== undefined && !opts.noConnect) q.set("cf_connect", String(raw));
        await this.openWebSocket("/connection/uni_websocket", q, opts);
        if (opts.connectAsMessage && raw !== undefined && !opts.noConnect) this.ws!.send(raw);
        return;
      }
      case "http_stream":
      case "http_stream_protobuf": {
        const pb = this.transport === "http_stream_protobuf";
        const body = opts.rawConnect ??
          (pb
            ? encodeCommands([{ id: 1, connect: connect ?? {} }])
            : JSON.stringify({ id: 1, connect: connect ?? {} }));
        const type = pb ? "application/octet-stream" : "application/json";
        return await this.openStream("/connection/http_stream", q, {
          method: opts.method ?? "POST",
          headers: { "Content-Type": type, Accept: type, ...opts.headers },
          body: opts.method === "GET" ? undefined : body as BodyInit,
        }, pb ? "protobuf" : "ndjson");
      }
      case "sse": {
        const raw = opts.rawConnect ?? JSON.stringify({ id: 1, connect: connect ?? {} });
        if (!opts.noConnect) q.set("cf_connect", String(raw));
        return await this.openStream("/connection/sse", q, {
          method: opts.method ?? "GET",
          headers: { Accept: "text/event-stream", ...opts.headers },
        }, "sse");
      }
      case "uni_sse": {
        const raw = opts.rawConnect ?? (connect ? JSON.stringify(connect) : undefined);
        if (raw !== undefined && !opts.noConnect && (opts.method ?? "GET") === "GET") {
          q.set("cf_connect", String(raw));
        }
        return await this.openStream("/connection/uni_sse", q, {
          method: opts.method ?? "GET",
          headers: { Accept: "text/event-stream", ...opts.headers },
          body: opts.method === "POST" ? raw as BodyInit : undefined,
        }, "sse");
      }
      case "uni_http_stream": {
        const raw = opts.rawConnect ?? JSON.stringify(connect ?? {});
        return await this.openStream("/connection/uni_http_stream", q, {
          method: opts.method ?? "POST",
          headers: { "Content-Type": "application/json", ...opts.headers },
          body: opts.method === "GET" ? undefined : raw as BodyInit,
        }, "ndjson");
      }
    }
  }

  private url(path: string, q: URLSearchParams): string {
    const qs = q.toString();
    return `${this.base}${path}${qs ? "?" + qs : ""}`;
  }

  private openWebSocket(path: string, q: URLSearchParams, opts: OpenOptions): Promise<void> {
    const url = this.url(path, q).replace(/^http/, "ws");
    const pb = this.transport === "websocket_protobuf";
    // Bun's WebSocket takes headers (Origin) in a second-argument object; Deno's does not.
    const init = opts.headers
      ? { headers: opts.headers, protocols: pb ? ["centrifuge-protobuf"] : undefined }
      : (pb ? ["centrifuge-protobuf"] : undefined);
    const ws = new WebSocket(url, init as never);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    return new Promise((resolve) => {
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.record({ open: ws.protocol ? { protocol: ws.protocol } : {} });
        resolve();
      };
      ws.onmessage = (e) => this.onWebSocketMessage(e.data);
      ws.onerror = () => {
        if (!opened) this.record({ upgrade: "failed" });
      };
      ws.onclose = (e) => {
        this.closed({ code: e.code, reason: e.reason });
        resolve();
      };
    });
  }

  private onWebSocketMessage(data: unknown): void {
    if (typeof data === "string") {
      if (this.transport === "websocket_protobuf") {
        this.record({ unexpected: "text frame", text: data });
        return;
      }
      const lines = data.split("\n");
      lines.forEach((line, i) => {
        if (line.trim() === "") {
          this.record({ blank_line_in_frame: i === lines.length - 1 ? "at its end" : "inside" });
          return;
        }
        // which messages share a frame is timing, not protocol: not recorded
        this.message(parse(line));
      });
      return;
    }
    const bytes = new Uint8Array(data as ArrayBuffer);
    if (this.transport !== "websocket_protobuf") {
      this.record({ unexpected: "binary frame", bytes: bytes.length });
      return;
    }
    const { replies, used } = decodeReplies(bytes);
    if (used !== bytes.length) {
      this.record({ unexpected: "trailing bytes in frame", bytes: bytes.length - used });
    }
    replies.forEach((r) => this.message(r as Message));
  }

  private async openStream(
    path: string,
    q: URLSearchParams,
    init: RequestInit & { headers: Record<string, string> },
    framing: "ndjson" | "sse" | "protobuf",
  ): Promise<void> {
    let res: {
      status: number;
      headers: Headers;
      body: ReadableStream<Uint8Array> | null;
      text(): Promise<string>;
    };
    try {
      {
        // Over a raw socket: how the server ends a stream (its last chunk, or a hang-up) and how it
        // cut the first chunk of an SSE stream are compared too; fetch would hide both
        const raw = await rawRequest(this.url(path, q), {
          method: init.method ?? "GET",
          headers: init.headers,
          body: init.body as string | Uint8Array | undefined,
        }, this.abort.signal);
        this.rawChunks = raw.chunks;
        this.raw = raw;
        res = {
          status: raw.status,
          headers: raw.headers,
          body: raw.body,
          text: () => new Response(raw.body).text(),
        };
      }
    } catch (err) {
      this.record({ fetch_error: String(err) });
      this.closed({ ended: true });
      return;
    }
    this.record({ status: res.status, headers: pickHeaders(res.headers) });
    if (res.status !== 200 || !res.body) {
      this.record({ body: (await res.text()).trim() });
      this.closed({ ended: true });
      return;
    }
    // read in the background: the caller goes on with commands
    this.readStream(res.body, framing);
  }

  private async readStream(
    body: ReadableStream<Uint8Array>,
    framing: "ndjson" | "sse" | "protobuf",
  ): Promise<void> {
    const reader = body.getReader();
    let pending = "";
    let bytes = new Uint8Array(0);
    let first = true;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (framing === "protobuf") {
          const joined = new Uint8Array(bytes.length + value.length);
          joined.set(bytes);
          joined.set(value, bytes.length);
          const { replies, used } = decodeReplies(joined);
          bytes = joined.subarray(used);
          replies.forEach((r) => this.message(r as Message));
          continue;
        }
        pending += text.decode(value, { stream: true });
        if (framing === "ndjson") {
          let at: number;
          while ((at = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, at);
            pending = pending.slice(at + 1);
            if (line.trim() === "") {
              this.record({ blank_line: JSON.stringify(line + "\n") });
              continue;
            }
            this.message(parse(line), line.endsWith("\r") ? { line_end: "\\r\\n" } : {});
          }
          first = false;
        } else {
          // SSE: events end with a blank line; keep each event's shape with the JSON replaced
          if (first) {
            const lead = /^(\r?\n)+/.exec(pending);
            if (lead || pending.length > 0) {
              if (lead) {
                this.record({ preamble: JSON.stringify(lead[0]) });
                pending = pending.slice(lead[0].length);
              }
              first = false;
            }
          }
          let m: RegExpExecArray | null;
          while ((m = /\r?\n\r?\n/.exec(pending))) {
            const raw = pending.slice(0, m.index + m[0].length);
            pending = pending.slice(m.index + m[0].length);
            this.sseEvent(raw);
          }
        }
      }
      if (pending.trim() !== "" || bytes.length) {
        this.record({ unterminated: framing === "protobuf" ? `${bytes.length} bytes` : pending });
      }
      // (a hang-up of our own is no cut)
      if (this.raw?.cut && !this.abort.signal.aborted) this.record({ read_error: "connection cut" });
    } catch (err) {
      // the runtime's wording varies; a reset is what it says
      if (!this.abort.signal.aborted) {
        // a reset, or an end without the body's last chunk: cut either way
        this.record({
          read_error: /ECONNRESET|reset|mid-body/i.test(String(err)) ? "connection cut" : String(err),
        });
      }
    }
    this.closed({ ended: true });
  }

  private sseEvent(raw: string): void {
    const lines = raw.split(/\r?\n/).filter((l) => l !== "");
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.replace(/^data: ?/, ""));
    // The event as written, its JSON replaced: `data: <json>\n\n`, `event: ping\ndata: \n\n`, …
    // (Sluice's uni_sse ids hold stream positions: their shape is compared, not their value)
    const shape = raw.replace(/^(data: ?)(.+)$/m, (_m, p) => `${p}<json>`).replace(/^id: .+$/m, "id: <id>");
    if (data.length === 0 || data.join("") === "") {
      this.record({ sse: shape });
      return;
    }
    this.message(parse(data.join("\n")), { sse: shape });
  }

  // ------------------------------------------------------------------------------- sending

  /** Sends commands: one WebSocket frame, or one emulation request. */
  send(cmds: Command[]): void {
    if (this.transport === "websocket") {
      this.ws!.send(cmds.map((c) => JSON.stringify(c)).join("\n"));
    } else if (this.transport === "websocket_protobuf") {
      this.ws!.send(encodeCommands(cmds));
    } else if (this.transport === "uni_websocket") {
      this.ws!.send(cmds.map((c) => JSON.stringify(c)).join("\n"));
    } else {
      this.emulate(cmds);
    }
  }

  /** A raw WebSocket frame (text or binary). */
  sendRaw(data: string | Uint8Array): void {
    this.ws!.send(data);
  }

  private pendingEmulation: Promise<unknown>[] = [];

  private emulate(cmds: Command[]): void {
    const pb = this.transport === "http_stream_protobuf";
    const body = pb ? encodeEmulation(this.node, this.session, cmds) : JSON.stringify({
      session: this.session,
      node: this.node,
      data: cmds.map((c) => JSON.stringify(c)).join("\n"),
    });
    const p = fetch(`${this.base}/emulation`, {
      method: "POST",
      headers: { "Content-Type": pb ? "application/octet-stream" : "application/json" },
      body: body as BodyInit,
    }).then(async (res) => {
      const b = (await res.text()).trim();
      // pongs come as often as pings, which is timing: their answers are not recorded
      if (cmds.every((c) => Object.keys(c).length === 0)) return;
      this.emulation.push(b ? { status: res.status, body: b } : { status: res.status });
    }, (err) => this.emulation.push({ error: String(err) }));
    this.pendingEmulation.push(p);
  }

  /** Sends `cmd` and waits for its reply. */
  async call(cmd: Command, ms?: number): Promise<Message> {
    this.send([cmd]);
    return await this.reply(cmd.id as number, ms);
  }

  /** Closes from the client side (a normal close, or the stream aborted). */
  async close(): Promise<void> {
    await Promise.all(this.pendingEmulation);
    if (this.ws) {
      if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
        this.ws.close(1000);
      }
    } else {
      this.abort.abort();
    }
  }
}

function parse(line: string): Message {
  try {
    const v = JSON.parse(line);
    return v && typeof v === "object" ? v : { $not_an_object: v };
  } catch {
    return { $not_json: line };
  }
}
