/**
 * @module
 * Sluice's configuration: Centrifugo v5's flat keys, their defaults, and validation.
 *
 * Layers, lowest first: defaults ← dev-mode defaults (no config file) ← config file (JSON)
 * ← `SLUICE_*` environment ← command-line flags. Unknown keys warn; invalid values throw a
 * `TypeError`/`RangeError` naming the key and what was expected, which stops startup.
 * Durations accept Centrifugo's strings ("25s", "5m", "720h", "250ms") or a number of seconds;
 * once loaded, every duration is a number of **milliseconds**.
 */

/** Options of one namespace (or of channels without a namespace, at the top level). */
export interface ChannelOptions {
  presence: boolean;
  join_leave: boolean;
  force_push_join_leave: boolean;
  history_size: number;
  /** ms */
  history_ttl: number;
  /** ms; 0 = use the global `history_meta_ttl`. */
  history_meta_ttl: number;
  force_positioning: boolean;
  allow_positioning: boolean;
  force_recovery: boolean;
  allow_recovery: boolean;
  allow_subscribe_for_client: boolean;
  allow_subscribe_for_anonymous: boolean;
  allow_publish_for_client: boolean;
  allow_publish_for_subscriber: boolean;
  allow_publish_for_anonymous: boolean;
  allow_presence_for_client: boolean;
  allow_presence_for_subscriber: boolean;
  allow_presence_for_anonymous: boolean;
  allow_history_for_client: boolean;
  allow_history_for_subscriber: boolean;
  allow_history_for_anonymous: boolean;
  allow_user_limited_channels: boolean;
  /** Regular expression the part after `ns:` must match for client-side subscriptions. */
  channel_regex: string;
  proxy_subscribe: boolean;
  proxy_publish: boolean;
  proxy_sub_refresh: boolean;
}

export interface NamespaceConfig extends ChannelOptions {
  name: string;
}

export interface Config extends ChannelOptions {
  /** Node name shown in `info`; default `hostname_port`. */
  name: string;
  port: number;
  address: string;
  internal_port: number;
  internal_address: string;
  log_level: "trace" | "debug" | "info" | "warn" | "error" | "none";
  log_format: "text" | "json";

  token_hmac_secret_key: string;
  token_rsa_public_key: string;
  token_ecdsa_public_key: string;
  token_jwks_public_endpoint: string;
  token_audience: string;
  token_issuer: string;
  token_user_id_claim: string;

  api_key: string;
  api_insecure: boolean;
  api_disable: boolean;
  /** "" (errors inside a 200 body) or "transport" (HTTP status codes for errors). */
  api_error_mode: "" | "transport";

  allowed_origins: string[];
  client_insecure: boolean;
  allow_anonymous_connect_without_token: boolean;
  disallow_anonymous_connection_tokens: boolean;

  sse: boolean;
  http_stream: boolean;
  uni_sse: boolean;
  uni_http_stream: boolean;
  uni_websocket: boolean;
  websocket_disable: boolean;
  health: boolean;
  /** Prometheus `/metrics` (on the internal listener when `internal_port` is set). */
  prometheus: boolean;

  sse_max_request_body_size: number;
  http_stream_max_request_body_size: number;
  uni_sse_max_request_body_size: number;
  uni_http_stream_max_request_body_size: number;
  emulation_max_request_body_size: number;

  /** ms sent as the SSE `retry:` field on uni_sse (EventSource reconnect delay); 0 = not sent. */
  uni_sse_retry: number;

  sse_handler_prefix: string;
  http_stream_handler_prefix: string;
  emulation_handler_prefix: string;
  uni_sse_handler_prefix: string;
  uni_http_stream_handler_prefix: string;
  websocket_handler_prefix: string;
  uni_websocket_handler_prefix: string;
  api_handler_prefix: string;
  health_handler_prefix: string;
  prometheus_handler_prefix: string;

