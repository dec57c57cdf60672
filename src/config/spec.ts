/**
 * @module
 * Every config key, once: its kind, default and bounds, in two tables (channel options, which
 * namespaces repeat, and the rest). The `Config` and `ChannelOptions` types are derived from the
 * tables, so a key is never written twice. Durations are milliseconds once loaded.
 */

export type Kind =
  | "bool"
  | "int"
  | "int_or_auto"
  | "string"
  | "duration"
  | "strings"
  | "namespaces"
  | "object"
  | "enum";

export interface KeySpec<T = unknown> {
  kind: Kind;
  default: T;
  /** enum: the accepted values. */
  values?: readonly string[];
  /** int: the smallest value; duration: the smallest number of ms. */
  min?: number;
  /** int: the largest value. */
  max?: number;
}

type ValueOf<S> = S extends KeySpec<infer T> ? T : never;

const bool = (d = false): KeySpec<boolean> => ({ kind: "bool", default: d });
const int = (d: number, min = 0, max?: number): KeySpec<number> => ({ kind: "int", default: d, min, max });
/** An integer, or "auto" (stored as 0). */
const intOrAuto = (d: number, min: number, max: number): KeySpec<number> => ({
  kind: "int_or_auto",
  default: d,
  min,
  max,
});
const str = (d = ""): KeySpec<string> => ({ kind: "string", default: d });
/** A duration, in ms once loaded ("25s", "1m30s", "250ms", or seconds as a number in the file). */
const duration = (ms: number, min?: number): KeySpec<number> => ({ kind: "duration", default: ms, min });
const strings = (): KeySpec<string[]> => ({ kind: "strings", default: [] });
const object = <T = unknown>(): KeySpec<Record<string, T>> => ({ kind: "object", default: {} });
const oneOf = <V extends string>(values: readonly V[], d: V): KeySpec<V> => ({
  kind: "enum",
  default: d,
  values,
});

/** The proxies, as Centrifugo names them. */
export const PROXY_KINDS = ["connect", "refresh", "subscribe", "publish", "rpc", "sub_refresh"] as const;
type ProxyKind = typeof PROXY_KINDS[number];

type PerProxySpecs =
  & { [K in ProxyKind as `proxy_${K}_http_headers`]: KeySpec<string[]> }
  & { [K in ProxyKind as `proxy_${K}_emulated_headers`]: KeySpec<string[]> }
  & { [K in ProxyKind as `proxy_${K}_static_http_headers`]: KeySpec<Record<string, unknown>> }
  & { [K in ProxyKind as `proxy_${K}_include_connection_meta`]: KeySpec<boolean> };

/** `proxy_<kind>_{http_headers, emulated_headers, static_http_headers, include_connection_meta}`. */
function perProxy(): PerProxySpecs {
  const out: Record<string, KeySpec> = {};
  for (const kind of PROXY_KINDS) {
    out[`proxy_${kind}_http_headers`] = strings();
    out[`proxy_${kind}_emulated_headers`] = strings();
    out[`proxy_${kind}_static_http_headers`] = object();
    out[`proxy_${kind}_include_connection_meta`] = bool();
  }
  return out as PerProxySpecs;
}

/** Options of one namespace (or of channels without a namespace, at the top level). */
export const CHANNEL_OPTION_SPECS = {
  presence: bool(),
  join_leave: bool(),
  force_push_join_leave: bool(),
  history_size: int(0),
  /** ms */
  history_ttl: duration(0),
  /** ms; 0 = use the global `global_history_meta_ttl`. */
  history_meta_ttl: duration(0),
  force_positioning: bool(),
  allow_positioning: bool(),
  force_recovery: bool(),
  allow_recovery: bool(),
  allow_subscribe_for_client: bool(),
  allow_subscribe_for_anonymous: bool(),
  allow_publish_for_client: bool(),
  allow_publish_for_subscriber: bool(),
  allow_publish_for_anonymous: bool(),
  allow_presence_for_client: bool(),
  allow_presence_for_subscriber: bool(),
  allow_presence_for_anonymous: bool(),
  allow_history_for_client: bool(),
  allow_history_for_subscriber: bool(),
  allow_history_for_anonymous: bool(),
  allow_user_limited_channels: bool(),
  /** Regular expression the part after `ns:` must match for client-side subscriptions. */
  channel_regex: str(),
  proxy_subscribe: bool(),
  proxy_publish: bool(),
  proxy_sub_refresh: bool(),
};

export type ChannelOptions = {
  -readonly [K in keyof typeof CHANNEL_OPTION_SPECS]: ValueOf<typeof CHANNEL_OPTION_SPECS[K]>;
};

export interface NamespaceConfig extends ChannelOptions {
  name: string;
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "none"] as const;

