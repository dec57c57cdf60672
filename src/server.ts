/**
 * @module
 * `createServer(config, {plugins})` builds a node and a Web-standard `fetch(Request) → Response`
 * handler with every enabled endpoint mounted (Hono for routing). It never listens itself: the CLI
 * hands `fetch` to the runtime adapter, and tests may call it directly.
 *
 * Lifecycle: `start()` runs plugin `setup`s in order (a throw stops boot, naming the plugin) and
 * starts the broker side; `ready()` runs `onReady` hooks once listening; `close()` disconnects every
 * client (3001), runs `onClose` hooks and setup teardowns in reverse order, then closes the broker.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Config } from "./config/mod.ts";
import { Node, type NodeOptions } from "./core/node.ts";
import type { ConnInfo, ListenOptions } from "./runtime/types.ts";
import { OriginPolicy } from "./http/origin.ts";
import { pathOf } from "./http/request_url.ts";
import { goNotFound, textResponse } from "./http/responses.ts";
import { sseHandler } from "./transports/sse.ts";
import { httpStreamHandler } from "./transports/http_stream.ts";
import { demoPage } from "./api/demo_page.ts";
import { getRuntime } from "./runtime/serve.ts";
import { uniWebsocketHandler, websocketHandler } from "./transports/websocket.ts";
import { emulationHandler } from "./transports/emulation.ts";
import { uniSseHandler } from "./transports/uni_sse.ts";
import { uniHttpStreamHandler } from "./transports/uni_http_stream.ts";
import { apiHandler, legacyApiHandler } from "./api/http_api.ts";
import { healthHandler } from "./api/health.ts";
import { AdminSite } from "./api/admin.ts";
import { SimpleSseControl } from "./api/simple_sse.ts";
import { SimpleSseStreams } from "./transports/simple_sse.ts";
import { hmacKeys } from "./auth/hmac_keys.ts";
import { Metrics } from "./metrics.ts";
import { VERSION } from "./version.ts";
import { type Logger, silentLogger } from "./log.ts";
import { HookRunner } from "./plugins/hooks.ts";
import { checkPlugins, type LoadedPlugin } from "./plugins/loader.ts";
import { validatePlugin } from "./plugins/define.ts";
import { nodeFacade } from "./plugins/facade.ts";
import type { Plugin, PluginContext, PluginProvides, Teardown } from "./plugins/types.ts";

export interface SluiceServer {
  readonly node: Node;
  readonly config: Config;
  /** Handles one HTTP request; `conn` comes from the runtime adapter. */
  fetch(req: Request, conn?: ConnInfo): Promise<Response>;
  /** Runs plugin setups and starts the broker side; call before serving traffic. */
  start(): Promise<void>;
  /** Runs `onReady` hooks; call once the listener is up. */
  ready(): Promise<void>;
  /** Disconnects every client (3001 shutdown), runs plugin shutdown in reverse, closes the broker. */
  close(): Promise<void>;
  /** The Simple SSE control listener's handler (`/token/`, `/emit/`) when `simple_sse` is on. */
  readonly controlFetch?: (req: Request) => Promise<Response>;
  /**
   * The internal listener's handler (server API, `/metrics`, `/health`) when `internal_port` is
   * set; those endpoints are then absent from `fetch`.
   */
  readonly internalFetch?: (req: Request, conn?: ConnInfo) => Promise<Response>;
}

/** The listener options that follow from the config (the CLI's listeners and the test servers'). */
export function listenerLimits(
  config: Config,
): Pick<ListenOptions, "idleTimeoutMs" | "maxWebSocketMessageBytes" | "denoListener"> {
  return {
    idleTimeoutMs: config.http_idle_timeout,
    maxWebSocketMessageBytes: Math.max(
      config.websocket_message_size_limit,
      config.uni_websocket_message_size_limit,
    ),
    denoListener: config.deno_listener,
  };
}

