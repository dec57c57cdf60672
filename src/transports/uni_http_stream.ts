/**
 * @module
 * Unidirectional HTTP streaming (`/connection/uni_http_stream`): `POST` with the ConnectRequest
 * JSON as the body; every push is one line of bare JSON; pings are `{}` lines.
 */
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { openUniStream, parseConnectRequest } from "./uni_stream.ts";
import { statusResponse } from "../http/responses.ts";
import { readBodyText } from "../http/request_body.ts";
import { connectBodyLimits } from "./connect_body.ts";

export async function uniHttpStreamHandler(req: Request, node: Node, conn: ConnInfo): Promise<Response> {
  if (req.method !== "POST") return statusResponse(405, { Allow: "POST, OPTIONS" });
  const text = await readBodyText(
    req,
    connectBodyLimits(node, node.config.uni_http_stream_max_request_body_size),
  );
  if (text instanceof Response) return text;
  const connect = parseConnectRequest(node, text, true);
  if (connect instanceof Response) return connect;
  return openUniStream(node, req, conn, connect, {
    name: "uni_http_stream",
    framing: "ndjson",
    contentType: "application/json",
  });
}
