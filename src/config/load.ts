/**
 * @module
 * Loading a config in layers, lowest first: defaults ← dev-mode defaults (no config file) ←
 * config file (Centrifugo v5's flat keys or v6's nested form) ← `SLUICE_*` environment ←
 * command-line flags. Unknown keys warn with the closest known key; invalid values throw a
 * `ConfigError` naming the key as it was given.
 */
import {
  ALL_SPECS,
  CHANNEL_OPTION_SPECS,
  type Config,
  defaultChannelOptions,
  defaultConfig,
  devModeDefaults,
  type KeySpec,
  type NamespaceConfig,
  specOf,
} from "./spec.ts";
import {
  aliasOf,
  CHANNEL_OPTION_NAMES,
  type FlatEntry,
  flattenV6,
  isV6,
  LEGACY_NAMESPACE_KEYS,
} from "./compat.ts";
import { ConfigError, type ConfigWarning } from "./errors.ts";
import { parseBool, parseDuration } from "./units.ts";
import { validate } from "./validate.ts";
import { retire, RETIRED_KEYS } from "./retired.ts";
import { didYouMean } from "../did_you_mean.ts";

export interface LoadConfigInput {
  /** Parsed JSON of the config file, if one was given. */
  file?: unknown;
  /** Where the file came from, for messages. */
  fileName?: string;
  /** Environment variables; only `SLUICE_*` ones are read. */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, already keyed by config key. */
  flags?: Record<string, unknown>;
  /** Layer `devModeDefaults()` under everything else. */
  dev?: boolean;
  /**
   * Secrets for dev mode's admin page, layered with its defaults (the CLI prints the password);
   * fresh random ones when not given.
   */
  devGenerated?: Partial<Config>;
}

export interface LoadedConfig {
  config: Config;
  warnings: ConfigWarning[];
  /** "v5" (flat keys) or "v6" (nested sections) when a file was given. */
  form?: "v5" | "v6";
}

/** What "did you mean" offers: the keys, and the retired ones (a typo of one still finds it). */
const KNOWN_KEYS = [...Object.keys(ALL_SPECS), ...Object.keys(RETIRED_KEYS)];

/** Builds and validates a config from its layers. Throws a `ConfigError` on invalid values. */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const warnings: ConfigWarning[] = [];
  const config = defaultConfig() as Record<string, unknown>;
  if (input.dev) {
    Object.assign(config, structuredClone(devModeDefaults()), input.devGenerated ?? devSecrets());
  }
  let form: LoadedConfig["form"];

  if (input.file !== undefined) {
    const where = input.fileName ?? "config file";
    if (input.file === null || typeof input.file !== "object" || Array.isArray(input.file)) {
      throw new ConfigError("", `Invalid ${where}: expected a JSON object at the top level`);
    }
    const file = input.file as Record<string, unknown>;
    form = isV6(file) ? "v6" : "v5";
    const entries: FlatEntry[] = form === "v6"
      ? flattenV6(file, where, warnings)
      : Object.entries(file).map(([key, value]) => ({ key, value, label: key }));
    for (const { key: rawKey, value, label } of entries) {
      const key = aliasOf(rawKey);
      if (Object.hasOwn(RETIRED_KEYS, key)) {
        retire(key, label, value, warnings);
        continue;
      }
      const spec = specOf(key);
      if (!spec && Object.hasOwn(LEGACY_NAMESPACE_KEYS, rawKey)) {
        // Silently dropping a v3 permission key would change who may do what.
        throw new ConfigError(
          label,
          `Invalid config key "${label}" in ${where}: a Centrifugo v3 option; ${
            LEGACY_NAMESPACE_KEYS[rawKey]
          }`,
        );
      }
      if (!spec) {
        warnings.push({
          key: label,
          kind: "unknown",
          message: `unknown config key "${label}" in ${where} is ignored${didYouMean(rawKey, KNOWN_KEYS)}`,
        });
        continue;
      }
      config[key] = coerce(label, value, spec, warnings);
    }
  }

  for (const [name, raw] of Object.entries(input.env ?? {})) {
    if (!name.startsWith("SLUICE_") || raw === undefined || raw.trim() === "") continue; // empty = unset
    const rawKey = name.slice("SLUICE_".length).toLowerCase();
    const key = aliasOf(rawKey);
    if (Object.hasOwn(RETIRED_KEYS, key)) {
      retire(key, name, raw, warnings);
      continue;
    }
    const spec = specOf(key);
    if (!spec) {
      const hint = didYouMean(rawKey, KNOWN_KEYS);
      warnings.push({
        key: name,
        kind: "unknown",
        message: `unknown environment variable ${name} is ignored${
          hint.replace(/"([a-z0-9_]+)"/, (_m, k) => `SLUICE_${k.toUpperCase()}`)
        }`,
      });
      continue;
    }
    config[key] = coerce(name, fromEnvString(name, raw, spec), spec, warnings, raw);
  }

  for (const [key, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue;
    const spec = specOf(key);
    if (!spec) throw new ConfigError(`--${key}`, `Unknown flag --${key}`);
    config[key] = coerce(`--${key}`, value, spec, warnings);
  }

  const result = config as Config;
  validate(result);
  if (result.allowed_origins.includes("*") && !(input.dev && devModeDefaultsKept(input))) {
    warnings.push({
      key: "allowed_origins",
      kind: "advice",
      message: 'allowed_origins contains "*": every web page may connect on behalf of its visitors',
    });
  }
  return { config: result, warnings, form };
}

