/**
 * @module
 * Unidirectional SSE (`/connection/uni_sse`): `GET` with the ConnectRequest JSON in `cf_connect`
 * (absent = empty request), or `POST` with it as the body. Pushes are bare JSON in `data:` lines;
 * pings are `event: ping` with empty data. Every event that moves a channel's position carries an
 * `id:`; a reconnecting EventSource's `Last-Event-ID` header (or `last_event_id` query parameter)
 * resumes every channel from history — see `core/resume.ts`.
 */
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { openUniStream, parseConnectRequest } from "./uni_stream.ts";
import { statusResponse } from "../http/responses.ts";
import { queryOf } from "../http/request_url.ts";
import { readBodyText } from "../http/request_body.ts";
import { connectBodyLimits } from "./connect_body.ts";

const encoder = new TextEncoder();
const PREAMBLE = encoder.encode("\r\n");
const preambles = new Map<number, Uint8Array>();

/** `\r\n` gets the headers out at once; `retry:` sets the EventSource reconnect delay if configured. */
function preamble(retryMs: number): Uint8Array {
  if (retryMs <= 0) return PREAMBLE;
  let p = preambles.get(retryMs);
  if (!p) preambles.set(retryMs, p = encoder.encode(`\r\nretry: ${Math.round(retryMs)}\n\n`));
  return p;
}
const PING = encoder.encode("event: ping\ndata:\n\n");

export async function uniSseHandler(req: Request, node: Node, conn: ConnInfo): Promise<Response> {
  const query = queryOf(req.url);
  let text: string;
  if (req.method === "GET") {
    text = query.get("cf_connect") ?? "";
  } else if (req.method === "POST") {
    const read = await readBodyText(
      req,
      connectBodyLimits(node, node.config.uni_sse_max_request_body_size),
    );
    if (read instanceof Response) return read;
    text = read;
  } else {
    return statusResponse(405, { Allow: "GET, POST" });
  }
  const connect = parseConnectRequest(node, text, req.method === "POST");
  if (connect instanceof Response) return connect;
  return openUniStream(node, req, conn, connect, {
    name: "uni_sse",
    framing: "sse",
    ping: PING,
    preamble: preamble(node.config.uni_sse_retry),
    contentType: "text/event-stream; charset=utf-8",
    eventIds: true,
    lastEventId: req.headers.get("last-event-id") ?? query.get("last_event_id"),
  });
}
