/**
 * @module
 * A listener on the runtime's `node:http` (Deno's Node compatibility layer), for
 * `deno_listener: "node_http"`: an idle SSE connection costs ~16 KB there against ~61 KB under
 * `Deno.serve` (bench/README.md, "Idle density on Deno"). Requests become Web `Request`s. Sluice's
 * streams come as a source (`streamResponse`), written into the socket with backpressure
 * (`write` → `drain`) and cancelled when the client goes away (`DirectDrain`), with no Web stream
 * in between; any other `Response` body is a finished answer, read whole and written at once.
 *
 * Limits: new connections must send a complete request head within the idle timeout
 * (`headersTimeout`), kept-alive connections may idle that long between requests
 * (`keepAliveTimeout`); a response that ended on our side must drain within it. WebSocket
 * upgrades go through the handler like any request; the `ws` package completes them.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import type { Buffer } from "node:buffer";
import { WebSocketServer } from "ws";
import {
  type ByteSource,
  type ByteSourceController,
  type ConnInfo,
  DEFAULT_IDLE_TIMEOUT_MS,
  type Listener,
  type ListenOptions,
  type WebSocketUpgrade,
} from "./types.ts";
import { StandardWebSocket } from "./standard_websocket.ts";
import { joinBytes } from "../bytes.ts";

const NO_BODY = new Set(["GET", "HEAD"]);
/** Descriptors kept free beyond those open at startup (files, Redis, a plugin's own sockets). */
const DESCRIPTOR_RESERVE = 32;

/**
 * How many client connections fit under the soft limit on open files, counting the descriptors this
 * process already holds (Linux `/proc`); undefined where unreadable.
 */
function connectionRoom(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (!m) return undefined;
    const open = readdirSync("/proc/self/fd").length;
    return Math.max(16, Number(m[1]) - open - DESCRIPTOR_RESERVE);
  } catch {
    return undefined;
  }
}

export function listenNodeHttp(opts: ListenOptions): Promise<Listener> {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const options: http.ServerOptions = {
    // how often header and request timeouts are checked (Node's default is 30 s)
    connectionsCheckingInterval: idleMs > 0 ? Math.min(1000, idleMs) : 30_000,
    headersTimeout: idleMs,
    keepAliveTimeout: idleMs,
    // the body deadline is Sluice's (http_body_timeout); streams last as long as they last
    requestTimeout: 0,
    // Only WebSocket is an upgrade. Any other offer (`Upgrade: h2c`, sent by Java's HttpClient on
    // every first plain-http request) is an ordinary request, body and all, as Centrifugo and Bun
    // serve it; through the upgrade path it would lose its body.
    shouldUpgradeCallback: (req: http.IncomingMessage) => req.headers.upgrade?.toLowerCase() === "websocket",
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    serve(req, res, opts, idleMs).catch((err) => {
      opts.log?.warn("request failed in the node:http listener", { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end("internal server error");
      else res.destroy();
    });
  };
  // WebSocket: the upgrade request goes through the handler like any other (Origin check, route);
  // `ws` completes the handshake on the socket when the transport upgrades, else the answer is written.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxWebSocketMessageBytes ?? 65536,
    perMessageDeflate: false,
    handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
  });
  // Upgraded sockets leave node:http's bookkeeping: a forced close cuts them here.
  const upgraded = new Set<Socket>();
  /** Every server made, the current one last; an older one is only serving what it accepted. */
  const servers = new Set<http.Server>();
  let lastAccept = Date.now();
  const onAccept = () => {
    lastAccept = Date.now();
  };

  /** One listening server with Sluice's handlers (a new one replaces a listener that stopped accepting). */
  const makeServer = (): http.Server => {
    const server = opts.tls
      ? https.createServer({ ...options, cert: opts.tls.cert, key: opts.tls.key }, onRequest)
      : http.createServer(options, onRequest);
    // A cap under the descriptor limit keeps the process's own descriptors (files, Redis) free.
    const room = connectionRoom();
    if (room !== undefined) server.maxConnections = room;
    server.keepAliveTimeout = idleMs;
    server.headersTimeout = idleMs;
    server.requestTimeout = 0;
    server.on("connection", onAccept);
    server.on("drop", onAccept);
    server.on("upgrade", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on("error", () => {});
      upgraded.add(socket);
      socket.once("close", () => upgraded.delete(socket));
      upgrade(req, socket, head, wss, opts).catch((err) => {
        opts.log?.warn("upgrade failed in the node:http listener", { err: String(err) });
        socket.destroy();
      });
    });
    server.on("clientError", (_err: Error, socket: Socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    servers.add(server);
    return server;
  };
  const listenOn = (server: http.Server, port: number): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: opts.hostname, ...(opts.reusePort ? { reusePort: true } : {}) }, () => {
        server.off("error", reject);
        server.on("error", (err: Error) => opts.log?.warn("node:http listener error", { err: err.message }));
        resolve(server.address() as AddressInfo);
      });
    });

  let current = makeServer();
  return listenOn(current, opts.port).then(
    (address) => {
      // With reusePort (workers) the kernel may hand a probe to another worker's listener: a probe
      // could not tell this listener's health, so there is no watchdog there (README, workers).
      const watchdog = opts.reusePort
        ? undefined
        : new AcceptWatchdog(address.port, opts.hostname, () => lastAccept, async () => {
          // Deno 2.9's node:http stops accepting for good once accept has failed for lack of
          // descriptors (no error is emitted). A new listening socket on the same port recovers;
          // the old server keeps serving what it accepted until that ends.
          opts.log?.warn("the node:http listener stopped accepting connections; listening again", {
            port: address.port,
          });
          const old = current;
          old.close(() => servers.delete(old));
          current = makeServer();
          try {
            await listenOn(current, address.port);
            lastAccept = Date.now();
            opts.log?.info("accepting connections again", { port: address.port });
          } catch (err) {
            opts.log?.warn("cannot listen again", { err: String(err) });
          }
        });
      return {
        port: address.port,
        hostname: opts.hostname,
        close(force = false) {
          watchdog?.stop();
          const closed = Promise.all([...servers].map((server) =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeIdleConnections?.();
              if (force) server.closeAllConnections?.();
            })
          )).then(() => {});
          if (force) { for (const socket of upgraded) socket.destroy(); }
          return closed;
        },
      } satisfies Listener;
    },
    (err: Error) => {
      throw new Error(`cannot listen on ${opts.hostname}:${opts.port}: ${err.message}`);
    },
  );
}