  /** ms; 0 disables server pings. */
  ping_interval: number;
  /** ms; 0 disables the pong check. */
  pong_timeout: number;
  /** bytes of outgoing data a connection may have queued before it is disconnected (3008). */
  client_queue_max_size: number;
  client_channel_limit: number;
  client_user_connection_limit: number;
  /** ms */
  client_expired_close_delay: number;
  /** ms */
  client_expired_sub_close_delay: number;
  /** ms */
  client_stale_close_delay: number;
  client_history_max_publication_limit: number;
  client_recovery_max_publication_limit: number;
  client_connect_include_server_time: boolean;
  /** ms */
  client_presence_update_interval: number;

  channel_max_length: number;
  channel_private_prefix: string;
  channel_namespace_boundary: string;
  channel_user_boundary: string;
  channel_user_separator: string;
  /** ms */
  global_history_meta_ttl: number;

  namespaces: NamespaceConfig[];

  /** seconds (Centrifugo v5 uses an integer here). */
  shutdown_timeout: number;
  /**
   * ms a connection may have no request in progress (a request head not yet complete, or a
   * kept-alive connection between requests) before it is closed; 0 = never. Sluice's own.
   */
  http_idle_timeout: number;
  /** ms a request body (emulation, server API, Simple SSE control) may take to arrive. Sluice's own. */
  http_body_timeout: number;

  /** Centrifugo v5 proxy settings; any `*_endpoint` enables the shipped connect_proxy plugin. */
  proxy_connect_endpoint: string;
  proxy_refresh_endpoint: string;
  proxy_subscribe_endpoint: string;
  proxy_publish_endpoint: string;
  proxy_rpc_endpoint: string;
  proxy_sub_refresh_endpoint: string;
  /** ms */
  proxy_connect_timeout: number;
  /** ms */
  proxy_refresh_timeout: number;
  /** ms */
  proxy_subscribe_timeout: number;
  /** ms */
  proxy_publish_timeout: number;
  /** ms */
  proxy_rpc_timeout: number;
  /** ms */
  proxy_sub_refresh_timeout: number;
  /** Request headers forwarded to the proxy backend (case-insensitive names, e.g. "Cookie"). */
  proxy_http_headers: string[];
  /** Headers added to every proxy request. */
  proxy_static_http_headers: Record<string, unknown>;
  /** Adds the connection's `meta` to non-connect proxy requests. */
  proxy_include_connection_meta: boolean;

  /** "memory" (default) or "redis": Centrifugo's way to choose the broker; "redis" enables redis_broker. */
  engine: "memory" | "redis";
  redis_address: string;
  redis_prefix: string;
  redis_user: string;
  redis_password: string;
  redis_db: number;
  redis_tls: boolean;
  /** ms */
  redis_connect_timeout: number;
  /** ms a presence entry lives in Redis unless refreshed. */
  global_presence_ttl: number;

  /** The "Simple SSE Server" drop-in (`/events/` here, `/token/` + `/emit/` on the control address). */
  simple_sse: boolean;
  /** HMAC key for its tokens (the original's `-secret`). */
  simple_sse_secret: string;
  /** "host:port" of the private control listener (the original's `-bindctl`). */
  simple_sse_control_address: string;
  /** Cookie and query parameter that may carry the token instead of `Authorization: Bearer`. */
  simple_sse_cookie: string;
  simple_sse_query_param: string;

  plugins: Record<string, unknown>;
  plugins_dir: string;
  /** ms */
  plugin_hook_timeout: number;
}

type Kind = "bool" | "int" | "string" | "duration" | "strings" | "namespaces" | "object" | "enum";

interface KeySpec {
  kind: Kind;
  default: unknown;
  values?: readonly string[];
  min?: number;
}

