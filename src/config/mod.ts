/**
 * @module
 * Sluice's configuration: one spec table (`spec.ts`) from which the `Config` type is derived,
 * loading in layers (`load.ts`), rules between keys (`validate.ts`), units (`units.ts`) and the
 * Centrifugo compatibility mapping — older names, v6's nested form, keys that enable shipped
 * plugins (`compat.ts`). Failures are `ConfigError`s naming the key.
 */
export type { ChannelOptions, Config, KeySpec, NamespaceConfig } from "./spec.ts";
export { defaultConfig, devModeDefaults, LOG_LEVELS, topLevelChannelOptions } from "./spec.ts";
export { isKnownConfigKey, loadConfig } from "./load.ts";
export type { LoadConfigInput, LoadedConfig } from "./load.ts";
export { ConfigError } from "./errors.ts";
export type { ConfigWarning } from "./errors.ts";
export { parseBool, parseDuration, parseHostPort } from "./units.ts";
export { authWarning } from "./validate.ts";
export { connectProxyOptions, withImpliedPlugins } from "./compat.ts";
