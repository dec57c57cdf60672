/**
 * @module
 * What the transports share besides the outbox (outbox/): the response headers that keep proxies
 * from buffering or caching a stream, and the refusals and plain-text answers
 * of the connection endpoints.
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

/**
 * A refusal as Centrifugo answers on its connection endpoints: the status alone, no body, no
 * Content-Type (the reason goes to the log).
 */
export function statusResponse(status: number, headers?: HeadersInit): Response {
  return new Response(null, { status, headers });
}

/**
 * Go's `http.Error` answer, word for word: what Centrifugo answers where its Go libraries refuse (a
 * body it cannot decode, a WebSocket request without the upgrade, a path it has no route for).
 */
export function goError(status: number, text: string): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
  });
}

/** Go's mux for a path it has no route for. */
export const goNotFound = (): Response => goError(404, "404 page not found");

export function textResponse(status: number, text: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}
