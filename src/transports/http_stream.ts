/**
 * @module
 * Bidirectional HTTP streaming (`/connection/http_stream`): `POST` with the connect command as the
 * body; every reply is one line of JSON. Never writes a blank line: SDKs up to 5.7.1 try to parse
 * it and fail.
 */
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { openBidirectionalStream } from "./bidirectional.ts";
import { textResponse } from "./transport.ts";
import { connectBodyLimits, readRequestBody } from "./request_body.ts";

export async function httpStreamHandler(req: Request, node: Node, conn: ConnInfo): Promise<Response> {
  if (req.method !== "POST") return textResponse(405, "Method Not Allowed", { Allow: "POST, OPTIONS" });
  if (req.headers.get("content-type") === "application/octet-stream") {
    // Protobuf framing is not implemented yet; refuse clearly rather than misread the body.
    return textResponse(415, "Unsupported Media Type: only the JSON protocol is available");
  }
  const body = await readRequestBody(
    req,
    connectBodyLimits(node, node.config.http_stream_max_request_body_size),
  );
  if (body instanceof Response) return body;
  return openBidirectionalStream(node, req, conn, body, {
    name: "http_stream",
    framing: "ndjson",
    contentType: "application/json",
  });
}