const channelOptionSpecs: Record<keyof ChannelOptions, KeySpec> = {
  presence: { kind: "bool", default: false },
  join_leave: { kind: "bool", default: false },
  force_push_join_leave: { kind: "bool", default: false },
  history_size: { kind: "int", default: 0, min: 0 },
  history_ttl: { kind: "duration", default: 0 },
  history_meta_ttl: { kind: "duration", default: 0 },
  force_positioning: { kind: "bool", default: false },
  allow_positioning: { kind: "bool", default: false },
  force_recovery: { kind: "bool", default: false },
  allow_recovery: { kind: "bool", default: false },
  allow_subscribe_for_client: { kind: "bool", default: false },
  allow_subscribe_for_anonymous: { kind: "bool", default: false },
  allow_publish_for_client: { kind: "bool", default: false },
  allow_publish_for_subscriber: { kind: "bool", default: false },
  allow_publish_for_anonymous: { kind: "bool", default: false },
  allow_presence_for_client: { kind: "bool", default: false },
  allow_presence_for_subscriber: { kind: "bool", default: false },
  allow_presence_for_anonymous: { kind: "bool", default: false },
  allow_history_for_client: { kind: "bool", default: false },
  allow_history_for_subscriber: { kind: "bool", default: false },
  allow_history_for_anonymous: { kind: "bool", default: false },
  allow_user_limited_channels: { kind: "bool", default: false },
  channel_regex: { kind: "string", default: "" },
  proxy_subscribe: { kind: "bool", default: false },
  proxy_publish: { kind: "bool", default: false },
  proxy_sub_refresh: { kind: "bool", default: false },
};

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "none"] as const;

