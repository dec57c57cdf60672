/**
 * @module
 * Centrifugo compatibility, in one place: older key names (v3/v4) accepted or refused with a
 * hint, Centrifugo v6's nested config form flattened onto the v5 keys Sluice uses, and the keys
 * that turn on shipped plugins (`proxy_*` → connect_proxy, `engine: "redis"` + `redis_*` →
 * redis_broker).
 */
import type { Config } from "./spec.ts";
import { CHANNEL_OPTION_SPECS, PROXY_KINDS } from "./spec.ts";
import type { ConfigWarning } from "./errors.ts";
import { closest } from "../did_you_mean.ts";
import { parseDuration } from "./units.ts";

/** Legacy key names accepted as aliases (Centrifugo v3/v4 spelling → current key). */
export const ALIASES: Readonly<Record<string, string>> = {
  client_anonymous: "allow_anonymous_connect_without_token",
  history_lifetime: "history_ttl",
};

/** Channel options of namespaces in Centrifugo ≤ v3 that changed meaning; rejected with a hint. */
export const LEGACY_NAMESPACE_KEYS: Readonly<Record<string, string>> = {
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

export function aliasOf(key: string): string {
  return Object.hasOwn(ALIASES, key) ? ALIASES[key] : key;
}

// ------------------------------------------------------------------ Centrifugo v6's nested form

/** v6 path → v5 key (leaves). `shutdown.timeout` is a duration in v6, whole seconds in v5. */
const V6_LEAVES: Readonly<Record<string, string>> = {
  "http_server.port": "port",
  "http_server.address": "address",
  "http_server.internal_port": "internal_port",
  "http_server.internal_address": "internal_address",
  "http_server.tls.cert_pem": "tls_cert",
  "http_server.tls.key_pem": "tls_key",
  "log.level": "log_level",
  "log.format": "log_format",
  "node.name": "name",
  "engine.type": "engine",
  "engine.redis.address": "redis_address",
  "engine.redis.prefix": "redis_prefix",
  "engine.redis.user": "redis_user",
  "engine.redis.password": "redis_password",
  "engine.redis.db": "redis_db",
  "engine.redis.tls.enabled": "redis_tls",
  "engine.redis.connect_timeout": "redis_connect_timeout",
  "engine.redis.presence_ttl": "global_presence_ttl",
  "client.token.hmac_secret_key": "token_hmac_secret_key",
  "client.token.rsa_public_key": "token_rsa_public_key",
  "client.token.ecdsa_public_key": "token_ecdsa_public_key",
  "client.token.jwks_public_endpoint": "token_jwks_public_endpoint",
  "client.token.audience": "token_audience",
  "client.token.issuer": "token_issuer",
  "client.token.user_id_claim": "token_user_id_claim",
  "client.allowed_origins": "allowed_origins",
  "client.insecure": "client_insecure",
  "client.allow_anonymous_connect_without_token": "allow_anonymous_connect_without_token",
  "client.disallow_anonymous_connection_tokens": "disallow_anonymous_connection_tokens",
  "client.channel_limit": "client_channel_limit",
  "client.queue_max_size": "client_queue_max_size",
  "client.user_connection_limit": "client_user_connection_limit",
  "client.stale_close_delay": "client_stale_close_delay",
  "client.expired_close_delay": "client_expired_close_delay",
  "client.expired_sub_close_delay": "client_expired_sub_close_delay",
  "client.presence_update_interval": "client_presence_update_interval",
  "client.history_max_publication_limit": "client_history_max_publication_limit",
  "client.recovery_max_publication_limit": "client_recovery_max_publication_limit",
  "client.connect_include_server_time": "client_connect_include_server_time",
  "client.ping_interval": "ping_interval",
  "client.pong_timeout": "pong_timeout",
  "channel.max_length": "channel_max_length",
  "channel.private_prefix": "channel_private_prefix",
  "channel.namespace_boundary": "channel_namespace_boundary",
  "channel.user_boundary": "channel_user_boundary",
  "channel.user_separator": "channel_user_separator",
  "channel.history_meta_ttl": "global_history_meta_ttl",
  "channel.namespaces": "namespaces",
  "http_api.key": "api_key",
  "http_api.insecure": "api_insecure",
  "http_api.error_mode": "api_error_mode",
  "http_api.disabled": "api_disable",
  "http_api.handler_prefix": "api_handler_prefix",
  "websocket.disabled": "websocket_disable",
  "websocket.handler_prefix": "websocket_handler_prefix",
  "websocket.message_size_limit": "websocket_message_size_limit",
  "uni_websocket.message_size_limit": "uni_websocket_message_size_limit",
  "sse.enabled": "sse",
  "sse.handler_prefix": "sse_handler_prefix",
  "sse.max_request_body_size": "sse_max_request_body_size",
  "http_stream.enabled": "http_stream",
  "http_stream.handler_prefix": "http_stream_handler_prefix",
  "http_stream.max_request_body_size": "http_stream_max_request_body_size",
  "uni_sse.enabled": "uni_sse",
  "uni_sse.handler_prefix": "uni_sse_handler_prefix",
  "uni_sse.max_request_body_size": "uni_sse_max_request_body_size",
  "uni_http_stream.enabled": "uni_http_stream",
  "uni_http_stream.handler_prefix": "uni_http_stream_handler_prefix",
  "uni_http_stream.max_request_body_size": "uni_http_stream_max_request_body_size",
  "uni_websocket.enabled": "uni_websocket",
  "uni_websocket.handler_prefix": "uni_websocket_handler_prefix",
  "emulation.handler_prefix": "emulation_handler_prefix",
  "emulation.max_request_body_size": "emulation_max_request_body_size",
  "prometheus.enabled": "prometheus",
  "prometheus.handler_prefix": "prometheus_handler_prefix",
  "admin.enabled": "admin",
  "admin.password": "admin_password",
  "admin.secret": "admin_secret",
  "admin.insecure": "admin_insecure",
  "admin.handler_prefix": "admin_handler_prefix",
  "admin.external": "admin_external",
  "health.enabled": "health",
  "health.handler_prefix": "health_handler_prefix",
  "shutdown.timeout": "shutdown_timeout",
  ...proxyLeaves("client.proxy.connect", "connect"),
  ...proxyLeaves("client.proxy.refresh", "refresh"),
  ...proxyLeaves("channel.proxy.subscribe", "subscribe"),
  ...proxyLeaves("channel.proxy.publish", "publish"),
  ...proxyLeaves("channel.proxy.sub_refresh", "sub_refresh"),
  ...proxyLeaves("rpc.proxy", "rpc"),
};

/** v6 keeps every setting per proxy: `proxy_<kind>_<setting>` (v5's shared `proxy_<setting>` stays). */
function proxyLeaves(prefix: string, kind: string): Record<string, string> {
  return {
    [`${prefix}.endpoint`]: `proxy_${kind}_endpoint`,
    [`${prefix}.timeout`]: `proxy_${kind}_timeout`,
    [`${prefix}.enabled`]: "",
    [`${prefix}.http_headers`]: `proxy_${kind}_http_headers`,
    [`${prefix}.emulated_headers`]: `proxy_${kind}_emulated_headers`,
    [`${prefix}.http.static_headers`]: `proxy_${kind}_static_http_headers`,
    [`${prefix}.include_connection_meta`]: `proxy_${kind}_include_connection_meta`,
  };
}

/** v6 channel option names that differ from v5's (namespaces and `channel.without_namespace`). */
const V6_CHANNEL_OPTIONS: Readonly<Record<string, string>> = {
  subscribe_proxy_enabled: "proxy_subscribe",
  publish_proxy_enabled: "proxy_publish",
  sub_refresh_proxy_enabled: "proxy_sub_refresh",
};

/** Top-level keys that start a v6 section when their value is an object. */
const V6_SECTIONS = new Set(
  [...Object.keys(V6_LEAVES), "channel.without_namespace.x"].map((path) => path.split(".")[0]),
);

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Whether a parsed config file uses Centrifugo v6's nested form (any section as an object). */
export function isV6(file: Record<string, unknown>): boolean {
  return Object.entries(file).some(([k, v]) => V6_SECTIONS.has(k) && isObject(v));
}

export interface FlatEntry {
  /** The v5 key. */
  key: string;
  value: unknown;
  /** How the user wrote it (a v6 path), for messages. */
  label: string;
}

/**
 * A v6 config as v5 entries. Flat keys found next to the sections pass through as they are (a
 * half-migrated file works); unknown paths become warnings with the closest known path.
 */
export function flattenV6(
  file: Record<string, unknown>,
  where: string,
  warnings: ConfigWarning[],
): FlatEntry[] {
  const out: FlatEntry[] = [];
  // v6's shutdown.timeout is a duration; v5's shutdown_timeout whole seconds.
  const shutdown = (path: string, value: unknown) => Math.ceil(parseDuration(path, value) / 1000);
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, value] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (path === "channel.without_namespace" && isObject(value)) {
        for (const [opt, v] of Object.entries(value)) {
          out.push({ key: v6ChannelOption(opt), value: v, label: `${path}.${opt}` });
        }
        continue;
      }
      if (path === "channel.namespaces" && Array.isArray(value)) {
        out.push({ key: "namespaces", value: value.map(v6Namespace), label: path });
        continue;
      }
      if (Object.hasOwn(V6_LEAVES, path)) {
        const key = V6_LEAVES[path];
        if (key === "") continue; // `*.enabled` of a proxy: the endpoint is what enables it in Sluice
        out.push({ key, value: key === "shutdown_timeout" ? shutdown(path, value) : value, label: path });
        continue;
      }
      const deeper = `${path}.`;
      if (isObject(value) && Object.keys(V6_LEAVES).some((p) => p.startsWith(deeper))) {
        walk(value, path);
        continue;
      }
      if (!prefix) {
        out.push({ key: k, value, label: k }); // a flat (v5) key next to v6 sections
        continue;
      }
      const siblings = Object.keys(V6_LEAVES).filter((p) => p.startsWith(`${prefix}.`))
        .map((p) => p.slice(prefix.length + 1).split(".")[0]);
      const hint = closest(k, siblings);
      warnings.push({
        key: path,
        kind: "unknown",
        message: `unknown config key "${path}" in ${where} is ignored${
          hint ? ` (did you mean "${prefix}.${hint}"?)` : " (not supported by Sluice)"
        }`,
      });
    }
  };
  walk(file, "");
  return out;
}

