/**
 * @module
 * `connect_proxy`'s options and what they make of each proxy: the options are checked up front
 * (a typo fails boot with its name), then resolved into one `ProxySettings` per kind of request
 * (connect, refresh, subscribe, publish, rpc, sub_refresh) — a `<kind>_<name>` option over
 * `<name>`, Centrifugo's defaults for the rest.
 */
import { parseDuration } from "sluice";

export const KINDS = ["connect", "refresh", "subscribe", "publish", "rpc", "sub_refresh"] as const;
export type Kind = typeof KINDS[number];

/** Settings given for every proxy and, as `<kind>_<name>`, for one (Centrifugo v6 has them per proxy). */
const SHARED_KEYS = ["http_headers", "emulated_headers", "static_http_headers", "include_connection_meta"];

const OPTION_KEYS = new Set<string>([
  "endpoint",
  "timeout",
  ...SHARED_KEYS,
  ...KINDS.flatMap((k) => [`${k}_endpoint`, `${k}_timeout`, ...SHARED_KEYS.map((name) => `${k}_${name}`)]),
]);

/** Request headers never forwarded: they describe the hop, not the client. */
const HOP_HEADERS = new Set([
  "connection",
  "content-length",
  "content-type",
  "expect",
  "host",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** One proxy's settings. */
export interface ProxySettings {
  endpoint: string;
  /** The endpoint without credentials, for error messages. */
  label: string;
  /** Milliseconds; 0 = no per-proxy timeout (the hook timeout still applies). */
  timeoutMs: number;
  /** Lower-cased allow-list of the client's HTTP request headers. */
  httpHeaders: Set<string>;
  /** Lower-cased allow-list of the headers the SDK sends inside its connect command. */
  emulatedHeaders: Set<string>;
  staticHeaders: Record<string, string>;
  includeMeta: boolean;
}

export type Settings = Record<Kind, ProxySettings>;

/** Checks the options' types up front, so a typo fails boot with its name. */
export function checkOptions(options: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(options)) {
    const where = `plugins.connect_proxy.${key}`;
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(`unknown option "${key}" (known: ${[...OPTION_KEYS].join(", ")})`);
    }
    if (key === "endpoint" || key.endsWith("_endpoint")) {
      if (typeof value !== "string" || (value !== "" && !/^https?:\/\//.test(value))) {
        throw new TypeError(`option "${key}" must be an http(s) URL or "", got ${JSON.stringify(value)}`);
      }
    } else if (key === "timeout" || key.endsWith("_timeout")) {
      parseDuration(where, value);
    } else if (key.endsWith("static_http_headers")) {
      if (
        value === null || typeof value !== "object" || Array.isArray(value) ||
        !Object.values(value).every((v) => typeof v === "string")
      ) {
        throw new TypeError(`option "${key}" must be an object of strings`);
      }
    } else if (key.endsWith("http_headers") || key.endsWith("emulated_headers")) {
      if (!Array.isArray(value) || !value.every((h) => typeof h === "string")) {
        throw new TypeError(`option "${key}" must be an array of header names`);
      }
    } else if (key.endsWith("include_connection_meta") && typeof value !== "boolean") {
      throw new TypeError(`option "${key}" must be a boolean`);
    }
  }
}

/** Centrifugo's default proxy timeout. */
const DEFAULT_TIMEOUT_MS = 1_000;

const headerSet = (names: string[]) =>
  new Set(names.map((h) => h.toLowerCase()).filter((h) => !HOP_HEADERS.has(h)));

/**
 * The options (already checked). Centrifugo's `proxy_*` keys arrive here as options too: the
 * config maps them (config/compat.ts), under the options a config lists for the plugin. A
 * `<kind>_<name>` option wins over `<name>` for that proxy.
 */
export function resolveSettings(options: Readonly<Record<string, unknown>>): Settings {
  const settings = {} as Settings;
  for (const kind of KINDS) {
    const option = (name: string) => options[`${kind}_${name}`] ?? options[name];
    const given = options[`${kind}_endpoint`] ?? (kind === "connect" ? options.endpoint : undefined);
    const endpoint = typeof given === "string" ? given : "";
    const timeout = option("timeout");
    settings[kind] = {
      endpoint,
      label: withoutCredentials(endpoint),
      timeoutMs: timeout !== undefined
        ? parseDuration(`plugins.connect_proxy.${kind}_timeout`, timeout)
        : DEFAULT_TIMEOUT_MS,
      httpHeaders: headerSet((option("http_headers") ?? []) as string[]),
      emulatedHeaders: headerSet((option("emulated_headers") ?? []) as string[]),
      staticHeaders: { ...(option("static_http_headers") ?? {}) as Record<string, string> },
      // As in Centrifugo, the connect proxy is where meta comes from, not where it goes.
      includeMeta: kind !== "connect" && (option("include_connection_meta") ?? false) as boolean,
    };
  }
  return settings;
}

function withoutCredentials(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return endpoint;
  }
}
