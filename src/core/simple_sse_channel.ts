/**
 * @module
 * The node channels of the "Simple SSE Server" drop-in, which its streams subscribe to and its
 * control port publishes to. An event for (channel, userId) reaches every stream whose token has
 * that channel and that userId; userId `*` reaches every user of the channel. So a stream
 * subscribes to two node channels, `simple_sse:<channel>#<user>` and `simple_sse:<channel>#*`.
 */

/** The node channel of (channel, user); user `*` is the channel's every user. */
export function simpleChannel(channel: string, user: string): string {
  return `simple_sse:${encodeURIComponent(channel)}#${user === "*" ? "*" : encodeURIComponent(user)}`;
}
