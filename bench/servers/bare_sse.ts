/**
 * The bare SSE loop: the floor Sluice's protocol cost is measured against (bench/run.mjs).
 * Same HTTP server as Sluice on this runtime (`getRuntime().listen`), no protocol, no auth, no
 * history, no backpressure policy.
 *
 *   GET  /sub?channel=a&channel=b   → text/event-stream; `: ok` at once, then `data: <body>` per publish
 *   POST /pub?channel=x  <body>     → `data: <body>\n\n` encoded once, enqueued to every stream of x;
 *                                     answers the number of streams it reached
 *   GET  /health                    → 200 {}
 *
 * A `: ping` comment goes to every stream every 25 s (heartbeats on, as Sluice and nchan).
 *
 * `--auth SECRET`: also `GET /connection/uni_sse?cf_connect={"token":"…"}`, the least an
 * authenticated connect can do: the HS256 token checked by Sluice's own verifier (node:crypto),
 * the stream subscribed to the token's `channels`, and a connect push of Sluice's shape and size
 * (two fresh ids, the subscriptions) as its first event. No hub, no timers, no protocol state: the
 * floor of Sluice's connect path on this runtime (the `auth-*` servers of bench/run.mjs).
 * `--api-key KEY` with it: also `POST /api/publish` as a backend sends it (`X-API-Key`, a JSON body
 * `{"channel", "data"}`), the least an authenticated JSON API does: the key compared, the body
 * parsed and checked, `data: <data>` sent to the channel's streams, `{"result":{}}` answered.
 *
 * `--sink`: write through Sluice's `StreamWriter` (a connection's outbox) instead of enqueueing each
 * message (the `sink-*` servers of bench/run.mjs). It joins what a connection got during one I/O
 * turn into one chunk, as Sluice does; with it, Sluice / this loop is the cost of the protocol alone, at an equal
 * write strategy.
 * Run: `bun bench/servers/bare_sse.ts --port 9000` or `deno run -A bench/servers/bare_sse.ts --port 9000`.
 */
import { type ConnInfo, getRuntime } from "../../src/runtime/serve.ts";
import { StreamWriter } from "../../src/transports/outbox/stream_writer.ts";
import { FastHmacVerifier } from "../../src/auth/hmac_fast.ts";
import { constantTimeEqual } from "../../src/auth/constant_time.ts";

const runtime = await getRuntime();
const args = runtime.args();
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(arg("port", "8000"));
const hostname = arg("host", "127.0.0.1");
const pingMs = Number(arg("ping", "25")) * 1000;
const viaSink = args.includes("--sink");
const authSecret = arg("auth", "");
const verifier = authSecret
  ? new FastHmacVerifier(authSecret, { algorithms: ["HS256"], hmac: runtime.hmac })
  : undefined;
const apiKey = arg("api-key", "");
const JSON_HEADERS = { "Content-Type": "application/json" };

const encoder = new TextEncoder();
const HELLO = encoder.encode(": ok\n\n");
const PING = encoder.encode(": ping\n\n");
const HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" };

/** Where a stream's bytes go: its controller, or a StreamWriter (`--sink`). */
interface Writer {
  enqueue(bytes: Uint8Array): void;
}
interface Sub {
  controller: Writer;
  channels: string[];
  gone: boolean;
}

const channels = new Map<string, Set<Sub>>();
const subs = new Set<Sub>();

function drop(sub: Sub): void {
  if (sub.gone) return;
  sub.gone = true;
  subs.delete(sub);
  for (const name of sub.channels) {
    const set = channels.get(name);
    if (!set) continue;
    set.delete(sub);
    if (set.size === 0) channels.delete(name);
  }
}

function send(sub: Sub, bytes: Uint8Array): boolean {
  try {
    sub.controller.enqueue(bytes);
    return true;
  } catch {
    drop(sub);
    return false;
  }
}

function register(controller: Writer, names: string[]): Sub {
  const sub: Sub = { controller, channels: names, gone: false };
  subs.add(sub);
  for (const name of names) {
    let set = channels.get(name);
    if (!set) channels.set(name, set = new Set());
    set.add(sub);
  }
  return sub;
}