function v6ChannelOption(key: string): string {
  return Object.hasOwn(V6_CHANNEL_OPTIONS, key) ? V6_CHANNEL_OPTIONS[key] : key;
}

function v6Namespace(ns: unknown): unknown {
  if (!isObject(ns)) return ns;
  return Object.fromEntries(Object.entries(ns).map(([k, v]) => [v6ChannelOption(k), v]));
}

/** Known channel option names, for did-you-mean in namespaces. */
export const CHANNEL_OPTION_NAMES: readonly string[] = Object.keys(CHANNEL_OPTION_SPECS);

// ------------------------------------------------------------------ keys that enable shipped plugins

const PROXY_ENDPOINT_KEYS = [
  "proxy_connect_endpoint",
  "proxy_refresh_endpoint",
  "proxy_subscribe_endpoint",
  "proxy_publish_endpoint",
  "proxy_rpc_endpoint",
  "proxy_sub_refresh_endpoint",
] as const;

/** Settings a proxy may have of its own (`proxy_<kind>_<name>`) or share (`proxy_<name>`). */
const PER_PROXY = [
  "http_headers",
  "emulated_headers",
  "static_http_headers",
  "include_connection_meta",
] as const;

/** Whether a per-proxy key was given: its default (empty, false) leaves the shared setting in force. */
const given = (v: unknown) =>
  Array.isArray(v) ? v.length > 0 : isObject(v) ? Object.keys(v).length > 0 : v === true;