const specs: Record<Exclude<keyof Config, keyof ChannelOptions>, KeySpec> = {
  name: { kind: "string", default: "" },
  port: { kind: "int", default: 8000, min: 0 },
  address: { kind: "string", default: "" },
  internal_port: { kind: "int", default: 0, min: 0 },
  internal_address: { kind: "string", default: "" },
  log_level: { kind: "enum", default: "info", values: LOG_LEVELS },
  log_format: { kind: "enum", default: "text", values: ["text", "json"] },

  token_hmac_secret_key: { kind: "string", default: "" },
  token_rsa_public_key: { kind: "string", default: "" },
  token_ecdsa_public_key: { kind: "string", default: "" },
  token_jwks_public_endpoint: { kind: "string", default: "" },
  token_audience: { kind: "string", default: "" },
  token_issuer: { kind: "string", default: "" },
  token_user_id_claim: { kind: "string", default: "sub" },

  api_key: { kind: "string", default: "" },
  api_insecure: { kind: "bool", default: false },
  api_disable: { kind: "bool", default: false },
  api_error_mode: { kind: "enum", default: "", values: ["", "transport"] },

  allowed_origins: { kind: "strings", default: [] },
  client_insecure: { kind: "bool", default: false },
  allow_anonymous_connect_without_token: { kind: "bool", default: false },
  disallow_anonymous_connection_tokens: { kind: "bool", default: false },

  sse: { kind: "bool", default: false },
  http_stream: { kind: "bool", default: false },
  uni_sse: { kind: "bool", default: false },
  uni_http_stream: { kind: "bool", default: false },
  uni_websocket: { kind: "bool", default: false },
  websocket_disable: { kind: "bool", default: false },
  health: { kind: "bool", default: true },
  prometheus: { kind: "bool", default: false },

  sse_max_request_body_size: { kind: "int", default: 65536, min: 1 },
  http_stream_max_request_body_size: { kind: "int", default: 65536, min: 1 },
  uni_sse_max_request_body_size: { kind: "int", default: 65536, min: 1 },
  uni_http_stream_max_request_body_size: { kind: "int", default: 65536, min: 1 },
  emulation_max_request_body_size: { kind: "int", default: 65536, min: 1 },

  uni_sse_retry: { kind: "duration", default: 0 },

  sse_handler_prefix: { kind: "string", default: "/connection/sse" },
  http_stream_handler_prefix: { kind: "string", default: "/connection/http_stream" },
  emulation_handler_prefix: { kind: "string", default: "/emulation" },
  uni_sse_handler_prefix: { kind: "string", default: "/connection/uni_sse" },
  uni_http_stream_handler_prefix: { kind: "string", default: "/connection/uni_http_stream" },
  websocket_handler_prefix: { kind: "string", default: "/connection/websocket" },
  uni_websocket_handler_prefix: { kind: "string", default: "/connection/uni_websocket" },
  api_handler_prefix: { kind: "string", default: "/api" },
  health_handler_prefix: { kind: "string", default: "/health" },
  prometheus_handler_prefix: { kind: "string", default: "/metrics" },

  ping_interval: { kind: "duration", default: 25_000 },
  pong_timeout: { kind: "duration", default: 8_000 },
  client_queue_max_size: { kind: "int", default: 1_048_576, min: 1 },
  client_channel_limit: { kind: "int", default: 128, min: 0 },
  client_user_connection_limit: { kind: "int", default: 0, min: 0 },
  client_expired_close_delay: { kind: "duration", default: 25_000 },
  client_expired_sub_close_delay: { kind: "duration", default: 25_000 },
  client_stale_close_delay: { kind: "duration", default: 10_000 },
  client_history_max_publication_limit: { kind: "int", default: 300, min: 0 },
  client_recovery_max_publication_limit: { kind: "int", default: 300, min: 0 },
  client_connect_include_server_time: { kind: "bool", default: false },
  client_presence_update_interval: { kind: "duration", default: 27_000 },

  channel_max_length: { kind: "int", default: 255, min: 1 },
  channel_private_prefix: { kind: "string", default: "$" },
  channel_namespace_boundary: { kind: "string", default: ":" },
  channel_user_boundary: { kind: "string", default: "#" },
  channel_user_separator: { kind: "string", default: "," },
  global_history_meta_ttl: { kind: "duration", default: 720 * 3600_000, min: 1000 },

  namespaces: { kind: "namespaces", default: [] },

  shutdown_timeout: { kind: "int", default: 30, min: 0 },
  http_idle_timeout: { kind: "duration", default: 10_000 },
  http_body_timeout: { kind: "duration", default: 10_000 },

  proxy_connect_endpoint: { kind: "string", default: "" },
  proxy_refresh_endpoint: { kind: "string", default: "" },
  proxy_subscribe_endpoint: { kind: "string", default: "" },
  proxy_publish_endpoint: { kind: "string", default: "" },
  proxy_rpc_endpoint: { kind: "string", default: "" },
  proxy_sub_refresh_endpoint: { kind: "string", default: "" },
  proxy_connect_timeout: { kind: "duration", default: 1_000 },
  proxy_refresh_timeout: { kind: "duration", default: 1_000 },
  proxy_subscribe_timeout: { kind: "duration", default: 1_000 },
  proxy_publish_timeout: { kind: "duration", default: 1_000 },
  proxy_rpc_timeout: { kind: "duration", default: 1_000 },
  proxy_sub_refresh_timeout: { kind: "duration", default: 1_000 },
  proxy_http_headers: { kind: "strings", default: [] },
  proxy_static_http_headers: { kind: "object", default: {} },
  proxy_include_connection_meta: { kind: "bool", default: false },

  engine: { kind: "enum", default: "memory", values: ["memory", "redis"] },
  redis_address: { kind: "string", default: "redis://127.0.0.1:6379" },
  redis_prefix: { kind: "string", default: "sluice" },
  redis_user: { kind: "string", default: "" },
  redis_password: { kind: "string", default: "" },
  redis_db: { kind: "int", default: 0, min: 0 },
  redis_tls: { kind: "bool", default: false },
  redis_connect_timeout: { kind: "duration", default: 1_000 },
  global_presence_ttl: { kind: "duration", default: 60_000 },

  simple_sse: { kind: "bool", default: false },
  simple_sse_secret: { kind: "string", default: "" },
  simple_sse_control_address: { kind: "string", default: "127.0.0.1:8001" },
  simple_sse_cookie: { kind: "string", default: "sse_token" },
  simple_sse_query_param: { kind: "string", default: "token" },

  plugins: { kind: "object", default: {} },
  plugins_dir: { kind: "string", default: "./plugins" },
  plugin_hook_timeout: { kind: "duration", default: 3_000 },
};

const allSpecs: Record<string, KeySpec> = { ...specs, ...channelOptionSpecs };

/** Own-property lookup: config keys must never resolve to Object.prototype members. */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Legacy key names accepted as aliases (Centrifugo v3/v4 spelling → current key). */
const aliases: Record<string, keyof Config> = {
  client_anonymous: "allow_anonymous_connect_without_token",
  history_lifetime: "history_ttl",
};

