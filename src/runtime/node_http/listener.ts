/**
 * @module
 * A listener on the runtime's `node:http` (Deno's Node compatibility layer), Deno's only
 * listener: an idle SSE connection costs ~16 KB there against ~61 KB under
 * `Deno.serve` (bench/README.md, "Idle density on Deno"). This file makes and closes the servers:
 * HTTP or HTTPS, the connection cap under the descriptor limit, and the timeouts — new connections
 * must send a complete request head within the idle timeout (`headersTimeout`), kept-alive ones may
 * idle that long between requests (`keepAliveTimeout`). Each request goes to `respond.ts`, each
 * upgrade to `websocket.ts`; when the accept watchdog (`watchdog.ts`) finds the server no longer
 * accepting, a new one listens on the same port.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import type { Buffer } from "node:buffer";
import { DEFAULT_IDLE_TIMEOUT_MS, type Listener, type ListenOptions } from "../types.ts";
import { respond } from "./respond.ts";
import { createWebSocketServer, upgrade } from "./websocket.ts";
import { AcceptWatchdog } from "./watchdog.ts";

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
    respond(req, res, opts, idleMs).catch((err) => {
      opts.log?.warn("request failed in the node:http listener", { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end("internal server error");
      else res.destroy();
    });
  };
  const wss = createWebSocketServer(opts);
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