/**
 * connect_proxy's options from Centrifugo's `proxy_*` keys, under the options a config lists for
 * it (a listed `endpoint` or `timeout` replaces the keys' connect endpoint or every timeout; a
 * listed shared setting, say `http_headers`, replaces the keys' shared and per-proxy ones).
 */
export function connectProxyOptions(
  config: Readonly<Config>,
  listed: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const keys = config as unknown as Readonly<Record<string, unknown>>;
  const fromKeys: Record<string, unknown> = {};
  for (const name of PER_PROXY) fromKeys[name] = keys[`proxy_${name}`];
  for (const kind of PROXY_KINDS) {
    if (kind !== "connect" || listed.endpoint === undefined) {
      fromKeys[`${kind}_endpoint`] = config[`proxy_${kind}_endpoint`];
    }
    if (listed.timeout === undefined) fromKeys[`${kind}_timeout`] = `${config[`proxy_${kind}_timeout`]}ms`;
    for (const name of PER_PROXY) {
      const value = keys[`proxy_${kind}_${name}`];
      if (listed[name] === undefined && given(value)) fromKeys[`${kind}_${name}`] = value;
    }
  }
  return { ...fromKeys, ...listed };
}

/**
 * The plugin entries with what Centrifugo's keys imply: any `proxy_*_endpoint` → connect_proxy
 * (its options mapped from the `proxy_*` keys, also when it is listed), `engine: "redis"` →
 * redis_broker with the `redis_*` keys as options. Listed plugins keep their place.
 */
export function withImpliedPlugins(
  config: Readonly<Config>,
  entries: Array<[string, unknown]>,
): Array<[string, unknown]> {
  const listed = entries.map(([spec]) => spec);
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  const out = entries.map(([spec, options]): [string, unknown] =>
    spec === "connect_proxy" && (options === true || options === undefined || isObject(options))
      ? [spec, connectProxyOptions(config, isObject(options) ? options : {})]
      : [spec, options]
  );
  if (PROXY_ENDPOINT_KEYS.some((k) => config[k] !== "") && !listed.includes("connect_proxy")) {
    out.push(["connect_proxy", connectProxyOptions(config)]);
  }
  if (config.engine === "redis" && !listed.includes("redis_broker")) {
    out.unshift(redisBrokerEntry(config));
  }
  return out;
}

function redisBrokerEntry(config: Readonly<Config>): [string, unknown] {
  return ["redis_broker", {
    address: config.redis_address,
    prefix: config.redis_prefix,
    username: config.redis_user || undefined,
    password: config.redis_password || undefined,
    db: config.redis_db || undefined,
    tls: config.redis_tls || undefined,
    connect_timeout: `${config.redis_connect_timeout}ms`,
    presence_ttl: `${config.global_presence_ttl}ms`,
  }];
}