/** Every key that is not a channel option. */
export const SERVER_SPECS = {
  /** Node name shown in `info`; default the first 8 characters of the node id. */
  name: str(),
  port: int(8000, 0, 65535),
  address: str(),
  /** Paths of a PEM certificate chain and key: the main listener then serves HTTPS and WSS. */
  tls_cert: str(),
  tls_key: str(),
  internal_port: int(0, 0, 65535),
  internal_address: str(),
  log_level: oneOf(LOG_LEVELS, "info"),
  /**
   * Processes sharing the listening ports (SO_REUSEPORT), each a node on the configured broker;
   * "auto" (0) = one per core. More than one needs a shared broker (the redis_broker plugin).
   */
  workers: intOrAuto(1, 1, 256),
  log_format: oneOf(["text", "json"] as const, "text"),

  token_hmac_secret_key: str(),
  token_rsa_public_key: str(),
  token_ecdsa_public_key: str(),
  token_jwks_public_endpoint: str(),
  token_audience: str(),
  token_issuer: str(),
  token_user_id_claim: str("sub"),

  api_key: str(),
  api_insecure: bool(),
  api_disable: bool(),
  /** "" (errors inside a 200 body) or "transport" (HTTP status codes for errors). */
  api_error_mode: oneOf(["", "transport"] as const, ""),

  /** The admin page (log in with `admin_password`; sessions signed with `admin_secret`). */
  admin: bool(),
  admin_password: str(),
  admin_secret: str(),
  /** No login at all: only behind something that authenticates (or on a trusted internal port). */
  admin_insecure: bool(),
  /** Centrifugo serves its admin UI at "" (`/`); Sluice keeps `/` for dev mode's page. */
  admin_handler_prefix: str("/admin"),
  /** Serve the admin page on the main listener even when `internal_port` is set. */
  admin_external: bool(),

  allowed_origins: strings(),
  client_insecure: bool(),
  allow_anonymous_connect_without_token: bool(),
  disallow_anonymous_connection_tokens: bool(),

  sse: bool(),
  http_stream: bool(),
  uni_sse: bool(),
  uni_http_stream: bool(),
  uni_websocket: bool(),
  websocket_disable: bool(),
  health: bool(true),
  /** Prometheus `/metrics` (on the internal listener when `internal_port` is set). */
  prometheus: bool(),

  sse_max_request_body_size: int(65536, 1),
  http_stream_max_request_body_size: int(65536, 1),
  uni_sse_max_request_body_size: int(65536, 1),
  uni_http_stream_max_request_body_size: int(65536, 1),
  emulation_max_request_body_size: int(65536, 1),
  /** bytes of one WebSocket message from a client; larger ones close it with 1009. */
  websocket_message_size_limit: int(65536, 1),
  uni_websocket_message_size_limit: int(65536, 1),

  /**
   * ms sent as the SSE `retry:` field on uni_sse (EventSource reconnect delay); 0 = not sent.
   * Browsers wait about 3 s by default: at 50 msg/s a `history_size` of 100 then no longer covers the
   * gap and the page gets `reload`. 1 s keeps a plain EventSource lossless at such rates.
   */
  uni_sse_retry: duration(1_000),

  sse_handler_prefix: str("/connection/sse"),
  http_stream_handler_prefix: str("/connection/http_stream"),
  emulation_handler_prefix: str("/emulation"),
  uni_sse_handler_prefix: str("/connection/uni_sse"),
  uni_http_stream_handler_prefix: str("/connection/uni_http_stream"),
  websocket_handler_prefix: str("/connection/websocket"),
  uni_websocket_handler_prefix: str("/connection/uni_websocket"),
  api_handler_prefix: str("/api"),
  health_handler_prefix: str("/health"),
  prometheus_handler_prefix: str("/metrics"),

  /** ms; 0 disables server pings. */
  ping_interval: duration(25_000),
  /** ms; 0 disables the pong check. */
  pong_timeout: duration(8_000),
  /** bytes of outgoing data a connection may have queued before it is disconnected (3008). */
  client_queue_max_size: int(1_048_576, 1),
  client_channel_limit: int(128),
  client_user_connection_limit: int(0),
  /** ms */
  client_expired_close_delay: duration(25_000),
  /** ms */
  client_expired_sub_close_delay: duration(25_000),
  /** ms */
  client_stale_close_delay: duration(10_000),
  client_history_max_publication_limit: int(300),
  client_recovery_max_publication_limit: int(300),
  client_connect_include_server_time: bool(),
  /** ms */
  client_presence_update_interval: duration(27_000),

  channel_max_length: int(255, 1),
  channel_private_prefix: str("$"),
  channel_namespace_boundary: str(":"),
  channel_user_boundary: str("#"),
  channel_user_separator: str(","),
  /** ms a stream's offset and epoch outlive its last publication. */
  global_history_meta_ttl: duration(720 * 3600_000, 1000),

  namespaces: { kind: "namespaces", default: [] } as KeySpec<NamespaceConfig[]>,

  /** seconds (Centrifugo v5 uses an integer here). */
  shutdown_timeout: int(30),
  /**
   * ms a connection may have no request in progress (a request head not yet complete, or a
   * kept-alive connection between requests) before it is closed; 0 = never. Sluice's own.
   */
  http_idle_timeout: duration(10_000),
  /** ms a request body (emulation, server API, Simple SSE control) may take to arrive. Sluice's own. */
  http_body_timeout: duration(10_000),
  /** Centrifugo v5 proxy settings; any `*_endpoint` enables the shipped connect_proxy plugin. */
  proxy_connect_endpoint: str(),
  proxy_refresh_endpoint: str(),
  proxy_subscribe_endpoint: str(),
  proxy_publish_endpoint: str(),
  proxy_rpc_endpoint: str(),
  proxy_sub_refresh_endpoint: str(),
  /** ms */
  proxy_connect_timeout: duration(1_000),
  /** ms */
  proxy_refresh_timeout: duration(1_000),
  /** ms */
  proxy_subscribe_timeout: duration(1_000),
  /** ms */
  proxy_publish_timeout: duration(1_000),
  /** ms */
  proxy_rpc_timeout: duration(1_000),
  /** ms */
  proxy_sub_refresh_timeout: duration(1_000),
  /** Request headers forwarded to the proxy backend (case-insensitive names, e.g. "Cookie"). */
  proxy_http_headers: strings(),
  /** Headers added to every proxy request. */
  proxy_static_http_headers: object(),
  /** Adds the connection's `meta` to non-connect proxy requests. */
  proxy_include_connection_meta: bool(),
  /** Headers the SDK sends inside its connect command (client-controlled) forwarded to the backend. */
  proxy_emulated_headers: strings(),
  /** Centrifugo v6's per-proxy settings: `proxy_<kind>_<setting>`, given, wins over `proxy_<setting>`. */
  ...perProxy(),

  /** "memory" (default) or "redis": Centrifugo's way to choose the broker; "redis" enables redis_broker. */
  engine: oneOf(["memory", "redis"] as const, "memory"),
  redis_address: str("redis://127.0.0.1:6379"),
  redis_prefix: str("sluice"),
  redis_user: str(),
  redis_password: str(),
  redis_db: int(0),
  redis_tls: bool(),
  /** ms */
  redis_connect_timeout: duration(1_000),
  /** ms a presence entry lives in Redis unless refreshed. */
  global_presence_ttl: duration(60_000),

  /** The "Simple SSE Server" drop-in (`/events/` here, `/token/` + `/emit/` on the control address). */
  simple_sse: bool(),
  /** HMAC key for its tokens (the original's `-secret`). */
  simple_sse_secret: str(),
  /** "host:port" of the private control listener (the original's `-bindctl`). */
  simple_sse_control_address: str("127.0.0.1:8001"),
  /** Cookie and query parameter that may carry the token instead of `Authorization: Bearer`. */
  simple_sse_cookie: str("sse_token"),
  simple_sse_query_param: str("token"),

  plugins: object(),
  plugins_dir: str("./plugins"),
  /** ms a plugin hook may take (below the SDK's 5 s request timeout). */
  plugin_hook_timeout: duration(3_000),
};

