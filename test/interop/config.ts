/**
 * @module
 * The one configuration every interop target reads (a Centrifugo v6 JSON config) and what the
 * language suites are told about the server they test (environment variables, below).
 */

export const HMAC_SECRET = "interop-hmac-secret-0123456789abcdef";
export const API_KEY = "interop-api-key";

/** Channel options for a channel that allows what the SDK suites exercise. */
const open = {
  presence: true,
  join_leave: true,
  force_push_join_leave: true,
  history_size: 100,
  history_ttl: "300s",
  force_recovery: true,
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
  allow_presence_for_subscriber: true,
  allow_history_for_subscriber: true,
};

export const interopConfig = {
  log: { level: "info" },
  client: {
    token: { hmac_secret_key: HMAC_SECRET },
    allowed_origins: ["http://127.0.0.1"],
  },
  http_api: { key: API_KEY },
  channel: {
    without_namespace: open,
    namespaces: [
      // history and recovery, nothing else
      {
        name: "stream",
        history_size: 100,
        history_ttl: "300s",
        force_recovery: true,
        allow_subscribe_for_client: true,
      },
      // subscribe only with a subscription token
      { name: "secure", presence: true },
      // the Go suite: what a subscriber asks for on subscribe (the SDK's Positioned, Recoverable
      // and JoinLeave flags), nothing forced
      {
        name: "go_optin",
        presence: true,
        join_leave: true,
        history_size: 100,
        history_ttl: "300s",
        allow_positioning: true,
        allow_recovery: true,
        allow_subscribe_for_client: true,
        // join/leave pushes go to subscribers that may see presence
        allow_presence_for_subscriber: true,
      },
      // java: subscribe only with a subscription token, and subscribers may publish, so the channel
      // info a refreshed subscription token carries shows in the client's own publications
      { name: "java_secure", allow_publish_for_subscriber: true },
    ],
  },
};

/**
 * The variables a language suite reads. The suites are plain SDK programs: they know nothing
 * of which server is behind the URL.
 */
export function interopEnv(url: string, target: string): Record<string, string> {
  return {
    INTEROP_TARGET: target,
    INTEROP_HTTP_URL: url,
    INTEROP_WS_URL: `${url.replace(/^http/, "ws")}/connection/websocket`,
    INTEROP_API_URL: `${url}/api`,
    INTEROP_API_KEY: API_KEY,
    INTEROP_HMAC_SECRET: HMAC_SECRET,
  };
}
