/**
 * @module
 * The configurations both servers read: Centrifugo v6 JSON, written once, handed to Centrifugo and
 * to Sluice unchanged (`test/targets/mod.ts` only adds the port). A scenario names its profile;
 * each profile is one server process per target for the whole run.
 */
import { generateKeyPair } from "jose";

export const SECRET = "differential-hmac-secret-0123456789";
export const API_KEY = "differential-api-key";
export const ALLOWED_ORIGIN = "http://allowed.example";

export interface Profile {
  name: string;
  secret: string;
  apiKey: string;
  config: Record<string, unknown>;
}

let keys: Promise<CryptoKeyPair> | undefined;
/** An RSA key pair for tokens signed with an algorithm the server is not configured for. */
export function rsaKeys(): Promise<CryptoKeyPair> {
  return keys ??= generateKeyPair("RS256", { extractable: true }) as Promise<CryptoKeyPair>;
}

const HISTORY = { history_size: 10, history_ttl: "300s" };

/** The transports every profile turns on (WebSocket is on by default). */
const TRANSPORTS = {
  sse: { enabled: true },
  http_stream: { enabled: true },
  uni_sse: { enabled: true },
  uni_http_stream: { enabled: true },
  uni_websocket: { enabled: true },
};

/** Namespaces that together exercise every channel permission option and feature. */
const NAMESPACES = [
  // everything a subscriber may want
  {
    name: "open",
    allow_subscribe_for_client: true,
    allow_publish_for_subscriber: true,
    allow_presence_for_subscriber: true,
    allow_history_for_subscriber: true,
    presence: true,
    join_leave: true,
    force_push_join_leave: true,
    ...HISTORY,
    force_recovery: true,
  },
  // nothing allowed: tokens or the server API only
  { name: "closed", presence: true, ...HISTORY },
  // publish for any authenticated client, subscribed or not
  { name: "pub", allow_subscribe_for_client: true, allow_publish_for_client: true },
  // anonymous clients
  {
    name: "anon",
    allow_subscribe_for_anonymous: true,
    allow_subscribe_for_client: true,
    allow_publish_for_anonymous: true,
    allow_publish_for_subscriber: true,
    allow_presence_for_anonymous: true,
    allow_history_for_anonymous: true,
    presence: true,
    ...HISTORY,
  },
  // history for anyone authenticated, recovery on request
  {
    name: "hist",
    allow_subscribe_for_client: true,
    allow_history_for_client: true,
    allow_recovery: true,
    history_size: 5,
    history_ttl: "300s",
  },
  // positioning without recovery
  { name: "pos", allow_subscribe_for_client: true, force_positioning: true, ...HISTORY },
  // presence for any authenticated client; join/leave only when the client asks
  {
    name: "pres",
    allow_subscribe_for_client: true,
    allow_presence_for_client: true,
    presence: true,
    join_leave: true,
  },
  // user-limited channels (`#42`)
  { name: "user", allow_user_limited_channels: true, allow_publish_for_subscriber: true },
  // subscribe only with a subscription token
  { name: "tok", presence: true, join_leave: true, force_push_join_leave: true },
];

/** A profile of `config`, tokens signed with SECRET, the API key API_KEY. */
function profile(name: string, config: Record<string, unknown>): Profile {
  return { name, secret: SECRET, apiKey: API_KEY, config };
}

/** Channels open to clients without a namespace, and every namespace above. */
const CHANNELS = { without_namespace: { allow_subscribe_for_client: true }, namespaces: NAMESPACES };

/**
 * What most profiles share — the token secret, the allowed origin, the API key, every transport, the
 * namespaces — with `client` keys of their own and anything else on top.
 */
function config(
  client: Record<string, unknown>,
  rest: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    log: { level: "info" },
    client: { token: { hmac_secret_key: SECRET }, allowed_origins: [ALLOWED_ORIGIN], ...client },
    http_api: { key: API_KEY },
    ...TRANSPORTS,
    channel: CHANNELS,
    ...rest,
  };
}