/**
 * Notices a listener that no longer accepts: when nothing was accepted for a while, it connects
 * to the port itself; if that connection is not accepted either (twice in a row), `relisten`.
 * A busy server accepts all the time and is never probed; an idle one gets one probe every few
 * seconds (a connection that is closed at once).
 */
class AcceptWatchdog {
  private readonly timer: ReturnType<typeof setInterval>;
  private probeSentAt = 0;
  private probe: Socket | undefined;
  private failures = 0;
  private relistening = false;

  constructor(
    private readonly port: number,
    hostname: string,
    private readonly lastAccept: () => number,
    private readonly relisten: () => Promise<void>,
  ) {
    const host = hostname === "0.0.0.0" || hostname === ""
      ? "127.0.0.1"
      : hostname === "::"
      ? "::1"
      : hostname;
    this.timer = setInterval(() => this.check(host), WATCHDOG_CHECK_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.probe?.destroy();
  }

  private check(host: string): void {
    if (this.relistening) return;
    const now = Date.now();
    if (this.probe !== undefined) {
      this.probe.destroy();
      this.probe = undefined;
      if (this.lastAccept() >= this.probeSentAt) this.failures = 0;
      else if (++this.failures >= 2) {
        this.failures = 0;
        this.relistening = true;
        this.relisten().finally(() => this.relistening = false);
        return;
      }
    }
    if (now - this.lastAccept() < WATCHDOG_QUIET_MS) return;
    this.probeSentAt = now;
    const probe = net.connect({ port: this.port, host });
    probe.on("error", () => {}); // refused or out of descriptors ourselves: not the listener's fault
    probe.on("close", () => {
      if (this.probe === probe && this.lastAccept() < this.probeSentAt) {
        // never connected (EMFILE here, refused): count it as accepted, do not judge the listener
        this.probeSentAt = 0;
      }
    });
    this.probe = probe;
  }
}

/** How often the watchdog looks, and how long without an accepted connection before it probes. */
const WATCHDOG_CHECK_MS = 1_000;
const WATCHDOG_QUIET_MS = 3_000;

/** The subprotocol the transport chose for an upgrade request (read by `handleProtocols`). */
const chosenProtocol = new WeakMap<http.IncomingMessage, string>();
/** What `upgradeWebSocket` returns: the handshake is ws's, on the socket, not a Response to write. */
const UPGRADED = new Response(null, { status: 200 });

function toRequest(
  req: http.IncomingMessage,
  opts: ListenOptions,
  body?: Uint8Array | ReadableStream<Uint8Array>,
): Request {
  const scheme = opts.tls ? "https" : "http";
  const url = `${scheme}://${req.headers.host ?? `${opts.hostname}:${opts.port}`}${req.url ?? "/"}`;
  // Name/value pairs, not a Headers object: the Request copies a Headers object one guarded entry at
  // a time, twice the cost of taking pairs (~6 µs of every request on Deno).
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  }
  // @ts-ignore: a streamed request body (fetch's `duplex`), not in every lib's RequestInit
  return new Request(url, { method: req.method ?? "GET", headers, body, duplex: "half" });
}

