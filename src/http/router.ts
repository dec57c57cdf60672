/**
 * @module
 * The routes of one listener: `buildRoutes(config, endpoints, scope, log)` is a Web-standard
 * `fetch(Request) → Response` that mounts the endpoints the config turns on. Scopes: "public" =
 * connection endpoints (and Simple SSE's `/events/`), "internal" = server API, metrics and health
 * (Centrifugo's internal endpoints), "all" = both on one listener. The admin site goes with the
 * internal endpoints unless `admin_external`; dev mode's page with the public ones.
 *
 * The endpoints are handed in (`Endpoints`): the composition (server.ts) binds transports and the
 * server API to its node, so this module knows paths and HTTP, not what answers them.
 *
 * Hot paths skip the router (Hono): connection endpoints are found by exact path, and everything
 * under the server API's prefix goes straight to the API. A handler that throws gets one 500
 * answer whichever way it was reached; an unknown path gets Go's 404, or one that names the config
 * key when it is a transport that is turned off.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Config } from "../config/mod.ts";
import type { ConnInfo } from "../runtime/types.ts";
import type { Logger } from "../log.ts";
import type { Handler } from "./handler.ts";
import { originChecked, OriginPolicy } from "./origin.ts";
import { pathOf } from "./request_url.ts";
import { goNotFound } from "./responses.ts";

/** What a listener's routes call, each bound to the node by the composition. */
export interface Endpoints {
  websocket: Handler;
  uniWebsocket: Handler;
  httpStream: Handler;
  sse: Handler;
  uniSse: Handler;
  uniHttpStream: Handler;
  /** `/emulation`: the commands of `sse` and `http_stream` connections. */
  emulation: Handler;
  /** Simple SSE's `/events/` streams, when `simple_sse` is on. */
  simpleSseEvents?: Handler;
  /** One server API method (an unknown one is the API's own 404). */
  api(req: Request, method: string): Response | Promise<Response>;
  /** Centrifugo's legacy single API endpoint, at the prefix itself. */
  legacyApi(req: Request): Promise<Response>;
  health(): Response;
  /** Prometheus metrics. */
  metrics(): Promise<Response>;
  /** The admin site, when `admin` is on: the paths it answers and its handler. */
  admin?: { readonly routes: string[]; handle: Handler };
  /** Dev mode's page at `/` and the SDK's browser build it loads. */
  devPage?: { page(): Promise<Response>; sdkScript(): Promise<Response> };
}

export type Scope = "all" | "public" | "internal";

type Env = { Bindings: { conn: ConnInfo } };

/** Used when a request comes without runtime connection info (direct calls in tests). */
const detachedConn = (): ConnInfo => ({
  onClose: () => {},
  holdOpen: () => {},
  responseEnded: () => {},
  abort: () => {},
});

/** A handler as a router route: the request and the runtime's connection taken from the context. */
const routed = (handler: Handler) => (c: Context<Env>) => handler(c.req.raw, c.env?.conn ?? detachedConn());

/** `""` as a prefix means the root. */
const at = (prefix: string) => prefix || "/";

export function buildRoutes(
  config: Config,
  endpoints: Endpoints,
  scope: Scope,
  log: Logger,
): (req: Request, conn?: ConnInfo) => Promise<Response> {
  const app = new Hono<Env>();
  const { devPage, admin } = endpoints;
  if (devPage && scope !== "internal") {
    app.get("/", () => devPage.page());
    app.get("/_sluice/centrifuge.js", () => devPage.sdkScript());
  }
  if (scope !== "public") {
    if (config.health) app.get(at(config.health_handler_prefix), () => endpoints.health());
    if (config.prometheus) app.get(at(config.prometheus_handler_prefix), () => endpoints.metrics());
  }
  // Centrifugo's admin is an internal endpoint too, unless admin_external.
  const adminHere = admin &&
    (scope === "all" || (scope === "public" ? config.admin_external : !config.admin_external));
  if (adminHere) {
    for (const route of admin.routes) {
      app.all(route, routed((req, conn) => admin.handle(req, conn)));
    }
  }
  // Connection endpoints are also reached by exact path before the router (the connect hot path).
  const exact = new Map<string, Handler>();
  if (scope !== "internal") mountConnectionEndpoints(app, exact, config, endpoints, log);
  if (scope !== "public" && !config.api_disable) {
    app.all(`${config.api_handler_prefix}/:method`, (c) => endpoints.api(c.req.raw, c.req.param("method")));
    // Centrifugo's legacy single endpoint, at the prefix itself (not at `/`: that is everyone's)
    if (config.api_handler_prefix !== "") {
      app.all(config.api_handler_prefix, (c) => endpoints.legacyApi(c.req.raw));
    }
  }
  app.notFound((c) => notFound(config, c.req.path));
  // One answer to a handler that throws, whether the router or the exact-path dispatch ran it.
  const failed = (err: unknown) => {
    log.error("request failed", { err });
    return new Response("Internal Server Error", { status: 500 });
  };
  app.onError(failed);
  // The server API is the hot path of backends: straight to its handler, without the router.
  const apiPrefix = scope !== "public" && !config.api_disable && config.api_handler_prefix !== ""
    ? `${config.api_handler_prefix}/`
    : undefined;
  // Routing an exact path by hand saves the router's request wrapper and matching: ~10 % of a
  // connect's server time on Bun. Anything else takes the router's way.
  return (req, conn) => {
    const path = pathOf(req.url);
    const direct = exact.get(path);
    if (direct !== undefined) {
      try {
        return Promise.resolve(direct(req, conn ?? detachedConn())).catch(failed);
      } catch (err) {
        return Promise.resolve(failed(err));
      }
    }
    // Everything under the prefix is the API's: an unknown method is its 404.
    if (apiPrefix !== undefined && path.startsWith(apiPrefix)) {
      return Promise.resolve(endpoints.api(req, path.slice(apiPrefix.length)));
    }
    return Promise.resolve(app.fetch(req, { conn: conn ?? detachedConn() }));
  };
}

