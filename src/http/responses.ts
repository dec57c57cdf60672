/**
 * @module
 * The plain answers of every HTTP endpoint: a status alone (Centrifugo's refusals on its
 * connection endpoints), Go's `http.Error` text (where Centrifugo's Go libraries refuse), and a
 * short plain-text message (Sluice's own endpoints).
 */

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

/** A short plain-text answer: Sluice's own endpoints say why they refuse. */
export function textResponse(status: number, text: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}