/** Channel options of namespaces in Centrifugo ≤ v3 that changed meaning; rejected with a hint. */
const legacyNamespaceKeys: Record<string, string> = {
  anonymous: "use allow_subscribe_for_anonymous / allow_publish_for_anonymous",
  publish: "use allow_publish_for_client",
  subscribe_to_publish: "use allow_publish_for_subscriber",
  presence_disable_for_client: "use allow_presence_for_subscriber",
  history_disable_for_client: "use allow_history_for_subscriber",
  protected: "use allow_subscribe_for_client (protected: false) or omit it (protected: true)",
  recover: "use force_recovery",
  position: "use force_positioning",
  history_recover: "use force_recovery",
  server_side: "remove it; server-side subscriptions come from tokens and the API",
  secret: "remove it; use token_hmac_secret_key at the top level",
};

export function defaultConfig(): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(allSpecs)) out[key] = structuredClone(spec.default);
  return out as unknown as Config;
}

/** Defaults layered under the user's settings when no config file is given: everything on. */
export function devModeDefaults(): Partial<Config> {
  return {
    sse: true,
    http_stream: true,
    uni_sse: true,
    uni_http_stream: true,
    allowed_origins: ["*"],
    presence: true,
    join_leave: true,
    history_size: 100,
    history_ttl: 600_000,
    allow_recovery: true,
    allow_positioning: true,
    allow_subscribe_for_client: true,
    allow_publish_for_subscriber: true,
    allow_presence_for_subscriber: true,
    allow_history_for_subscriber: true,
    allow_user_limited_channels: true,
    prometheus: true,
  };
}

export interface ConfigWarning {
  key: string;
  message: string;
}

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
}

export interface LoadedConfig {
  config: Config;
  warnings: ConfigWarning[];
}

/** Builds and validates a config from its layers. Throws on invalid values. */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const warnings: ConfigWarning[] = [];
  const config = defaultConfig() as unknown as Record<string, unknown>;
  if (input.dev) Object.assign(config, structuredClone(devModeDefaults()));

  if (input.file !== undefined) {
    const where = input.fileName ?? "config file";
    if (input.file === null || typeof input.file !== "object" || Array.isArray(input.file)) {
      throw new TypeError(`Invalid ${where}: expected a JSON object at the top level`);
    }
    for (const [rawKey, value] of Object.entries(input.file as Record<string, unknown>)) {
      const key = own(aliases, rawKey) ?? rawKey;
      const spec = own(allSpecs, key);
      const legacy = own(legacyNamespaceKeys, rawKey);
      if (!spec && legacy) {
        // Silently dropping a v3 permission key would change who may do what.
        throw new TypeError(`Invalid config key "${rawKey}" in ${where}: a Centrifugo v3 option; ${legacy}`);
      }
      if (!spec) {
        warnings.push({ key: rawKey, message: `unknown config key "${rawKey}" in ${where} is ignored` });
        continue;
      }
      config[key] = coerce(rawKey, value, spec, warnings);
    }
  }

  for (const [name, raw] of Object.entries(input.env ?? {})) {
    if (!name.startsWith("SLUICE_") || raw === undefined || raw.trim() === "") continue; // empty = unset
    const rawKey = name.slice("SLUICE_".length).toLowerCase();
    const key = own(aliases, rawKey) ?? rawKey;
    const spec = own(allSpecs, key);
    if (!spec) {
      warnings.push({ key: name, message: `unknown environment variable ${name} is ignored` });
      continue;
    }
    config[key] = coerce(name, fromEnvString(name, raw, spec), spec, warnings);
  }

  for (const [key, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue;
    const spec = own(allSpecs, key);
    if (!spec) throw new TypeError(`Unknown flag --${key}`);
    config[key] = coerce(`--${key}`, value, spec, warnings);
  }

  const result = config as unknown as Config;
  validate(result);
  if (result.allowed_origins.includes("*") && !(input.dev && devModeDefaultsKept(input))) {
    warnings.push({
      key: "allowed_origins",
      message: 'allowed_origins contains "*": every web page may connect on behalf of its visitors',
    });
  }
  return { config: result, warnings };
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
      return Number(raw);
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
    throw new TypeError(`Invalid ${name}: expected JSON, got ${JSON.stringify(raw)}`);
  }
}