/** Connection endpoints (and Simple SSE's `/events/`), with the Origin check and CORS. */
function mountConnectionEndpoints(
  app: Hono<Env>,
  exact: Map<string, Handler>,
  config: Config,
  endpoints: Endpoints,
  log: Logger,
): void {
  const origins = new OriginPolicy(config.allowed_origins);
  const connection = (handler: Handler, methods: string, cors = true) =>
    originChecked(origins, log, handler, methods, cors);
  /**
   * On the router (encoded variants of the path behave as before) and by exact path — except `/`
   * (an empty prefix), where dev mode's page, registered earlier, must keep winning.
   */
  const mount = (path: string, handler: Handler) => {
    app.all(path, routed(handler));
    if (path !== "/") exact.set(path, handler);
  };
  if (!config.websocket_disable) {
    mount(at(config.websocket_handler_prefix), connection(endpoints.websocket, "GET", false));
  }
  if (config.uni_websocket) {
    mount(at(config.uni_websocket_handler_prefix), connection(endpoints.uniWebsocket, "GET", false));
  }
  if (config.http_stream) {
    mount(at(config.http_stream_handler_prefix), connection(endpoints.httpStream, "POST, OPTIONS"));
  }
  if (config.sse) mount(at(config.sse_handler_prefix), connection(endpoints.sse, "GET, POST"));
  if (config.uni_sse) mount(at(config.uni_sse_handler_prefix), connection(endpoints.uniSse, "GET, POST"));
  if (config.uni_http_stream) {
    mount(at(config.uni_http_stream_handler_prefix), connection(endpoints.uniHttpStream, "POST, OPTIONS"));
  }
  if (config.sse || config.http_stream) {
    mount(at(config.emulation_handler_prefix), connection(endpoints.emulation, "POST, OPTIONS"));
  }
  if (endpoints.simpleSseEvents) {
    // The original has no Origin policy; here `/events/` follows allowed_origins like every stream.
    const events = connection(endpoints.simpleSseEvents, "GET, POST, OPTIONS");
    mount("/events", events);
    app.all("/events/*", routed(events));
  }
}

/** A 404 that names the key when the path is a transport that is turned off. */
function notFound(config: Config, path: string): Response {
  const off: Array<[string, boolean, string]> = [
    [config.websocket_handler_prefix, !config.websocket_disable, "websocket_disable: false"],
    [config.uni_websocket_handler_prefix, config.uni_websocket, "uni_websocket: true"],
    [config.http_stream_handler_prefix, config.http_stream, "http_stream: true"],
    [config.sse_handler_prefix, config.sse, "sse: true"],
    [config.uni_sse_handler_prefix, config.uni_sse, "uni_sse: true"],
    [config.uni_http_stream_handler_prefix, config.uni_http_stream, "uni_http_stream: true"],
    [config.emulation_handler_prefix, config.sse || config.http_stream, "sse: true or http_stream: true"],
  ];
  for (const [prefix, on, key] of off) {
    if (!on && prefix !== "" && path === prefix) {
      return new Response(`Not Found: ${prefix} is turned off; set ${key} in the config to enable it\n`, {
        status: 404,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
  }
  return goNotFound(); // as Centrifugo answers any path it does not serve
}