async function upgrade(
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

async function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: ListenOptions,
  idleMs: number,
): Promise<void> {
  const method = req.method ?? "GET";
  const request = toRequest(req, opts, NO_BODY.has(method) ? undefined : await bodyFor(req));
  const conn = new NodeConn(req, res, idleMs);
  // A body we stopped reading cannot be followed by another request on this connection (one that
  // has arrived whole, as most API calls have, needs no watch).
  if (!req.complete) {
    res.once("finish", () => {
      if (!req.complete) req.socket.destroy();
    });
  }
  const response = await opts.handler(request, conn);
  const direct = conn.direct?.response === response ? conn.direct.source : undefined;
  conn.direct = undefined;
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) out["set-cookie"] = cookies;
  if (direct !== undefined) {
    res.writeHead(response.status, response.statusText || undefined, out);
    res.flushHeaders();
    new DirectDrain(direct, res).begin();
    return;
  }
  // Every stream Sluice serves comes through `streamResponse`: any other body is a finished answer
  // (JSON, text, a page), read whole by the runtime and written in one go — pumping it through a
  // stream reader cost more than the rest of a server API call.
  const body = response.body ? new Uint8Array(await response.arrayBuffer()) : undefined;
  if (body !== undefined) out["content-length"] = String(body.byteLength);
  res.writeHead(response.status, response.statusText || undefined, out);
  res.end(body);
}

/**
 * A request's body for the Web `Request`. A small body usually comes in the same packet as its
 * head, and node:http has parsed all of it a moment after announcing the request: then it goes
 * over as the bytes themselves. Otherwise (still arriving, or large) as a stream, read at the
 * handler's pace and under its limits. A stream per API call cost about a third of the call.
 */
async function bodyFor(req: http.IncomingMessage): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  await undefined; // node:http parses the rest of the packet after the 'request' event
  if (!req.complete) return bodyOf(req);
  const chunks: Buffer[] = [];
  for (let chunk: Buffer | null; (chunk = req.read()) !== null;) chunks.push(chunk);
  if (chunks.length === 1) {
    return new Uint8Array(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength);
  }
  return joinBytes(chunks);
}

/** An IncomingMessage as a Web stream (its chunks are Buffers of their own). */
function bodyOf(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  const iterator = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      // Stop reading; the answer (413, 408, …) still goes out, then the connection closes (serve).
      req.pause();
    },
  });
}

/**
 * A Sluice stream written straight into the response, as a `ReadableStream`'s reader would take it
 * (pull → enqueue → write; on backpressure, the next pull waits for `drain`), without the stream:
 * ~6 KB less per idle connection and no promise per chunk.
 */
class DirectDrain implements ByteSourceController {
  private done = false;
  constructor(private readonly source: ByteSource, private readonly res: http.ServerResponse) {}

  begin(): void {
    if (this.res.closed) {
      // the client left while the handler ran: nothing to write to
      this.done = true;
      this.source.cancel();
      return;
    }
    this.res.once("close", () => {
      if (this.done) return;
      this.done = true;
      this.source.cancel();
    });
    this.source.start(this);
    if (!this.done) this.source.pull();
  }

  enqueue(chunk: Uint8Array): void {
    if (this.done) throw new TypeError("the response has ended");
    if (this.res.write(chunk)) this.source.pull();
    else {
      this.res.once("drain", () => {
        if (!this.done) this.source.pull();
      });
    }
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.res.end();
  }

  error(): void {
    if (this.done) return;
    this.done = true;
    this.res.destroy();
  }
}

class NodeConn implements ConnInfo {
  /** The stream answer made by `streamResponse`, drained by `serve` if it is the one returned. */
  direct: { response: Response; source: ByteSource } | undefined;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly idleMs: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  onClose<T>(fn: (this: T) => void, self?: T): void {
    if (this.res.closed) fn.call(self as T);
    else this.res.once("close", () => fn.call(self as T));
  }

  /** A request in progress is never idle for node:http's timeouts; nothing to do. */
  holdOpen(): void {}

  streamResponse(source: ByteSource, init: ResponseInit): Response {
    const response = new Response(null, init);
    this.direct = { response, source };
    return response;
  }

  /** A client that does not read what we sent is cut once the idle timeout has passed. */
  responseEnded(): void {
    if (this.idleMs <= 0) return;
    const timer = setTimeout(() => {
      if (!this.res.writableFinished) this.req.socket.destroy();
    }, this.idleMs);
    (timer as { unref?: () => void }).unref?.();
    this.res.once("finish", () => clearTimeout(timer));
  }

  abort(): void {
    this.req.socket.destroy();
  }
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
      events.open(new StandardWebSocket(ws));
    });
    return UPGRADED;
  }
}

/** A message's bytes as one Uint8Array of its own (ws may hand over fragments or pooled views). */
function messageBytes(data: Uint8Array | ArrayBuffer | Uint8Array[]): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return joinBytes(Array.isArray(data) ? data : [data]);
}