/** Go's strconv.ParseBool, which is what Centrifugo accepts in environment variables. */
function parseBool(name: string, raw: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  throw new TypeError(`Invalid ${name}: expected a boolean (true/false/1/0), got ${JSON.stringify(raw)}`);
}

function coerce(key: string, value: unknown, spec: KeySpec, warnings: ConfigWarning[]): unknown {
  const fail = (expected: string): never => {
    throw new TypeError(`Invalid config key "${key}": expected ${expected}, got ${JSON.stringify(value)}`);
  };
  switch (spec.kind) {
    case "bool":
      return typeof value === "boolean" ? value : fail("a boolean");
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) return fail("an integer");
      if (spec.min !== undefined && value < spec.min) {
        throw new RangeError(`Invalid config key "${key}": must be at least ${spec.min}, got ${value}`);
      }
      return value;
    }
    case "string":
      return typeof value === "string" ? value : fail("a string");
    case "enum":
      return typeof value === "string" && spec.values!.includes(value)
        ? value
        : fail(`one of ${spec.values!.join(", ")}`);
    case "duration": {
      const ms = parseDuration(key, value);
      if (spec.min !== undefined && ms < spec.min) {
        throw new RangeError(
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
    throw new TypeError(`Invalid config key "${key}": expected an array of namespace objects`);
  }
  return value.map((ns, i) => {
    if (ns === null || typeof ns !== "object" || Array.isArray(ns)) {
      throw new TypeError(`Invalid config key "${key}[${i}]": expected a namespace object`);
    }
    const entries = ns as Record<string, unknown>;
    if (typeof entries.name !== "string") {
      throw new TypeError(`Invalid config key "${key}[${i}].name": expected a string`);
    }
    const out: Record<string, unknown> = { name: entries.name };
    for (const [optKey, spec] of Object.entries(channelOptionSpecs)) {
      out[optKey] = structuredClone(spec.default);
    }
    for (const [rawKey, v] of Object.entries(entries)) {
      if (rawKey === "name") continue;
      const optKey = own(aliases, rawKey) ?? rawKey;
      const where = `${key}[${i}] ("${entries.name}").${rawKey}`;
      if (own(legacyNamespaceKeys, optKey)) {
        throw new TypeError(
          `Invalid config key "${where}": a Centrifugo v3 option; ${own(legacyNamespaceKeys, optKey)}`,
        );
      }
      const spec = own(channelOptionSpecs as Record<string, KeySpec>, optKey);
      if (!spec) {
        warnings.push({ key: where, message: `unknown namespace option "${rawKey}" is ignored` });
        continue;
      }
      out[optKey] = coerce(where, v, spec, warnings);
    }
    return out as unknown as NamespaceConfig;
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Centrifugo's duration strings ("25s", "1m30s", "250ms") or seconds as a number; returns ms. */
export function parseDuration(key: string, value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `Invalid config key "${key}": a duration must be a non-negative number of seconds`,
      );
    }
    return Math.round(value * 1000);
  }
  if (typeof value === "string") {
    const text = value.trim();
    if (text === "0") return 0;
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      total += Number(m[1]) * durationUnits[m[2]];
      consumed = re.lastIndex;
    }
    if (consumed === text.length && consumed > 0) return Math.round(total);
  }
  throw new TypeError(
    `Invalid config key "${key}": expected a duration such as "25s", "5m", "720h" or a number of seconds, got ${
      JSON.stringify(value)
    }`,
  );
}

const NAMESPACE_NAME = /^[-a-zA-Z0-9_.]{2,}$/;

