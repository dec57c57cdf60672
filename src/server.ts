/**
 * @module
 * `createServer(config, {plugins})` builds a node and a Web-standard `fetch(Request) → Response`
 * handler: the endpoints (transports, server API, admin, Simple SSE) bound to the node and handed
 * to the router (http/router.ts), which mounts those the config turns on. It never listens
 * itself: the CLI hands `fetch` to the runtime adapter, and tests may call it directly.
 *
 * Lifecycle: `start()` runs plugin `setup`s in order (a throw stops boot, naming the plugin) and
 * starts the broker side; `ready()` runs `onReady` hooks once listening; `close()` disconnects every
 * client (3001), runs `onClose` hooks and setup teardowns in reverse order, then closes the broker.
 */
import type { Config } from "./config/mod.ts";
import { Node, type NodeOptions } from "./core/node.ts";
import type { ConnInfo, ListenOptions } from "./runtime/types.ts";
import { buildRoutes, type Endpoints } from "./http/router.ts";
import { sseHandler } from "./transports/sse.ts";
import { httpStreamHandler } from "./transports/http_stream.ts";
import { demoPage, sdkScript } from "./api/demo_page.ts";
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
import { HookRunner } from "./plugin_api/runner.ts";
import { checkPlugins, type LoadedPlugin } from "./plugin_api/loader.ts";
import { validatePlugin } from "./plugin_api/define.ts";
import { nodeFacade } from "./plugin_api/facade.ts";
import type { Plugin, PluginContext, PluginProvides, Teardown } from "./plugin_api/types.ts";

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
): Pick<ListenOptions, "idleTimeoutMs" | "maxWebSocketMessageBytes"> {
  return {
    idleTimeoutMs: config.http_idle_timeout,
    maxWebSocketMessageBytes: Math.max(
      config.websocket_message_size_limit,
      config.uni_websocket_message_size_limit,
    ),
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
    now: opts.now,
    hmac: opts.hmac,
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

  const endpoints = endpointsOf(config, node, simple, opts.demoPage === true);

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
    fetch: buildRoutes(config, endpoints, config.internal_port > 0 ? "public" : "all", node.log),
    controlFetch: simpleControl ? (req) => simpleControl.handle(req) : undefined,
    internalFetch: config.internal_port > 0
      ? buildRoutes(config, endpoints, "internal", node.log)
      : undefined,
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

/** What the routes call: the transports and the server API, each bound to this server's node. */
function endpointsOf(
  config: Config,
  node: Node,
  simple: SimpleSseStreams | undefined,
  withDevPage: boolean,
): Endpoints {
  return {
    websocket: (req, conn) => websocketHandler(req, node, conn),
    uniWebsocket: (req, conn) => uniWebsocketHandler(req, node, conn),
    httpStream: (req, conn) => httpStreamHandler(req, node, conn),
    sse: (req, conn) => sseHandler(req, node, conn),
    uniSse: (req, conn) => uniSseHandler(req, node, conn),
    uniHttpStream: (req, conn) => uniHttpStreamHandler(req, node, conn),
    emulation: (req) => emulationHandler(req, node),
    simpleSseEvents: simple && ((req, conn) => simple.events(req, conn)),
    api: (req, method) => apiHandler(req, node, method),
    legacyApi: (req) => legacyApiHandler(req, node),
    health: () => healthHandler(node),
    metrics: async () =>
      new Response(await node.renderMetrics(), { headers: { "Content-Type": node.metrics.contentType } }),
    admin: config.admin ? new AdminSite(config, node) : undefined,
    devPage: withDevPage ? { page: () => demoPage(config), sdkScript: sdkScript() } : undefined,
  };
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
