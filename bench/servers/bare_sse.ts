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
 * Run: `bun bench/servers/bare_sse.ts --port 9000` or `deno run -A bench/servers/bare_sse.ts --port 9000`.
 */
import { getRuntime } from "../../src/runtime/serve.ts";

const runtime = await getRuntime();
const args = runtime.args();
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(arg("port", "8000"));
const hostname = arg("host", "127.0.0.1");
const pingMs = Number(arg("ping", "25")) * 1000;

const encoder = new TextEncoder();
const HELLO = encoder.encode(": ok\n\n");
const PING = encoder.encode(": ping\n\n");
const HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" };

type Controller = ReadableStreamDefaultController<Uint8Array>;
interface Sub {
  controller: Controller;
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

/** The adapter's close notification (`onClose(fn)`, or the older `closed` promise). */
function whenClosed(conn: unknown, fn: () => void): void {
  const c = conn as { onClose?: (fn: () => void) => void; closed?: Promise<void> };
  if (typeof c.onClose === "function") c.onClose(fn);
  else c.closed?.then(fn, fn);
}

setInterval(() => {
  for (const sub of subs) send(sub, PING);
}, pingMs);

await runtime.listen({
  port,
  hostname,
  async handler(req, conn) {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/sub") {
      const names = url.searchParams.getAll("channel");
      let sub!: Sub;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          sub = { controller, channels: names, gone: false };
          subs.add(sub);
          for (const name of names) {
            let set = channels.get(name);
            if (!set) channels.set(name, set = new Set());
            set.add(sub);
          }
          controller.enqueue(HELLO);
        },
        cancel() {
          drop(sub);
        },
      });
      conn.holdOpen();
      whenClosed(conn, () => drop(sub));
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
    if (url.pathname === "/health") return new Response("{}");
    return new Response("not found", { status: 404 });
  },
});