export interface ServerOptions extends Omit<NodeOptions, "hooks"> {
  /** Plugins in order: objects, or `loadPlugins` results (which carry their options). */
  plugins?: Array<Plugin | LoadedPlugin>;
  /** Dev mode's page at `/` (with the SDK's browser build at `/_sluice/centrifuge.js`). */
  demoPage?: boolean;
  /** This process as one of several workers: `{ group, name }` (see `Node`'s `workerGroup`). */
  worker?: { group: string; name: string };
}

type Env = { Bindings: { conn: ConnInfo } };
type TransportHandler = (req: Request, node: Node, conn: ConnInfo) => Response | Promise<Response>;

/** Used when a request comes without runtime connection info (direct calls in tests). */
const detachedConn = (): ConnInfo => ({
  onClose: () => {},
  holdOpen: () => {},
  responseEnded: () => {},
  abort: () => {},
});

export function createServer(config: Config, opts: ServerOptions = {}): SluiceServer {
  const logger = opts.logger ?? silentLogger;
  const plugins: LoadedPlugin[] = (opts.plugins ?? []).map((p) =>
    "plugin" in p && "spec" in p
      ? p as LoadedPlugin
      : { plugin: validatePlugin(p as Plugin, "createServer"), options: {}, spec: (p as Plugin).name }
  );
  checkPlugins(plugins);
  const provided = <K extends keyof PluginProvides>(slot: K): PluginProvides[K] =>
    plugins.find((l) => l.plugin.provides?.[slot])?.plugin.provides?.[slot];
  const metrics: Metrics = new Metrics(VERSION, { stats: () => node.stats() }, opts.worker?.name);
  const hooks = new HookRunner(plugins.map((l) => l.plugin), config.plugin_hook_timeout, logger, metrics);
  const node: Node = new Node(config, {
    logger,
    broker: provided("broker") ?? opts.broker,
    presence: provided("presence") ?? opts.presence,
    controller: provided("controller") ?? opts.controller,
    hooks,
    metrics,
    workerGroup: opts.worker?.group,
  });
  const shutdown = new AbortController();
  const facade = nodeFacade(node);
  const contexts = new Map<string, PluginContext>(plugins.map((l) => [l.plugin.name, {
    config,
    options: l.options,
    logger: logger.child({ plugin: l.plugin.name }),
    node: facade,
    signal: shutdown.signal,
    refreshOnServer(what: "connections" | "subscriptions") {
      const hook = what === "connections" ? "onRefresh" : "onSubRefresh";
      if (typeof l.plugin[hook] !== "function") {
        throw new TypeError(`refreshOnServer("${what}") needs an ${hook} hook in plugin "${l.plugin.name}"`);
      }
      hooks.serverRefresh[what] = true;
    },
  }]));
  const teardowns: Array<{ plugin: string; fn: Teardown }> = [];
  // Simple SSE: its streams on the client listener, its control port on a listener of its own;
  // the control port signs the tokens the streams verify.
  const simpleKeys = config.simple_sse ? hmacKeys(config.simple_sse_secret) : undefined;
  const simple = simpleKeys &&
    new SimpleSseStreams(node, {
      keys: simpleKeys,
      cookie: config.simple_sse_cookie,
      queryParam: config.simple_sse_query_param,
      heartbeatMs: config.ping_interval,
    });
  const simpleControl = simpleKeys && new SimpleSseControl(node, simpleKeys);

  const runTeardowns = async () => {
    for (const { plugin, fn } of teardowns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error("plugin teardown failed", { plugin, err });
      }
    }
  };

  return {
    node,
    config,
    fetch: buildRoutes(config, node, simple, config.internal_port > 0 ? "public" : "all", opts.demoPage),
    controlFetch: simpleControl ? (req) => simpleControl.handle(req) : undefined,
    internalFetch: config.internal_port > 0 ? buildRoutes(config, node, undefined, "internal") : undefined,
    async start() {
      for (const { plugin } of plugins) {
        if (!plugin.setup) continue;
        try {
          const teardown = await plugin.setup(contexts.get(plugin.name)!);
          if (typeof teardown === "function") teardowns.push({ plugin: plugin.name, fn: teardown });
        } catch (err) {
          await runTeardowns();
          throw new Error(
            `Cannot start plugin "${plugin.name}": setup failed: ${(err as Error)?.message ?? err}`,
          );
        }
      }
      warnUnusedRefreshHooks(plugins, hooks, logger);
      await node.start();
    },
    ready: () => hooks.app("onReady", (name) => contexts.get(name)),
    async close() {
      simple?.closeAll();
      node.disconnectAll();
      shutdown.abort();
      await hooks.app("onClose", (name) => contexts.get(name), true);
      await node.close();
      await runTeardowns();
    },
  };
}

