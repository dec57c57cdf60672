/**
 * @module
 * Bidirectional SSE (`/connection/sse`): `GET` with the connect command in `cf_connect`, or `POST`
 * with it in the body. One reply per SSE event (`data: …\n\n`); commands come via `/emulation`.
 */
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { openEmulationStream } from "./emulation_stream.ts";
import { statusResponse } from "../http/responses.ts";
import { queryOf } from "../http/request_url.ts";
import { readBodyText } from "../http/request_body.ts";
import { connectBodyLimits } from "./connect_body.ts";

const PREAMBLE = new TextEncoder().encode("\r\n");

export async function sseHandler(req: Request, node: Node, conn: ConnInfo): Promise<Response> {
  let body: string;
  if (req.method === "GET") {
    body = queryOf(req.url).get("cf_connect") ?? "";
    if (body === "") {
      node.log.info("sse request without cf_connect");
      return statusResponse(400);
    }
  } else if (req.method === "POST") {
    const read = await readBodyText(req, connectBodyLimits(node, node.config.sse_max_request_body_size));
    if (read instanceof Response) return read;
    body = read;
  } else {
    return statusResponse(405, { Allow: "GET, POST" });
  }
  return openEmulationStream(node, req, conn, body, {
    name: "sse",
    framing: "sse",
    preamble: PREAMBLE,
    contentType: "text/event-stream; charset=utf-8",
  });
}
