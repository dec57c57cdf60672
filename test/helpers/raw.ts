/**
 * Raw streaming clients (no SDK) for checking exact wire behaviour: opens a stream with fetch and
 * yields each message (NDJSON line or SSE `data:` payload) as parsed JSON; and bare TCP sockets.
 */
import net, { type Socket } from "node:net";
import type { TestContext } from "../harness.ts";
import type { TestServer } from "./server.ts";
import { userToken } from "./tokens.ts";

export interface RawStream {
  status: number;
  headers: Headers;
  /** Next message, or undefined when the stream ended. Rejects after `ms`. */
  next(ms?: number): Promise<Record<string, unknown> | undefined>;
  /** Reads until `pred` matches a message (returns it) or the stream ends (returns undefined). */
  until(
    pred: (m: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown> | undefined>;
  /** Everything received so far, raw. */
  text(): string;
  close(): void;
}

export async function openRaw(url: string, init: RequestInit, framing: "ndjson" | "sse"): Promise<RawStream> {
  const controller = new AbortController();
  const res = await fetch(url, { ...init, signal: controller.signal });
  const queue: Array<Record<string, unknown> | undefined> = [];
  const waiters: Array<() => void> = [];
  let all = "";
  let buffer = "";
  let ended = false;
  const push = (m: Record<string, unknown> | undefined) => {
    queue.push(m);
    waiters.splice(0).forEach((w) => w());
  };
  (async () => {
    if (!res.body) return push(undefined);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = dec.decode(value, { stream: true });
        all += text;
        buffer += text;
        const sep = framing === "sse" ? "\n\n" : "\n";
        let at: number;
        while ((at = buffer.indexOf(sep)) >= 0) {
          const chunk = buffer.slice(0, at);
          buffer = buffer.slice(at + sep.length);
          const payload = framing === "sse"
            ? chunk.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join(
              "\n",
            )
            : chunk;
          if (payload.trim() === "") continue;
          push(JSON.parse(payload));
        }
      }
    } catch {
      // aborted
    }
    ended = true;
    push(undefined);
  })();
  const next = async (ms = 5000) => {
    const deadline = Date.now() + ms;
    while (queue.length === 0) {
      if (ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${ms} ms; got so far: ${all.slice(-500)}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return queue.shift();
  };
  return {
    status: res.status,
    headers: res.headers,
    next,
    async until(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = await next(Math.max(1, deadline - Date.now()));
        if (m === undefined || pred(m)) return m;
      }
    },
    text: () => all,
    close: () => controller.abort(),
  };
}

export function connectCommand(token: string, id = 1, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id, connect: { token, ...extra } });
}

export async function openHttpStream(
  baseUrl: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  return await openRaw(`${baseUrl}/connection/http_stream`, { method: "POST", body, headers }, "ndjson");
}

export async function openSse(
  baseUrl: string,
  connect: string,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  return await openRaw(
    `${baseUrl}/connection/sse?cf_connect=${encodeURIComponent(connect)}`,
    { headers },
    "sse",
  );
}

export interface RawConn {
  stream: RawStream;
  client: string;
  session: string;
  /** The id of the node the session lives on (for `/emulation`). */
  node: string;
  /** The connect reply's result. */
  connect: Record<string, unknown>;
}

/**
 * A raw bidirectional connection as `user` (http_stream unless `sse`), closed when the test ends;
 * `commands` follow the connect command in the request body (http_stream only) and their replies
 * are consumed.
 */
export async function connectRaw(
  t: TestContext,
  s: TestServer,
  user: string,
  opts: { ttl?: number; commands?: Array<Record<string, unknown>>; sse?: boolean } = {},
): Promise<RawConn> {
  const connect = connectCommand(await userToken(user, opts.ttl ?? 3600));
  const commands = opts.commands ?? [];
  const stream = opts.sse
    ? await openSse(s.url, connect)
    : await openHttpStream(s.url, [connect, ...commands.map((c) => JSON.stringify(c))].join("\n"));
  t.cleanup(() => stream.close());
  const reply = await stream.next();
  const result = reply?.connect as Record<string, unknown> | undefined;
  if (!result) throw new Error(`connect reply expected, got ${JSON.stringify(reply)}`);
  for (const cmd of commands) {
    const r = await stream.next();
    if (!r || r.id !== cmd.id || "error" in r) {
      throw new Error(`reply to ${JSON.stringify(cmd)}: ${JSON.stringify(r)}`);
    }
  }
  return {
    stream,
    client: result.client as string,
    session: result.session as string,
    node: result.node as string,
    connect: result,
  };
}

/** Sends commands for a session through `/emulation`. */
export function emulate(
  baseUrl: string,
  session: string,
  node: string,
  commands: unknown[],
): Promise<Response> {
  return fetch(`${baseUrl}/emulation`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session, node, data: commands.map((c) => JSON.stringify(c)).join("\n") }),
  });
}

export interface RawSocket {
  sock: Socket;
  /** Everything received so far, as text. */
  received(): string;
  closed(): boolean;
  /** Resolves when the server (or the test) closed the socket. */
  whenClosed: Promise<void>;
}

/** A bare TCP connection to 127.0.0.1:`port`, connected, destroyed when the test ends. */
export async function rawSocket(t: TestContext, port: number): Promise<RawSocket> {
  const sock = net.connect(port, "127.0.0.1");
  sock.setNoDelay(true);
  t.cleanup(() => sock.destroy());
  let received = "";
  let closed = false;
  const whenClosed = new Promise<void>((resolve) =>
    sock.on("close", () => {
      closed = true;
      resolve();
    })
  );
  sock.on("data", (d: Uint8Array) => (received += new TextDecoder().decode(d)));
  sock.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", () => resolve());
    sock.once("error", reject);
  });
  return { sock, received: () => received, closed: () => closed, whenClosed };
}

/**
 * Opens a keep-alive connection, has it answered, says nothing more, and waits until the runtime's
 * idle timeout closes it: the fact a test proving "a stream is not cut as idle" waits for, rather
 * than a guess at how late the runtime cuts (Bun checks its timeouts every few seconds). Call it
 * after the stream under test is open: this connection's deadline is then no earlier than the
 * stream's would be.
 */
export async function waitForIdleCut(t: TestContext, port: number, ms = 15_000): Promise<void> {
  const idle = await rawSocket(t, port);
  idle.sock.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    idle.whenClosed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the idle connection was not closed within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!/^HTTP\/1\.1 200/.test(idle.received())) {
    throw new Error(`the idle connection's request was not answered: ${idle.received()}`);
  }
}

/**
 * Opens a connection over a bare TCP socket: `close()` drops the socket at once, like a browser
 * tab going away (a fetch abort may leave the socket in the client runtime's pool for a while).
 * `body` given → POST to http_stream; otherwise a GET of `path` (an SSE URL).
 */
export async function openTcpStream(
  t: TestContext,
  port: number,
  opts: { body: string } | { path: string },
): Promise<{ received(): string; close(): void }> {
  const raw = await rawSocket(t, port);
  if ("body" in opts) {
    const bytes = new TextEncoder().encode(opts.body);
    raw.sock.write(
      `POST /connection/http_stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${bytes.length}\r\n\r\n${opts.body}`,
    );
  } else {
    raw.sock.write(`GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  }
  return { received: raw.received, close: () => raw.sock.destroy() };
}
