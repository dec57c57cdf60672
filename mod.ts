/**
 * @module
 * Sluice's public API. Importing this module never starts a server; running it does
 * (`deno run -A mod.ts`, `bun mod.ts`).
 *
 * Plugin authors need `definePlugin`, `ClientError`, `Disconnect` and, for tests,
 * `createTestServer`.
 */
export { createServer } from "./src/server.ts";
export type { ServerOptions, SluiceServer } from "./src/server.ts";
export { defaultConfig, loadConfig } from "./src/config.ts";
export type { ChannelOptions, Config, NamespaceConfig } from "./src/config.ts";
export { ClientError, Disconnect, DisconnectCode, ErrorCode } from "./src/errors.ts";
export type { Broker, BrokerEventHandler, Controller, PresenceManager } from "./src/broker/broker.ts";
export { MemoryBroker, MemoryController, MemoryPresenceManager } from "./src/broker/memory.ts";
export { definePlugin } from "./src/plugins/define.ts";
export { loadPlugins, pluginEntries } from "./src/plugins/loader.ts";
export type * from "./src/plugins/types.ts";
export { createTestServer, TestConnectError } from "./src/testing.ts";
export type { TestClient, TestConnectOptions, TestServer, TestServerOptions } from "./src/testing.ts";
export { createLogger } from "./src/log.ts";
export type { Logger } from "./src/log.ts";
export { VERSION } from "./src/version.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli.ts");
  const { getRuntime } = await import("./src/runtime/serve.ts");
  const runtime = await getRuntime();
  const code = await main(runtime.args());
  runtime.exit(code);
}