function validate(c: Config): void {
  validateChannelOptions("top-level channel options", c);
  const seen = new Set<string>();
  for (const ns of c.namespaces) {
    if (!NAMESPACE_NAME.test(ns.name)) {
      throw new TypeError(
        `Invalid namespace name "${ns.name}": use at least 2 characters from letters, digits, "-", "_" and "."`,
      );
    }
    if (seen.has(ns.name)) throw new TypeError(`Invalid config: namespace "${ns.name}" is defined twice`);
    seen.add(ns.name);
    validateChannelOptions(`namespace "${ns.name}"`, ns);
  }
  if (c.ping_interval > 0 && c.pong_timeout > 0 && c.pong_timeout >= c.ping_interval) {
    throw new RangeError(
      `Invalid config: pong_timeout (${c.pong_timeout} ms) must be less than ping_interval (${c.ping_interval} ms)`,
    );
  }
  if (c.port > 65535) throw new RangeError(`Invalid config key "port": must be at most 65535, got ${c.port}`);
  for (const key of ["token_rsa_public_key", "token_ecdsa_public_key"] as const) {
    if (c[key] && !c[key].includes("-----BEGIN PUBLIC KEY-----")) {
      throw new TypeError(
        `Invalid config key "${key}": expected a PEM public key ("-----BEGIN PUBLIC KEY-----")`,
      );
    }
  }
  for (const key of Object.keys(specs) as (keyof typeof specs)[]) {
    if (key.startsWith("proxy_") && key.endsWith("_endpoint")) {
      const value = c[key] as string;
      if (value !== "" && !/^https?:\/\//.test(value)) {
        throw new TypeError(
          `Invalid config key "${key}": expected an http(s) URL, got ${JSON.stringify(value)}`,
        );
      }
    }
  }
  for (const [name, value] of Object.entries(c.proxy_static_http_headers)) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Invalid config key "proxy_static_http_headers": header "${name}" must be a string`,
      );
    }
  }
  if (c.simple_sse) {
    if (c.simple_sse_secret === "") {
      throw new TypeError('Invalid config: simple_sse needs simple_sse_secret (the "-secret" flag)');
    }
    parseHostPort("simple_sse_control_address", c.simple_sse_control_address);
  }
  if (c.token_jwks_public_endpoint && !/^https?:\/\//.test(c.token_jwks_public_endpoint)) {
    throw new TypeError(`Invalid config key "token_jwks_public_endpoint": expected an http(s) URL`);
  }
  for (const key of Object.keys(specs) as (keyof typeof specs)[]) {
    if (key.endsWith("_handler_prefix")) {
      const value = c[key] as string;
      if (value !== "" && !value.startsWith("/")) {
        throw new TypeError(
          `Invalid config key "${key}": a path must start with "/", got ${JSON.stringify(value)}`,
        );
      }
      (c as unknown as Record<string, unknown>)[key] = value.replace(/\/+$/, "");
    }
  }
}

function validateChannelOptions(where: string, o: ChannelOptions): void {
  if ((o.history_size > 0) !== (o.history_ttl > 0)) {
    throw new TypeError(`Invalid ${where}: history_size and history_ttl must be set together (both > 0)`);
  }
  if (o.history_ttl % 1000 !== 0) {
    throw new TypeError(`Invalid ${where}: history_ttl must be a whole number of seconds`);
  }
  if (o.history_size === 0) {
    for (
      const key of ["force_recovery", "allow_recovery", "force_positioning", "allow_positioning"] as const
    ) {
      if (o[key]) {
        throw new TypeError(`Invalid ${where}: ${key} needs history (set history_size and history_ttl)`);
      }
    }
  }
  if (o.channel_regex) {
    try {
      new RegExp(o.channel_regex);
    } catch (err) {
      throw new TypeError(`Invalid ${where}: channel_regex does not compile: ${(err as Error).message}`);
    }
  }
}

/** The channel options of the top level (channels without a namespace). */
export function topLevelChannelOptions(c: Config): ChannelOptions {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(channelOptionSpecs)) {
    out[key] = (c as unknown as Record<string, unknown>)[key];
  }
  return out as unknown as ChannelOptions;
}

export function isKnownConfigKey(key: string): boolean {
  return Object.hasOwn(allSpecs, key) || Object.hasOwn(aliases, key);
}

/** "host:port", ":port" or "port" → {hostname, port}; throws naming `key` otherwise. */
export function parseHostPort(key: string, value: string): { hostname: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(
      `Invalid ${key}: expected "host:port" (e.g. "127.0.0.1:8001" or ":8000"), got ${JSON.stringify(value)}`,
    );
  }
  return { hostname: m[1] ?? "", port };
}