/**
 * Routes of one listener: "public" = connection endpoints, "internal" = server API, metrics and
 * health (Centrifugo's internal endpoints), "all" = both on one listener.
 */
function buildRoutes(
  config: Config,
  node: Node,
  simple: SimpleSseStreams | undefined,
  scope: "all" | "public" | "internal",
  withDemoPage = false,
): SluiceServer["fetch"] {
  const app = new Hono<Env>();
  if (withDemoPage && scope !== "internal") {
    app.get("/", () => demoPage(config));
    let sdk: Promise<string> | undefined;
    app.get("/_sluice/centrifuge.js", async () => {
      sdk ??= getRuntime().then((r) => r.sdkBrowserBuild());
      return new Response(await sdk, {
        headers: {
          "Content-Type": "text/javascript; charset=utf-8",
          "Cache-Control": "public, max-age=3600",
        },
      });
    });
  }
  const at = (prefix: string) => prefix || "/";
  if (scope !== "public") {
    if (config.health) app.get(at(config.health_handler_prefix), () => healthHandler(node));
    if (config.prometheus) {
      app.get(
        at(config.prometheus_handler_prefix),
        async () =>
          new Response(await node.renderMetrics(), {
            headers: { "Content-Type": node.metrics.contentType },
          }),
      );
    }
  }
  // Centrifugo's admin is an internal endpoint too, unless admin_external.
  const adminHere = config.admin &&
    (scope === "all" || (scope === "public" ? config.admin_external : !config.admin_external));
  if (adminHere) {
    const admin = new AdminSite(config, node);
    for (const route of admin.routes) {
      app.all(route, routed((req, conn) => admin.handle(req, conn)));
    }
  }
  // Connection endpoints are also reached by exact path before the router (the connect hot path).
  const exact = new Map<string, Handler>();
  if (scope !== "internal") mountConnectionEndpoints(app, exact, config, node, simple);
  if (scope !== "public" && !config.api_disable) {
    app.all(
      `${config.api_handler_prefix}/:method`,
      (c) => apiHandler(c.req.raw, node, c.req.param("method")),
    );
    // Centrifugo's legacy single endpoint, at the prefix itself (not at `/`: that is everyone's)
    if (config.api_handler_prefix !== "") {
      app.all(config.api_handler_prefix, (c) => legacyApiHandler(c.req.raw, node));
    }
  }
  app.notFound((c) => notFound(config, c.req.path));
  // One answer to a handler that throws, whether the router or the exact-path dispatch ran it.
  const failed = (err: unknown) => {
    node.log.error("request failed", { err });
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
      return Promise.resolve(apiHandler(req, node, path.slice(apiPrefix.length)));
    }
    return Promise.resolve(app.fetch(req, { conn: conn ?? detachedConn() }));
  };
}

type Handler = (req: Request, conn: ConnInfo) => Response | Promise<Response>;

/** A handler as a router route: the request and the runtime's connection taken from the context. */
const routed = (handler: Handler) => (c: Context<Env>) => handler(c.req.raw, c.env?.conn ?? detachedConn());

