/**
 * A real Sluice server on a loopback port with plugins loaded the way the CLI loads them
 * (`loadPlugins(pluginEntries(config), {pluginsDir})`), for end-to-end plugin tests with the SDK.
 * Returns the same shape as `startServer` (helpers/server.ts), so `sdk()` works with it.
 */
import type { TestContext } from "../harness.ts";
import { loadConfig } from "../../src/config.ts";
import { createServer } from "../../src/server.ts";
import { createLogger } from "../../src/log.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import { loadPlugins, pluginEntries } from "../../src/plugins/loader.ts";
import type { Plugin } from "../../src/plugins/types.ts";
import { API_KEY, baseConfig, type TestServer } from "../helpers/server.ts";

export interface PluginServerOptions {
  /** Where plugin names that are not shipped resolve (default: the config's `plugins_dir`). */
  pluginsDir?: string;
  /** Plugin objects added after the configured ones (programmatic use). */
  extra?: Plugin[];
}

export async function startPluginServer(
  t: TestContext,
  config: Record<string, unknown>,
  opts: PluginServerOptions = {},
): Promise<TestServer> {
  const runtime = await getRuntime();
  const { config: cfg } = loadConfig({ file: { ...baseConfig, ...config } });
  const logs: string[] = [];
  const echo = !!runtime.env().SLUICE_TEST_LOG;
  const logger = createLogger({
    level: "debug",
    format: "json",
    write: (line) => {
      logs.push(line);
      if (logs.length > 5000) logs.shift();
      if (echo) console.error(line);
    },
  });
  const loaded = await loadPlugins(pluginEntries(cfg), { pluginsDir: opts.pluginsDir ?? cfg.plugins_dir });
  const server = createServer(cfg, { plugins: [...loaded, ...(opts.extra ?? [])], logger });
  await server.start();
  const listener = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: (req, conn) => server.fetch(req, conn),
  });
  await server.ready();
  const url = `http://127.0.0.1:${listener.port}`;
  t.onFailure(() =>
    `    --- last server log lines (${url}) ---\n${logs.slice(-40).map((l) => "    " + l).join("\n")}`
  );
  t.cleanup(async () => {
    await server.close();
    await listener.close(true);
  });
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