export const PROFILES: Record<string, Profile> = {
  main: profile(
    "main",
    config({ history_max_publication_limit: 5, recovery_max_publication_limit: 8 }, {
      channel: {
        without_namespace: { allow_subscribe_for_client: true, ...HISTORY },
        namespaces: NAMESPACES,
      },
    }),
  ),
  // no token needed: anonymous connections
  anonymous: profile(
    "anonymous",
    config({ allow_anonymous_connect_without_token: true }, {
      channel: {
        without_namespace: { allow_subscribe_for_anonymous: true, allow_subscribe_for_client: true },
        namespaces: NAMESPACES,
      },
    }),
  ),
  // Small limits, so scenarios can reach each of them quickly
  limits: profile(
    "limits",
    config({ channel_limit: 3, queue_max_size: 8192, user_connection_limit: 2 }, {
      channel: { max_length: 40, ...CHANNELS },
      websocket: { message_size_limit: 4096 },
      uni_websocket: { enabled: true, message_size_limit: 2048 },
      http_stream: { enabled: true, max_request_body_size: 2048 },
      uni_sse: { enabled: true, max_request_body_size: 2048 },
      uni_http_stream: { enabled: true, max_request_body_size: 2048 },
      emulation: { max_request_body_size: 2048 },
    }),
  ),
  // Short clocks: pings, pong timeout, expiry of connections and subscriptions
  timing: profile(
    "timing",
    config({
      ping_interval: "2s",
      pong_timeout: "1s",
      expired_close_delay: "1s",
      expired_sub_close_delay: "1s",
      presence_update_interval: "1s",
    }),
  ),
  // Every origin allowed
  any_origin: profile("any_origin", config({ allowed_origins: ["*"] })),
};

// Proxies to the application backend (test/differential/proxy_backend.ts) for connect, refresh,
// subscribe, publish, sub_refresh and RPC, each with headers and meta settings of its own; the
// namespace `px` proxies subscribe and publish, `pxh` the same with history, `pxr` subscribe and
// sub_refresh. Short clocks, so Centrifugo asks the sub_refresh proxy within a scenario.
const PROXY = "http://proxy.invalid"; // PROXY_PLACEHOLDER: replaced by the backend's address
PROFILES.proxy = profile(
  "proxy",
  config({
    expired_sub_close_delay: "1s",
    presence_update_interval: "1s",
    proxy: {
      connect: {
        enabled: true,
        endpoint: `${PROXY}/connect`,
        timeout: "1s",
        http_headers: ["Authorization"],
        emulated_headers: ["X-Custom"],
      },
      refresh: { enabled: true, endpoint: `${PROXY}/refresh`, timeout: "1s", include_connection_meta: true },
    },
  }, {
    channel: {
      proxy: {
        subscribe: {
          endpoint: `${PROXY}/subscribe`,
          timeout: "1s",
          http_headers: ["X-Custom"],
          include_connection_meta: true,
        },
        publish: { endpoint: `${PROXY}/publish`, timeout: "1s" },
        sub_refresh: { endpoint: `${PROXY}/sub_refresh`, timeout: "1s", include_connection_meta: true },
      },
      without_namespace: { allow_subscribe_for_client: true },
      namespaces: [
        ...NAMESPACES,
        { name: "px", subscribe_proxy_enabled: true, publish_proxy_enabled: true, presence: true },
        { name: "pxh", subscribe_proxy_enabled: true, publish_proxy_enabled: true, ...HISTORY },
        { name: "pxr", subscribe_proxy_enabled: true, sub_refresh_proxy_enabled: true },
      ],
    },
    rpc: {
      proxy: {
        endpoint: `${PROXY}/rpc`,
        timeout: "1s",
        http_headers: ["X-Custom"],
        emulated_headers: ["Authorization"],
        include_connection_meta: true,
      },
      without_namespace: { proxy_enabled: true },
    },
  }),
);

/** Where a Redis config points; the runner starts one redis-server per server and puts its address here. */
export const REDIS_PLACEHOLDER = "redis://redis.invalid:6379";

// Centrifugo's Redis engine and Sluice's Redis broker, each server on a redis-server of its own;
// health checks on
const REDIS = config({}, {
  engine: { type: "redis", redis: { address: REDIS_PLACEHOLDER } },
  health: { enabled: true },
});
PROFILES.redis = profile("redis", REDIS);
// The same, for the scenario that stops Redis under a server
PROFILES.redis_down = profile("redis_down", REDIS);

// Nothing but a secret and an API key: each server's defaults (which endpoints are on, and so on)
PROFILES.defaults = profile("defaults", {
  client: { token: { hmac_secret_key: SECRET } },
  http_api: { key: API_KEY },
});

// The main configuration on servers of their own, for scenarios that read server-wide counts
// (`info`): nothing else runs there.
PROFILES.alone = { ...PROFILES.main, name: "alone" };
// Anonymous connections on servers of their own, for server API calls without `user` (they reach
// every anonymous connection there).
PROFILES.anonymous_alone = { ...PROFILES.anonymous, name: "anonymous_alone" };
