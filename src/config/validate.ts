/**
 * @module
 * Rules between keys (history needs both size and TTL, pong below ping, …), checked after all
 * layers are applied; each failure is a `ConfigError` naming the key. Also the warning for a
 * config under which nobody can connect.
 */
import type { ChannelOptions, Config } from "./spec.ts";
import { PROXY_KINDS, SERVER_SPECS } from "./spec.ts";
import { ConfigError, type ConfigWarning } from "./errors.ts";
import { parseHostPort } from "./units.ts";

const NAMESPACE_NAME = /^[-a-zA-Z0-9_.]{2,}$/;

export function validate(c: Config): void {
  validateChannelOptions("top-level channel options", "", c);
  const seen = new Set<string>();
  c.namespaces.forEach((ns, i) => {
    if (!NAMESPACE_NAME.test(ns.name)) {
      throw new ConfigError(
        `namespaces[${i}].name`,
        `Invalid namespace name "${ns.name}": use at least 2 characters from letters, digits, "-", "_" and "."`,
      );
    }
    if (seen.has(ns.name)) {
      throw new ConfigError(
        `namespaces[${i}].name`,
        `Invalid config: namespace "${ns.name}" is defined twice`,
      );
    }
    seen.add(ns.name);
    validateChannelOptions(`namespace "${ns.name}"`, `namespaces[${i}].`, ns);
  });
  if ((c.tls_cert === "") !== (c.tls_key === "")) {
    throw new ConfigError(
      c.tls_cert ? "tls_key" : "tls_cert",
      "Invalid config: tls_cert and tls_key go together",
    );
  }
  if (c.admin && !/^\/[^?#]*[^/?#]$/.test(c.admin_handler_prefix)) {
    throw new ConfigError(
      "admin_handler_prefix",
      `Invalid config: admin_handler_prefix must be a path below "/", such as "/admin" (got ${
        JSON.stringify(c.admin_handler_prefix)
      }); "/" is dev mode's page`,
    );
  }
  if (c.admin && !c.admin_insecure) {
    for (const key of ["admin_password", "admin_secret"] as const) {
      if (c[key] === "") {
        throw new ConfigError(
          key,
          `Invalid config: admin needs ${key} (or admin_insecure: true behind something that authenticates)`,
        );
      }
    }
  }
  if (c.ping_interval > 0 && c.pong_timeout > 0 && c.pong_timeout >= c.ping_interval) {
    throw new ConfigError(
      "pong_timeout",
      `Invalid config: pong_timeout (${c.pong_timeout} ms) must be less than ping_interval (${c.ping_interval} ms)`,
    );
  }
  for (const key of ["token_rsa_public_key", "token_ecdsa_public_key"] as const) {
    if (c[key] && !c[key].includes("-----BEGIN PUBLIC KEY-----")) {
      throw new ConfigError(
        key,
        `Invalid config key "${key}": expected a PEM public key ("-----BEGIN PUBLIC KEY-----")`,
      );
    }
  }
  for (const key of Object.keys(SERVER_SPECS) as (keyof typeof SERVER_SPECS)[]) {
    if (key.startsWith("proxy_") && key.endsWith("_endpoint")) {
      const value = c[key] as string;
      if (value !== "" && !/^https?:\/\//.test(value)) {
        throw new ConfigError(
          key,
          `Invalid config key "${key}": expected an http(s) URL, got ${JSON.stringify(value)}`,
        );
      }
    }
    if (key.endsWith("_handler_prefix")) {
      const value = c[key] as string;
      if (value !== "" && !value.startsWith("/")) {
        throw new ConfigError(
          key,
          `Invalid config key "${key}": a path must start with "/", got ${JSON.stringify(value)}`,
        );
      }
      (c as Record<string, unknown>)[key] = value.replace(/\/+$/, "");
    }
  }
  const staticHeaders = ["proxy", ...PROXY_KINDS.map((k) => `proxy_${k}`)].map((p) =>
    `${p}_static_http_headers`
  );
  for (const key of staticHeaders) {
    const headers = (c as unknown as Record<string, Record<string, unknown>>)[key];
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string") {
        throw new ConfigError(key, `Invalid config key "${key}": header "${name}" must be a string`);
      }
    }
  }
  if (c.simple_sse) {
    if (c.simple_sse_secret === "") {
      throw new ConfigError(
        "simple_sse_secret",
        'Invalid config: simple_sse needs simple_sse_secret (the "-secret" flag)',
      );
    }
    parseHostPort("simple_sse_control_address", c.simple_sse_control_address);
  }
  if (c.token_jwks_public_endpoint && !/^https?:\/\//.test(c.token_jwks_public_endpoint)) {
    throw new ConfigError(
      "token_jwks_public_endpoint",
      `Invalid config key "token_jwks_public_endpoint": expected an http(s) URL`,
    );
  }
}

function validateChannelOptions(where: string, prefix: string, o: ChannelOptions): void {
  if ((o.history_size > 0) !== (o.history_ttl > 0)) {
    throw new ConfigError(
      `${prefix}history_ttl`,
      `Invalid ${where}: history_size and history_ttl must be set together (both > 0)`,
    );
  }
  if (o.history_ttl % 1000 !== 0) {
    throw new ConfigError(
      `${prefix}history_ttl`,
      `Invalid ${where}: history_ttl must be a whole number of seconds`,
    );
  }
  if (o.history_size === 0) {
    for (
      const key of ["force_recovery", "allow_recovery", "force_positioning", "allow_positioning"] as const
    ) {
      if (o[key]) {
        throw new ConfigError(
          `${prefix}${key}`,
          `Invalid ${where}: ${key} needs history (set history_size and history_ttl)`,
        );
      }
    }
  }
  if (o.channel_regex) {
    try {
      new RegExp(o.channel_regex);
    } catch (err) {
      throw new ConfigError(
        `${prefix}channel_regex`,
        `Invalid ${where}: channel_regex does not compile: ${(err as Error).message}`,
      );
    }
  }
}

/**
 * A warning when clients are served but nothing can authenticate them: no token key, no JWKS, no
 * connect hook (a plugin's `onConnecting` or the connect proxy) and anonymous connects off. Every
 * SDK connect would then fail with 3501.
 */
export function authWarning(c: Config, hasConnectHook: boolean): ConfigWarning | undefined {
  const transports = c.sse || c.http_stream || c.uni_sse || c.uni_http_stream;
  if (!transports) return undefined;
  const keys = c.token_hmac_secret_key || c.token_rsa_public_key || c.token_ecdsa_public_key ||
    c.token_jwks_public_endpoint;
  if (keys || hasConnectHook || c.proxy_connect_endpoint || c.allow_anonymous_connect_without_token) {
    return undefined;
  }
  if (c.client_insecure) return undefined;
  return {
    key: "token_hmac_secret_key",
    kind: "advice",
    message: "no client can connect: set token_hmac_secret_key (or another token key or JWKS), " +
      "a plugin with onConnecting, proxy_connect_endpoint, or allow_anonymous_connect_without_token",
  };
}