/** Connection endpoints (and Simple SSE's `/events/`), with the Origin check and CORS. */
function mountConnectionEndpoints(
  app: Hono<Env>,
  exact: Map<string, Handler>,
  config: Config,
  node: Node,
  simple: SimpleSseStreams | undefined,
): void {
  const origins = new OriginPolicy(config.allowed_origins);
  const connection =
    (handler: TransportHandler, methods: string, cors = true): Handler => async (req, conn) => {
      const origin = req.headers.get("origin");
      if (!origins.allows(origin)) {
        node.log.info("request origin is not allowed", { origin, path: pathOf(req.url) });
        return textResponse(403, "Forbidden: origin not allowed");
      }
      // A WebSocket upgrade is checked above (403 before upgrading) and needs no CORS headers.
      if (!cors) return handler(req, node, conn);
      const corsHeaders = origins.corsHeaders(req, origin);
      // A preflight where the endpoint takes one (Centrifugo's SSE endpoints do not: 405 there).
      if (req.method === "OPTIONS" && methods.includes("OPTIONS")) {
        return new Response(null, {
          status: 204,
          headers: {
            ...corsHeaders,
            "Access-Control-Max-Age": "300",
            "Access-Control-Allow-Methods": methods,
          },
        });
      }
      const res = await handler(req, node, conn);
      for (const k in corsHeaders) res.headers.set(k, corsHeaders[k]);
      return res;
    };
  /**
   * On the router (encoded variants of the path behave as before) and by exact path — except `/`
   * (an empty prefix), where dev mode's page, registered earlier, must keep winning.
   */
  const mount = (path: string, handler: Handler) => {
    app.all(path, routed(handler));
    if (path !== "/") exact.set(path, handler);
  };
  const at = (prefix: string) => prefix || "/";
  if (!config.websocket_disable) {
    mount(at(config.websocket_handler_prefix), connection(websocketHandler, "GET", false));
  }
  if (config.uni_websocket) {
    mount(at(config.uni_websocket_handler_prefix), connection(uniWebsocketHandler, "GET", false));
  }
  if (config.http_stream) {
    mount(at(config.http_stream_handler_prefix), connection(httpStreamHandler, "POST, OPTIONS"));
  }
  if (config.sse) mount(at(config.sse_handler_prefix), connection(sseHandler, "GET, POST"));
  if (config.uni_sse) mount(at(config.uni_sse_handler_prefix), connection(uniSseHandler, "GET, POST"));
  if (config.uni_http_stream) {
    mount(at(config.uni_http_stream_handler_prefix), connection(uniHttpStreamHandler, "POST, OPTIONS"));
  }
  if (config.sse || config.http_stream) {
    mount(
      at(config.emulation_handler_prefix),
      connection((req) => emulationHandler(req, node), "POST, OPTIONS"),
    );
  }
  if (simple) {
    // The original has no Origin policy; here `/events/` follows allowed_origins like every stream.
    const events = connection((req, _node, conn) => simple.events(req, conn), "GET, POST, OPTIONS");
    mount("/events", events);
    app.all("/events/*", routed(events));
  }
}

/** A refresh hook is only called once some plugin chose server-side refresh in `setup`. */
function warnUnusedRefreshHooks(plugins: readonly LoadedPlugin[], hooks: HookRunner, logger: Logger): void {
  for (const { plugin } of plugins) {
    const unused = [
      plugin.onRefresh && !hooks.serverRefresh.connections ? ["onRefresh", "connections"] : undefined,
      plugin.onSubRefresh && !hooks.serverRefresh.subscriptions
        ? ["onSubRefresh", "subscriptions"]
        : undefined,
    ];
    for (const pair of unused) {
      if (!pair) continue;
      logger.warn(
        `${pair[0]} is never called: clients refresh their own tokens unless a plugin calls ` +
          `ctx.refreshOnServer("${pair[1]}") in setup`,
        { plugin: plugin.name, hook: pair[0] },
      );
    }
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
