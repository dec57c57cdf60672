/**
 * @module
 * The `sluice` command line: `serve` (default) and `version`. Flags are parsed with
 * `node:util` parseArgs; single-dash long flags (`-port 9000`, the Simple SSE Server's style) are
 * accepted too. Errors print one clear line and exit non-zero.
 */
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { authWarning, type Config, type ConfigWarning, loadConfig, parseHostPort } from "./config/mod.ts";
import { createLogger, type Logger } from "./log.ts";
import { needsBrokerMessage, stopWithParent, supervise, workerCount, workerPlace } from "./workers.ts";
import { createServer, listenerLimits, type SluiceServer } from "./server.ts";
import { loadPlugins, pluginEntries, type ShippedPlugins } from "./plugin_api/loader.ts";
import type { PluginSources } from "./cli_tools.ts";
import { getRuntime, type Listener, type Runtime } from "./runtime/serve.ts";
import { VERSION } from "./version.ts";
import {
  checkconfigCommand,
  checktokenCommand,
  CliError,
  configPath,
  genconfigCommand,
  gentokenCommand,
  normalizeFlags,
  randomSecret,
  readConfigFile,
} from "./cli_tools.ts";

export { CliError, normalizeFlags };

const SERVE_HELP = `Usage: sluice [serve] [options]

Starts Sluice with --config FILE, or ./config.json when it exists. With neither it runs in dev
mode: every transport on, a random HMAC secret and API key, and a ready token printed.

Options:
  --config FILE        Centrifugo v5-style JSON config (flat keys)
  --port N             port to listen on (overrides the config; default 8000)
  --address ADDR       address to bind (default: all interfaces)
  --log_level LEVEL    trace | debug | info | warn | error | none
  --workers N|auto     N processes on the same port (auto: one per core); needs Redis (redis_broker)
  --bind ADDR:PORT     Simple SSE Server mode: client listener (/events/), e.g. 127.0.0.1:8000
  --bindctl ADDR:PORT  Simple SSE Server mode: private control listener (/token/, /emit/);
                       default 127.0.0.1:8001
  --secret KEY         Simple SSE Server mode: HMAC key for tokens
  -h, --help           show this help

Single-dash forms work too (-bind, -bindctl, -secret, -port, -config).

Environment: SLUICE_<KEY> overrides the config file (e.g. SLUICE_TOKEN_HMAC_SECRET_KEY).`;

const MAIN_HELP = `Usage: sluice <command> [options]

Commands:
  serve        start the server (default)
  genconfig    write a starter config.json with random secrets
  gentoken     print a connection token for a user
  checktoken   verify a token and print its claims
  checkconfig  validate the config
  version      print the version

Run "sluice <command> --help" for a command's options.`;

/**
 * Entry point used by `mod.ts`; returns the process exit code (serve only returns on failure).
 * `shipped` is the registry of bundled plugins (`plugins/mod.ts`), handed in from above `src/`.
 */
