/**
 * @module
 * What a scenario works with: one run of it against one server. It opens raw connections, calls
 * the server API, makes tokens, and records everything into a transcript that the runner
 * normalises and compares with Centrifugo's.
 */
import { SignJWT } from "jose";
import type { Running } from "../targets/mod.ts";
import {
  type Command,
  Conn,
  type Message,
  type OpenOptions,
  pickHeaders,
  type TransportName,
} from "./transports.ts";
import { type Profile, rsaKeys } from "./profiles.ts";
import { proxy } from "./proxy_backend.ts";

export type Transcript = Record<string, unknown>;

export interface TokenOptions {
  /** Seconds from now for `exp`; default 3600; `null` leaves `exp` out. */
  ttl?: number | null;
  alg?: "HS256" | "HS384" | "HS512" | "RS256" | "none";
  /** Another HMAC secret (a bad signature). */
  secret?: string;
  kid?: string;
}

export class Session {
  private conns: Array<{ label: string; conn: Conn }> = [];
  private log: unknown[] = [];
  private notes: Record<string, unknown> = {};

  constructor(readonly target: Running, readonly runId: string, readonly profile: Profile) {}

  get url(): string {
    return this.target.url;
  }

  /**
   * A channel name unique to this run: `ns:name` → `ns:name_<run>`. A user part after `#` stays
   * last, so `ns:name#42` keeps its meaning.
   */
  ch(name: string): string {
    const at = name.indexOf("#");
    return at < 0 ? `${name}_${this.runId}` : `${name.slice(0, at)}_${this.runId}${name.slice(at)}`;
  }

  /** A user id unique to this run (user-wide operations must not reach other scenarios). */
  user(name: string): string {
    return `${name}_${this.runId}`;
  }

  /** A signed token with `claims`; `exp` one hour ahead unless told. */
  async token(claims: Record<string, unknown>, opts: TokenOptions = {}): Promise<string> {
    const alg = opts.alg ?? "HS256";
    const header: Record<string, unknown> = { alg, typ: "JWT" };
    if (opts.kid) header.kid = opts.kid;
    const body: Record<string, unknown> = { ...claims };
    if (opts.ttl !== null && body.exp === undefined) {
      body.exp = Math.floor(Date.now() / 1000) + (opts.ttl ?? 3600);
    }
    if (alg === "none") {
      const b64 = (v: unknown) =>
        btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      return `${b64(header)}.${b64(body)}.`;
    }
    const jwt = new SignJWT(body).setProtectedHeader(header as never);
    if (alg === "RS256") return jwt.sign((await rsaKeys()).privateKey);
    return jwt.sign(new TextEncoder().encode(opts.secret ?? this.profile.secret));
  }

  /** A connection token for `user` (made unique to the run), with extra claims. */
  userToken(user: string, claims: Record<string, unknown> = {}, opts: TokenOptions = {}): Promise<string> {
    return this.token({ sub: this.user(user), ...claims }, opts);
  }

  /**
   * Opens a connection and sends the connect (bidirectional: command id 1; unidirectional: the
   * connect request). Waits for the connect reply, the first push, or the connection's end.
   */
  async connect(
    transport: TransportName,
    request: Record<string, unknown> | undefined = {},
    opts: OpenOptions & { label?: string; wait?: boolean } = {},
  ): Promise<Conn> {
    const conn = new Conn(transport, this.url);
    this.conns.push({ label: opts.label ?? `c${this.conns.length + 1}`, conn });
    await conn.open(request, opts);
    if (opts.wait !== false && !opts.noConnect) {
      await conn.until(() => conn.received.length > 0 || conn.closeInfo, "connect answer", 5000);
    }
    return conn;
  }

  /** Connects with a token for `user` and subscribes nothing: the common start. */
  async connectAs(
    transport: TransportName,
    user: string,
    claims: Record<string, unknown> = {},
  ): Promise<Conn> {
    return await this.connect(transport, { token: await this.userToken(user, claims) });
  }

  /** Subscribes (command `id`) and waits for the reply. */
  subscribe(conn: Conn, id: number, channel: string, extra: Record<string, unknown> = {}): Promise<Message> {
    return conn.call({ id, subscribe: { channel, ...extra } });
  }

  /** Calls the server API; records status and body. */
  async api(
    method: string,
    body: unknown,
    opts: {
      key?: string | null;
      headers?: Record<string, string>;
      raw?: string;
      path?: string;
      /** false: a call made only to wait for something, left out of the transcript */
      record?: boolean;
    } = {},
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...opts.headers };
    const key = opts.key === undefined ? this.profile.apiKey : opts.key;
    if (key !== null) headers["X-API-Key"] = key;
    const res = await fetch(`${this.url}${opts.path ?? `/api/${method}`}`, {
      method: "POST",
      headers,
      body: opts.raw ?? JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text.trim();
    try {
      parsed = JSON.parse(text);
    } catch {
      // several JSON lines (the legacy endpoint's answer): compared line by line; else as text
      const lines = text.trim().split("\n");
      if (lines.length > 1) {
        try {
          parsed = { lines: lines.map((l) => JSON.parse(l)) };
        } catch {
          // not JSON lines
        }
      }
    }
    if (opts.record !== false) this.log.push({ api: method, status: res.status, body: parsed });
    return (parsed && typeof parsed === "object" ? parsed : { text: parsed }) as Record<string, unknown>;
  }

  /** A plain HTTP request; records status, the compared headers and the body. */
  async http(path: string, init: RequestInit = {}, record: { body?: boolean } = {}): Promise<Response> {
    const res = await fetch(`${this.url}${path}`, init);
    const body = await res.text();
    const entry: Record<string, unknown> = {
      http: `${init.method ?? "GET"} ${path.split("?")[0]}`,
      status: res.status,
      headers: pickHeaders(res.headers),
    };
    if (record.body !== false) entry.body = body.trim();
    this.log.push(entry);
    return new Response(body, { status: res.status, headers: res.headers });
  }

  /**
   * What the server sent the application backend so far for this run (path, body, headers), into
   * the transcript: proxy requests are compared like everything else.
   */
  recordProxyRequests(): void {
    this.notes.proxy = (proxy.backend?.requests(this.runId) ?? []).map(({ path, body, headers }) => ({
      path,
      body,
      headers,
    }));
  }

  /** Anything else worth comparing (a derived fact, a count). */
  note(key: string, value: unknown): void {
    this.notes[key] = value;
  }

  /** Sends commands on a connection (one frame / one emulation request). */
  send(conn: Conn, cmds: Command[]): void {
    conn.send(cmds);
  }

  /** Lets trailing messages arrive, closes every connection, and returns the transcript. */
  async finish(): Promise<Transcript> {
    await Promise.all(this.conns.map(({ conn }) => conn.settle()));
    await Promise.all(this.conns.map(({ conn }) => conn.close()));
    const t: Transcript = {};
    for (const { label, conn } of this.conns) {
      t[label] = { transport: conn.transport, events: conn.events };
      if (conn.firstChunk !== undefined) (t[label] as Record<string, unknown>).first_chunk = conn.firstChunk;
      if (conn.emulation.length) t[`${label}.emulation`] = conn.emulation;
    }
    if (this.log.length) t.http = this.log;
    if (Object.keys(this.notes).length) t.notes = this.notes;
    return t;
  }

  /** Closes what is open after a scenario failed midway. */
  async abandon(): Promise<void> {
    await Promise.all(this.conns.map(({ conn }) => conn.close().catch(() => {})));
  }
}
