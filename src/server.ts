/**
 * @module
 * `createServer(config)` builds a node and a Web-standard `fetch(Request) → Response` handler with
 * every enabled endpoint mounted (Hono for routing). It never listens itself: the CLI hands
 * `fetch` to the runtime adapter, and tests may call it directly.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Config } from "./config.ts";
import { Node, type NodeOptions } from "./core/node.ts";
import type { ConnInfo } from "./runtime/types.ts";
import { OriginPolicy } from "./transports/origin.ts";
import { sseHandler } from "./transports/sse.ts";
import { httpStreamHandler } from "./transports/http_stream.ts";
import { emulationHandler } from "./transports/emulation.ts";
import { uniSseHandler } from "./transports/uni_sse.ts";
import { uniHttpStreamHandler } from "./transports/uni_http_stream.ts";
import { apiHandler } from "./api/http_api.ts";
import { healthHandler } from "./api/admin.ts";

export interface SluiceServer {
  readonly node: Node;
  readonly config: Config;
  /** Handles one HTTP request; `conn` comes from the runtime adapter. */
  fetch(req: Request, conn?: ConnInfo): Promise<Response>;
  /** Starts the broker side; call before serving traffic. */
  start(): Promise<void>;
  /** Disconnects every client (3001 shutdown by default) and closes the broker side. */
  close(): Promise<void>;
}

export type ServerOptions = NodeOptions;

type Env = { Bindings: { conn: ConnInfo } };
type TransportHandler = (req: Request, node: Node, conn: ConnInfo) => Response | Promise<Response>;

/** Used when a request comes without runtime connection info (direct calls in tests). */
const detachedConn = (): ConnInfo => ({ closed: new Promise(() => {}), holdOpen: () => {} });

export function createServer(config: Config, opts: ServerOptions = {}): SluiceServer {
  const node = new Node(config, opts);
  const app = new Hono<Env>();
  const origins = new OriginPolicy(config.allowed_origins);

  /** Connection endpoints: Origin check (403), CORS headers, preflight. */
  const connection = (handler: TransportHandler, methods: string) => async (c: Context<Env>) => {
    const req = c.req.raw;
    const origin = req.headers.get("origin");
    if (!origins.allows(origin)) {
      node.log.info("request origin is not allowed", { origin, path: c.req.path });
      return new Response("Forbidden: origin not allowed", { status: 403 });
    }
    const cors = origins.corsHeaders(req);
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: { ...cors, "Access-Control-Max-Age": "300", "Access-Control-Allow-Methods": methods },
      });
    }
    const res = await handler(req, node, c.env?.conn ?? detachedConn());
    for (const [k, v] of Object.entries(cors)) res.headers.set(k, v);
    return res;
  };

  const at = (prefix: string) => prefix || "/";
  if (config.health) app.get(at(config.health_handler_prefix), () => healthHandler(node));
  if (config.http_stream) {
    app.all(at(config.http_stream_handler_prefix), connection(httpStreamHandler, "POST, OPTIONS"));
  }
  if (config.sse) app.all(at(config.sse_handler_prefix), connection(sseHandler, "GET, POST, OPTIONS"));
  if (config.uni_sse) {
    app.all(at(config.uni_sse_handler_prefix), connection(uniSseHandler, "GET, POST, OPTIONS"));
  }
  if (config.uni_http_stream) {
    app.all(at(config.uni_http_stream_handler_prefix), connection(uniHttpStreamHandler, "POST, OPTIONS"));
  }
  if (config.sse || config.http_stream) {
    app.all(
      at(config.emulation_handler_prefix),
      connection((req) => emulationHandler(req, node), "POST, OPTIONS"),
    );
  }
  if (!config.api_disable) {
    app.all(
      `${config.api_handler_prefix}/:method`,
      (c) => apiHandler(c.req.raw, node, c.req.param("method")),
    );
  }
  app.notFound(() => new Response("Not Found", { status: 404 }));
  app.onError((err) => {
    node.log.error("request failed", { err });
    return new Response("Internal Server Error", { status: 500 });
  });

  return {
    node,
    config,
    fetch: (req, conn) => Promise.resolve(app.fetch(req, { conn: conn ?? detachedConn() })),
    start: () => node.start(),
    close: () => node.close(),
  };
}