export async function main(argv: string[], opts: { shipped?: ShippedPlugins } = {}): Promise<number> {
  const plugins: PluginSources = { shipped: opts.shipped, publicApi: () => import("./public.ts") };
  const runtime = await getRuntime();
  try {
    const [first, ...rest] = argv;
    const isCommand = first !== undefined && !first.startsWith("-");
    const command = isCommand ? first : "serve";
    const args = isCommand ? rest : argv;
    switch (command) {
      case "serve":
        return await serveCommand(runtime, args, plugins);
      case "genconfig":
        return await genconfigCommand(runtime, args);
      case "gentoken":
        return await gentokenCommand(runtime, args);
      case "checktoken":
        return await checktokenCommand(runtime, args);
      case "checkconfig":
        return await checkconfigCommand(runtime, args, plugins);
      case "version":
        if (args.includes("--help") || args.includes("-h")) {
          console.log("Usage: sluice version\n\nPrints the version and the runtime.");
          return 0;
        }
        console.log(`sluice ${VERSION} (${runtime.name} ${runtime.version})`);
        return 0;
      case "help":
        console.log(MAIN_HELP);
        return 0;
      default:
        throw new CliError(`unknown command "${command}"; run "sluice help"`);
    }
  } catch (err) {
    console.error(`sluice: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

interface ServeFlags {
  config?: string;
  port?: string;
  address?: string;
  log_level?: string;
  workers?: string;
  bind?: string;
  bindctl?: string;
  secret?: string;
  help?: boolean;
}

export function parseServeFlags(args: string[]): ServeFlags {
  try {
    const { values } = parseArgs({
      args: normalizeFlags(args),
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        address: { type: "string", short: "a" },
        log_level: { type: "string" },
        workers: { type: "string" },
        bind: { type: "string" },
        bindctl: { type: "string" },
        secret: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    return values as ServeFlags;
  } catch (err) {
    throw new CliError(`${(err as Error).message}; run "sluice serve --help"`);
  }
}

export interface PreparedServe {
  config: Config;
  warnings: ConfigWarning[];
  dev: boolean;
  /** Secrets generated for dev mode (printed once at startup). */
  generated: { secret?: string; apiKey?: string; adminPassword?: string };
  /** The config file read, if any (said at startup: `./config.json` is picked up silently otherwise). */
  path?: string;
}

/** Builds the config for `serve` from flags, the config file and the environment. */
export async function prepareServe(runtime: Runtime, flags: ServeFlags): Promise<PreparedServe> {
  const path = configPath(flags.config);
  const file = path === undefined ? undefined : await readConfigFile(runtime, path);
  // The Simple SSE Server's flags alone run Sluice as its drop-in replacement (no dev mode).
  const simple = flags.bind !== undefined || flags.bindctl !== undefined || flags.secret !== undefined;
  const dev = path === undefined && !simple;
  const flagValues: Record<string, unknown> = {};
  if (simple) {
    flagValues.simple_sse = true;
    if (flags.bind !== undefined) {
      const { hostname, port } = parseHostPort("-bind", flags.bind);
      flagValues.address = hostname;
      flagValues.port = port;
    }
    if (flags.bindctl !== undefined) flagValues.simple_sse_control_address = flags.bindctl;
    if (flags.secret !== undefined) flagValues.simple_sse_secret = flags.secret;
  }
  if (flags.port !== undefined) {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new CliError(`--port must be 0-65535, got "${flags.port}"`);
    }
    flagValues.port = port;
  }
  if (flags.address !== undefined) flagValues.address = flags.address;
  if (flags.log_level !== undefined) flagValues.log_level = flags.log_level;
  if (flags.workers !== undefined) {
    flagValues.workers = /^\d+$/.test(flags.workers) ? Number(flags.workers) : flags.workers;
  }
  // Dev mode's admin page needs a password before the config is validated; printed if kept.
  const devGenerated = { admin_password: randomSecret(), admin_secret: randomSecret() };
  const { config, warnings } = loadConfig({
    file,
    fileName: path,
    env: runtime.env(),
    flags: flagValues,
    dev,
    devGenerated,
  });
  const generated: PreparedServe["generated"] = {};
  if (dev) {
    const hasKey = config.token_hmac_secret_key || config.token_rsa_public_key ||
      config.token_ecdsa_public_key ||
      config.token_jwks_public_endpoint;
    if (!hasKey) config.token_hmac_secret_key = generated.secret = randomSecret();
    if (!config.api_key && !config.api_insecure) config.api_key = generated.apiKey = randomSecret();
    if (config.admin && config.admin_password === devGenerated.admin_password) {
      generated.adminPassword = config.admin_password;
    }
  }
  return { config, warnings, dev, generated, path };
}

async function serveCommand(runtime: Runtime, args: string[], sources: PluginSources): Promise<number> {
  const flags = parseServeFlags(args);
  if (flags.help) {
    console.log(`${SERVE_HELP}\n\n${MAIN_HELP.slice(MAIN_HELP.indexOf("Commands:"))}`);
    return 0;
  }
  const prepared = await prepareServe(runtime, flags);
  const { config } = prepared;
  const place = workerPlace(runtime.env());
  if (place) {
    // The supervisor chose the port once for all (`--port 0` included) and names the workers.
    config.port = place.port;
    config.name = `${config.name || runtime.hostname()}/w${place.id}`;
  }
  const logger = createLogger(
    { level: config.log_level, format: config.log_format },
    place ? { worker: place.id } : {},
  );
  if (prepared.path && !place) logger.info("config loaded", { path: prepared.path });
  for (const w of place ? [] : prepared.warnings) logger.warn(w.message, { key: w.key });
  const plugins = await loadPlugins(pluginEntries(config), {
    pluginsDir: config.plugins_dir,
    config,
    ...sources,
  });
  const count = workerCount(config.workers, runtime.cpuCount());
  if (!place && count > 1) {
    if (!plugins.some((p) => p.plugin.provides?.broker)) throw new CliError(needsBrokerMessage(count));
    const port = config.port === 0 ? await freePort(runtime, config.address || "0.0.0.0") : config.port;
    return await supervise(runtime, {
      count,
      port,
      shutdownMs: (Math.max(1, config.shutdown_timeout) + 5) * 1000,
      logger,
    });
  }
  if (plugins.length > 0 && !place) {
    logger.info("plugins loaded", { plugins: plugins.map((p) => p.plugin.name) });
  }
  const noAuth = authWarning(config, plugins.some((p) => typeof p.plugin.onConnecting === "function"));
  if (noAuth && !place) logger.warn(noAuth.message, { key: noAuth.key });
  const server = createServer(config, {
    logger,
    plugins,
    demoPage: prepared.dev,
    worker: place ? { group: place.group, name: config.name } : undefined,
    hmac: runtime.hmac,
  });
  await server.start();
  const limits = { ...listenerLimits(config), reusePort: place !== undefined, log: logger };
  const tls = config.tls_cert ? await readTls(runtime, config.tls_cert, config.tls_key) : undefined;
  const listener = await runtime.listen({
    port: config.port,
    hostname: config.address || "0.0.0.0",
    handler: (req, conn) => server.fetch(req, conn),
    ...limits,
    tls,
  });
  logger.info(place ? "worker serving" : "sluice started", {
    version: VERSION,
    runtime: `${runtime.name} ${runtime.version}`,
    address: `${config.address || "0.0.0.0"}:${listener.port}`,
    tls: tls !== undefined,
    node: server.node.id,
  });
  const listeners = [listener];
  if (server.internalFetch) {
    const internal = server.internalFetch;
    const hostname = config.internal_address || "127.0.0.1";
    const intListener = await runtime.listen({
      port: config.internal_port,
      hostname,
      handler: (req, conn) => internal(req, conn),
      ...limits,
    });
    listeners.push(intListener);
    logger.info("internal listener started (server API, metrics, health)", {
      address: `${hostname}:${intListener.port}`,
    });
  }
  if (server.controlFetch) {
    const ctl = parseHostPort("simple_sse_control_address", config.simple_sse_control_address);
    const control = server.controlFetch;
    const ctlListener = await runtime.listen({
      port: ctl.port,
      hostname: ctl.hostname || "127.0.0.1",
      handler: (req) => control(req),
      ...limits,
    });
    listeners.push(ctlListener);
    logger.info("simple sse control listener started", {
      address: `${ctlListener.hostname}:${ctlListener.port}`,
    });
  }
  await server.ready();
  if (prepared.dev) console.log(await devBanner(config, listener, prepared.generated));
  // A worker gets the supervisor's SIGTERM right after the terminal's SIGINT (Ctrl-C reaches the
  // whole process group): only a lone process treats a second signal as "exit now".
  const stop = installShutdown(runtime, server, listeners, logger, !place);
  if (place) stopWithParent(stop);
  await new Promise(() => {}); // serve until a signal ends the process
  return 0;
}

/** Stops gracefully on SIGINT / SIGTERM; returns the stop function (a second call exits at once). */
function installShutdown(
  runtime: Runtime,
  server: SluiceServer,
  listeners: Listener[],
  logger: Logger,
  secondSignalExits = true,
): () => void {
  let stopping = false;
  const stop = async () => {
    if (stopping) {
      if (secondSignalExits) runtime.exit(1); // a second signal exits at once
      return;
    }
    stopping = true;
    logger.info("shutting down");
    const deadline = setTimeout(() => {
      logger.warn("shutdown timed out");
      runtime.exit(1);
    }, Math.max(1, server.config.shutdown_timeout) * 1000);
    try {
      // Stop accepting first, then tell every stream to reconnect (3001; elsewhere, or here once
      // restarted), then let the listeners go.
      const closing = Promise.all(listeners.map((l) => l.close(false)));
      await server.close();
      await Promise.race([closing, new Promise((r) => setTimeout(r, 2_000))]);
      await Promise.all(listeners.map((l) => l.close(true)));
    } finally {
      clearTimeout(deadline);
    }
    logger.info("sluice stopped");
    runtime.exit(0);
  };
  runtime.onSignal("SIGINT", stop);
  runtime.onSignal("SIGTERM", stop);
  return stop;
}

/** A port free right now on `hostname`, for workers started with port 0 (they must share one). */
async function freePort(runtime: Runtime, hostname: string): Promise<number> {
  const probe = await runtime.listen({ port: 0, hostname, handler: () => new Response(null) });
  await probe.close(true);
  return probe.port;
}

/** What a newcomer needs to see a message arrive: a token, a stream to watch, a publish line. */
async function devBanner(
  config: Config,
  listener: Listener,
  generated: PreparedServe["generated"],
): Promise<string> {
  const base = `http://localhost:${listener.port}`;
  const lines = [
    "",
    `Sluice ${VERSION} is running in dev mode (no --config): every transport is on.`,
    `  URL:          ${base}   (open it in a browser: a live page on channel news)`,
  ];
  if (generated.secret) lines.push(`  HMAC secret:  ${generated.secret}   (token_hmac_secret_key)`);
  if (generated.apiKey) lines.push(`  API key:      ${generated.apiKey}   (api_key)`);
  if (config.admin && !config.admin_external && config.internal_port > 0) {
    lines.push(
      `  Admin:        on the internal port ${config.internal_port}, at ${
        config.admin_handler_prefix || "/"
      }`,
    );
  } else if (config.admin) {
    const password = generated.adminPassword ? `   (password ${generated.adminPassword})` : "";
    lines.push(`  Admin:        ${base}${config.admin_handler_prefix || "/"}${password}`);
  }
  lines.push(
    `  SDK:          new Centrifuge("${
      base.replace("http", "ws")
    }${config.websocket_handler_prefix}", { token })`,
  );
  if (config.token_hmac_secret_key) {
    const token = await new SignJWT({ sub: "dev-user" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("24h")
      .sign(new TextEncoder().encode(config.token_hmac_secret_key));
    // A unidirectional stream: curl cannot answer the pings a bidirectional one expects.
    const connect = JSON.stringify({ token, subs: { news: {} } });
    lines.push(
      `  Token:        ${token}   (user "dev-user", valid 24h)`,
      "",
      "Watch channel news (one JSON line per message):",
      `  curl -N -X POST ${base}${config.uni_http_stream_handler_prefix} -d '${connect}'`,
    );
    if (generated.secret) {
      lines.push(
        "",
        "Mint more tokens with `sluice gentoken` (from a checkout: npx bun mod.ts gentoken) after:",
        `  export SLUICE_TOKEN_HMAC_SECRET_KEY=${generated.secret}`,
      );
    }
  }
  const key = config.api_key ? ` -H "X-API-Key: ${config.api_key}"` : "";
  lines.push(
    "",
    "Publish to it from another terminal:",
    `  curl -X POST ${base}${config.api_handler_prefix}/publish${key} -d '{"channel":"news","data":{"text":"hello"}}'`,
    "",
  );
  return lines.join("\n");
}

/** The PEM files of `tls_cert` / `tls_key`; a missing or unreadable file stops startup, naming it. */
async function readTls(
  runtime: Runtime,
  certPath: string,
  keyPath: string,
): Promise<{ cert: string; key: string }> {
  const read = async (key: string, path: string) => {
    try {
      return await runtime.readTextFile(path);
    } catch (err) {
      throw new CliError(`cannot read ${key} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: await read("tls_cert", certPath), key: await read("tls_key", keyPath) };
}
