/**
 * Starts a real Sluice server on a loopback port for a test, with a config written the way users
 * write it (durations as strings), and captures its log lines.
 */
import type { TestContext } from "../harness.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { createServer, listenerLimits, type SluiceServer } from "../../src/server.ts";
import { createLogger, type LogLevel } from "../../src/log.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import type { Node } from "../../src/core/node.ts";
import { loadPlugins, pluginEntries } from "../../src/plugin_api/loader.ts";
import type { Plugin } from "../../src/plugin_api/types.ts";
import { shippedPlugins } from "../../plugins/mod.ts";

export const SECRET = "test-secret-key-0123456789";
export const API_KEY = "test-api-key";

export interface TestServer {
  server: SluiceServer;
  node: Node;
  url: string;
  port: number;
  logs: string[];
  /** Parsed JSON log lines. */
  logEntries(): Array<Record<string, unknown>>;
  api(method: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Calls the API and returns the parsed JSON body. */
  apiJson(method: string, body: unknown): Promise<Record<string, unknown>>;
}

/** Base config for tests: both bidirectional transports, HMAC tokens, an API key. */
export const baseConfig = {
  sse: true,
  http_stream: true,
  token_hmac_secret_key: SECRET,
  api_key: API_KEY,
  allowed_origins: ["http://allowed.example"],
};

/**
 * Starts a server. Plugins in `config.plugins` (and Centrifugo's proxy keys) are loaded as the CLI
 * loads them; `extraPlugins` adds plugin objects directly. `now` is the server's clock (a
 * `ManualClock`'s, to move expiries along without waiting).
 */
export async function startServer(
  t: TestContext,
  config: Record<string, unknown> = {},
  extraPlugins: Plugin[] = [],
  opts: { now?: () => number } = {},
): Promise<TestServer> {
  const runtime = await getRuntime();
  const { config: cfg } = loadConfig({ file: { ...baseConfig, ...config } });
  const loaded = await loadPlugins(pluginEntries(cfg), {
    pluginsDir: cfg.plugins_dir,
    config: cfg,
    shipped: shippedPlugins,
  });
  const logs: string[] = [];
  const level = (runtime.env().SLUICE_TEST_LOG as LogLevel | undefined) ?? "debug";
  const echo = !!runtime.env().SLUICE_TEST_LOG;
  const logger = createLogger({
    level,
    format: "json",
    write: (line) => {
      logs.push(line);
      if (logs.length > 5000) logs.shift();
      if (echo) console.error(line);
    },
  });
  const server = createServer(cfg, {
    logger,
    plugins: [...loaded, ...extraPlugins],
    now: opts.now,
    hmac: runtime.hmac,
  });
  await server.start();
  const listener = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: (req, conn) => server.fetch(req, conn),
    ...listenerLimits(cfg),
    log: logger,
  });
  const url = `http://127.0.0.1:${listener.port}`;
  t.onFailure(() =>
    `    --- last server log lines (${url}) ---\n${logs.slice(-40).map((l) => "    " + l).join("\n")}`
  );
  t.cleanup(async () => {
    await server.close();
    await listener.close(true);
  });
  await server.ready();
  const api = (method: string, body: unknown, headers: Record<string, string> = { "X-API-Key": API_KEY }) =>
    fetch(`${url}/api/${method}`, { method: "POST", headers, body: JSON.stringify(body) });
  return {
    server,
    node: server.node,
    url,
    port: listener.port,
    logs,
    logEntries: () => logs.map((l) => JSON.parse(l)),
    api,
    async apiJson(method, body) {
      const res = await api(method, body);
      if (res.status !== 200) throw new Error(`API ${method} answered ${res.status}: ${await res.text()}`);
      return await res.json();
    },
  };
}
