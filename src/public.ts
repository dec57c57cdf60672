/**
 * @module
 * Sluice's public API: what `import { definePlugin, ClientError, Disconnect } from "sluice"` gives a
 * plugin, wherever its file lives, on Deno, on Bun and in the compiled binary (Deno resolves
 * "sluice" through the import map in `deno.json`, Bun and the binary through
 * `src/runtime/bun/specifier.ts`). `mod.ts` re-exports it and, when run, starts the CLI.
 */
export { createServer } from "./server.ts";
export type { ServerOptions, SluiceServer } from "./server.ts";
export { defaultConfig, loadConfig } from "./config/mod.ts";
export type { ChannelOptions, Config, NamespaceConfig } from "./config/mod.ts";
export { ClientError, Disconnect, DisconnectCode, ErrorCode } from "./errors.ts";
export type {
  Broker,
  BrokerEventHandler,
  ControlHandler,
  Controller,
  ControlMessage,
  HistoryOptions,
  HistoryResult,
  PresenceManager,
  PresenceStats,
  PublishOptions,
  PublishResult as BrokerPublishResult,
} from "./broker/broker.ts";
export { MemoryBroker, MemoryController, MemoryPresenceManager } from "./broker/memory.ts";
export { definePlugin } from "./plugin_api/define.ts";
export { loadPlugins, pluginEntries } from "./plugin_api/loader.ts";
export type * from "./plugin_api/types.ts";
export { createTestServer, TestConnectError } from "./testing.ts";
export type { TestClient, TestConnectOptions, TestServer, TestServerOptions } from "./testing.ts";
export { createLogger } from "./log.ts";
export type { Logger } from "./log.ts";
export { VERSION } from "./version.ts";

// For plugins that implement a broker or speak Centrifugo's proxy protocol (the shipped ones do).
export type { ClientInfo, Publication, Raw, StreamPosition } from "./wire/protocol.ts";
export { encodeClientInfo, encodePublication } from "./wire/json.ts";
export { OVERRIDE_KEYS, parseOverride } from "./wire/override.ts";
export type { SubscribeOverride } from "./wire/override.ts";
export { connectProxyOptions, parseDuration } from "./config/mod.ts";