/** Whether dev mode's `allowed_origins: ["*"]` was left as is (so warning about it is noise). */
function devModeDefaultsKept(input: LoadConfigInput): boolean {
  const set = (o: unknown) => o !== null && typeof o === "object" && "allowed_origins" in (o as object);
  return !set(input.file) && !set(input.flags) && !input.env?.SLUICE_ALLOWED_ORIGINS;
}

function fromEnvString(name: string, raw: string, spec: KeySpec): unknown {
  switch (spec.kind) {
    case "bool":
      return parseBool(name, raw);
    case "int":
    case "int_or_auto":
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    case "strings":
      return raw.trim().startsWith("[") ? parseJson(name, raw) : raw.split(/\s+/).filter(Boolean);
    case "namespaces":
    case "object":
      return parseJson(name, raw);
    case "duration":
      return /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    default:
      return raw;
  }
}

function parseJson(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `Invalid ${name}: expected JSON, got ${JSON.stringify(raw)}`);
  }
}

/** `value` as the spec's type; `given` is the text the user typed (environment variables). */
function coerce(
  key: string,
  value: unknown,
  spec: KeySpec,
  warnings: ConfigWarning[],
  given?: string,
): unknown {
  const shown = given !== undefined ? JSON.stringify(given) : JSON.stringify(value);
  const fail = (expected: string): never => {
    throw new ConfigError(key, `Invalid config key "${key}": expected ${expected}, got ${shown}`);
  };
  switch (spec.kind) {
    case "bool":
      return typeof value === "boolean" ? value : fail("a boolean");
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) return fail("an integer");
      if (spec.min !== undefined && value < spec.min) {
        throw new ConfigError(key, `Invalid config key "${key}": must be at least ${spec.min}, got ${value}`);
      }
      if (spec.max !== undefined && value > spec.max) {
        throw new ConfigError(key, `Invalid config key "${key}": must be at most ${spec.max}, got ${value}`);
      }
      return value;
    }
    case "int_or_auto":
      if (value === "auto") return 0;
      if (typeof value !== "number" || !Number.isInteger(value)) return fail(`an integer or "auto"`);
      return coerce(key, value, { ...spec, kind: "int" }, warnings, given);
    case "string":
      return typeof value === "string" ? value : fail("a string");
    case "enum":
      return typeof value === "string" && spec.values!.includes(value)
        ? value
        : fail(`one of ${spec.values!.map((v) => JSON.stringify(v)).join(", ")}`);
    case "duration": {
      const ms = parseDuration(key, value);
      if (spec.min !== undefined && ms < spec.min) {
        throw new ConfigError(
          key,
          `Invalid config key "${key}": must be at least ${spec.min / 1000}s, got ${ms / 1000}s`,
        );
      }
      return ms;
    }
    case "strings":
      return Array.isArray(value) && value.every((v) => typeof v === "string")
        ? [...value]
        : fail("an array of strings");
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value) ? value : fail("an object");
    case "namespaces":
      return coerceNamespaces(key, value, warnings);
  }
}

function coerceNamespaces(key: string, value: unknown, warnings: ConfigWarning[]): NamespaceConfig[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(key, `Invalid config key "${key}": expected an array of namespace objects`);
  }
  return value.map((ns, i) => {
    if (ns === null || typeof ns !== "object" || Array.isArray(ns)) {
      throw new ConfigError(`${key}[${i}]`, `Invalid config key "${key}[${i}]": expected a namespace object`);
    }
    const entries = ns as Record<string, unknown>;
    if (typeof entries.name !== "string") {
      throw new ConfigError(`${key}[${i}].name`, `Invalid config key "${key}[${i}].name": expected a string`);
    }
    const out: Record<string, unknown> = { name: entries.name, ...defaultChannelOptions() };
    for (const [rawKey, v] of Object.entries(entries)) {
      if (rawKey === "name") continue;
      const optKey = aliasOf(rawKey);
      const where = `${key}[${i}] ("${entries.name}").${rawKey}`;
      if (Object.hasOwn(LEGACY_NAMESPACE_KEYS, optKey)) {
        throw new ConfigError(
          where,
          `Invalid config key "${where}": a Centrifugo v3 option; ${LEGACY_NAMESPACE_KEYS[optKey]}`,
        );
      }
      const spec = specOf(optKey, CHANNEL_OPTION_SPECS);
      if (!spec) {
        warnings.push({
          key: where,
          kind: "unknown",
          message: `unknown option "${rawKey}" in namespace "${entries.name}" is ignored${
            didYouMean(rawKey, CHANNEL_OPTION_NAMES)
          }`,
        });
        continue;
      }
      out[optKey] = coerce(where, v, spec, warnings);
    }
    return out as unknown as NamespaceConfig;
  });
}

export function isKnownConfigKey(key: string): boolean {
  return specOf(aliasOf(key)) !== undefined;
}

/** Random admin password and session secret, for dev mode without a given one. */
function devSecrets(): Partial<Config> {
  const hex = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join("");
  return { admin_password: hex(), admin_secret: hex() };
}
