/**
 * @module
 * What the transports share besides the outbox (outbox/) and HTTP (../http/): the response
 * headers that keep proxies from buffering or caching a stream.
 */

const NO_CACHE = {
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
  "Pragma": "no-cache",
  "Expires": "0",
  "X-Accel-Buffering": "no",
} as const;
const streamHeaderSets = new Map<string, Readonly<Record<string, string>>>();

/**
 * Headers Centrifugo sends on every streaming response: one frozen record per content type,
 * copied by the `Response` (a `Headers` built per connection cost a few % of the connect rate).
 */
export function streamHeaders(contentType = ""): Readonly<Record<string, string>> {
  let h = streamHeaderSets.get(contentType);
  if (!h) {
    h = Object.freeze(contentType ? { ...NO_CACHE, "Content-Type": contentType } : { ...NO_CACHE });
    streamHeaderSets.set(contentType, h);
  }
  return h;
}
