/**
 * @module
 * A listener on the runtime's `node:http` (Deno's Node compatibility layer), Deno's only
 * listener: an idle SSE connection costs ~16 KB there against ~61 KB under
 * `Deno.serve` (bench/README.md, "Idle density on Deno"). This file makes and closes the servers:
 * HTTP or HTTPS, the timeouts — new connections must send a complete request head within the idle
 * timeout (`headersTimeout`), kept-alive ones may idle that long between requests
 * (`keepAliveTimeout`) — and a new listening socket when `admission.ts` says the descriptors ran out
 * and are free again. Each request goes to `respond.ts`, each upgrade to `websocket.ts`.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Buffer } from "node:buffer";
import { DEFAULT_IDLE_TIMEOUT_MS, type Listener, type ListenOptions } from "../types.ts";
import { respond } from "./respond.ts";
import { createWebSocketServer, upgrade } from "./websocket.ts";
import { processAdmission } from "./admission.ts";

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
  // The cap under the descriptor limit is the process's, enforced here rather than by
  // `server.maxConnections` (which Deno applies silently): a refused arrival is what tells
  // `admission.ts` that descriptors may have run out.
  const admission = processAdmission(opts.log);
  // A runtime limit said where the operator looks, not only in the README.
  if (opts.tls) {
    opts.log?.info(
      "HTTPS on Deno is HTTP/1.1 only: its node:http has no HTTP/2 (terminate TLS in nginx for HTTP/2)",
    );
  }
  const onConnection = (socket: Socket) => {
    if (!admission.admit(socket)) socket.destroy();
  };

  /** One server with Sluice's handlers (a new one replaces a listener that may have stopped accepting). */
  const makeServer = (): http.Server => {
    const server = opts.tls
      ? https.createServer({ ...options, cert: opts.tls.cert, key: opts.tls.key }, onRequest)
      : http.createServer(options, onRequest);
    server.keepAliveTimeout = idleMs;
    server.headersTimeout = idleMs;
    server.requestTimeout = 0;
    // before node:http's own listener, so a refused socket is destroyed before anything reads it
    server.prependListener("connection", onConnection);
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
      let closed = false;
      let relistening = false;
      const relistener = {
        // The old server stops listening (what it accepted stays served until it ends); a new
        // socket on the same port accepts from here on.
        relisten() {
          if (closed || relistening) return;
          relistening = true;
          const old = current;
          old.close(() => servers.delete(old));
          const next = current = makeServer();
          listenOn(next, address.port).then(
            () => opts.log?.info("accepting connections again", { port: address.port }),
            (err: Error) => {
              servers.delete(next);
              admission.retry();
              opts.log?.warn("cannot listen again; retrying when a connection closes", {
                port: address.port,
                err: err.message,
              });
            },
          ).finally(() => relistening = false);
        },
      };
      admission.add(relistener);
      return {
        port: address.port,
        hostname: opts.hostname,
        close(force = false) {
          closed = true;
          admission.delete(relistener);
          const ended = Promise.all([...servers].map((server) =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeIdleConnections?.();
              if (force) server.closeAllConnections?.();
            })
          )).then(() => {});
          if (force) { for (const socket of upgraded) socket.destroy(); }
          return ended;
        },
      } satisfies Listener;
    },
    (err: Error) => {
      throw new Error(`cannot listen on ${opts.hostname}:${opts.port}: ${err.message}`);
    },
  );
}