export type Config =
  & { -readonly [K in keyof typeof SERVER_SPECS]: ValueOf<typeof SERVER_SPECS[K]> }
  & ChannelOptions;

export const ALL_SPECS: Readonly<Record<string, KeySpec>> = { ...SERVER_SPECS, ...CHANNEL_OPTION_SPECS };

/** Own-property lookup: config keys must never resolve to Object.prototype members. */
export function specOf(
  key: string,
  table: Readonly<Record<string, KeySpec>> = ALL_SPECS,
): KeySpec | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function defaultConfig(): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(ALL_SPECS)) out[key] = structuredClone(spec.default);
  return out as Config;
}

export function defaultChannelOptions(): ChannelOptions {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CHANNEL_OPTION_SPECS)) out[key] = structuredClone(spec.default);
  return out as ChannelOptions;
}

/** The channel options of the top level (channels without a namespace). */
export function topLevelChannelOptions(c: Config): ChannelOptions {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(CHANNEL_OPTION_SPECS)) out[key] = (c as Record<string, unknown>)[key];
  return out as ChannelOptions;
}

/** Dev mode's channel rules: open to every subscriber, with presence, join/leave and history. */
const DEV_CHANNEL_OPTIONS: Partial<ChannelOptions> = {
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
};

/** Defaults layered under the user's settings when no config file is given: everything on. */
export function devModeDefaults(): Partial<Config> {
  return {
    sse: true,
    http_stream: true,
    uni_sse: true,
    uni_http_stream: true,
    allowed_origins: ["*"],
    ...DEV_CHANNEL_OPTIONS,
    allow_user_limited_channels: true,
    prometheus: true,
    // The password (and the session secret) are generated at startup and printed in the banner.
    admin: true,
    // The README's examples use `chat:…` channels: the same open rules, under a namespace.
    namespaces: [{ name: "chat", ...defaultChannelOptions(), ...DEV_CHANNEL_OPTIONS }],
  };
}