/** `--sink`: the same subscription, its bytes written through Sluice's StreamWriter. */
function subscribeViaSink(names: string[], conn: ConnInfo): Response {
  const writer = new StreamWriter({
    name: "bare",
    unidirectional: true,
    emulation: false,
    framing: "sse",
    ping: PING,
    maxQueueBytes: 1 << 20,
  });
  const sub = register({ enqueue: (bytes) => writer.write(bytes, bytes.byteLength) }, names);
  writer.write(HELLO, HELLO.byteLength);
  writer.attach({ transportGone: () => drop(sub) }, conn);
  return new Response(writer.stream, { headers: HEADERS });
}

/** The token's claims when `cf_connect` carries a valid HS256 token (as Sluice reads it), else undefined. */
function authenticated(cfConnect: string | null): { user: string; channels: string[] } | undefined {
  let token: unknown;
  try {
    token = (JSON.parse(cfConnect ?? "") as { token?: unknown })?.token;
  } catch {
    return undefined;
  }
  const claims = typeof token === "string" ? verifier!.verify(token) : undefined;
  if (!claims || typeof claims.sub !== "string" || !Array.isArray(claims.channels)) return undefined;
  return { user: claims.sub, channels: claims.channels.filter((c): c is string => typeof c === "string") };
}

/** A connect push of the shape and size Sluice sends on uni_sse (ids, version, subscriptions, ping). */
function connectPush(names: string[]): Uint8Array<ArrayBuffer> {
  const subs = names.map((n) => `${JSON.stringify(n)}:{}`).join(",");
  return encoder.encode(
    `data: {"connect":{"client":"${crypto.randomUUID()}","version":"0.0.0","subs":{${subs}},"ping":25,"session":"${crypto.randomUUID()}"}}\n\n`,
  );
}

setInterval(() => {
  for (const sub of subs) send(sub, PING);
}, pingMs);

await runtime.listen({
  port,
  hostname,
  async handler(req, conn) {
    const url = new URL(req.url);
    let first = HELLO;
    let names: string[] | undefined;
    if (req.method === "GET" && url.pathname === "/sub") names = url.searchParams.getAll("channel");
    else if (verifier && req.method === "GET" && url.pathname === "/connection/uni_sse") {
      const claims = authenticated(url.searchParams.get("cf_connect"));
      if (!claims) return new Response("unauthorized", { status: 401 });
      names = claims.channels;
      first = connectPush(names);
    }
    if (names) {
      if (viaSink) return subscribeViaSink(names, conn);
      let sub!: Sub;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          sub = register(controller, names);
          controller.enqueue(first);
        },
        cancel() {
          drop(sub);
        },
      });
      conn.holdOpen();
      conn.onClose(() => drop(sub));
      return new Response(stream, { headers: HEADERS });
    }
    if (req.method === "POST" && url.pathname === "/pub") {
      const body = await req.text();
      const bytes = encoder.encode(`data: ${body}\n\n`);
      let reached = 0;
      const set = channels.get(url.searchParams.get("channel") ?? "");
      if (set) { for (const sub of set) if (send(sub, bytes)) reached++; }
      return new Response(String(reached));
    }
    if (apiKey && req.method === "POST" && url.pathname === "/api/publish") {
      if (!constantTimeEqual(req.headers.get("x-api-key") ?? "", apiKey)) {
        return new Response(null, { status: 401 });
      }
      let cmd: { channel?: unknown; data?: unknown };
      try {
        cmd = JSON.parse(await req.text());
      } catch {
        return new Response("bad json", { status: 400 });
      }
      if (typeof cmd?.channel !== "string" || cmd.data === undefined) {
        return new Response("bad", { status: 400 });
      }
      const set = channels.get(cmd.channel);
      if (set) {
        const bytes = encoder.encode(`data: ${JSON.stringify(cmd.data)}\n\n`);
        for (const sub of set) send(sub, bytes);
      }
      return new Response(`{"result":{}}\n`, { headers: JSON_HEADERS });
    }
    if (url.pathname === "/health") return new Response("{}");
    return new Response("not found", { status: 404 });
  },
});
