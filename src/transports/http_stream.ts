/**
 * @module
 * Bidirectional HTTP streaming (`/connection/http_stream`): `POST` with the connect command as the
 * body; every reply is one line of JSON. Never writes a blank line: SDKs up to 5.7.1 try to parse
 * it and fail.
 */
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { openEmulationStream } from "./emulation_stream.ts";
import { statusResponse } from "../http/responses.ts";
import { readBodyBytes, readBodyText } from "../http/request_body.ts";
import { connectBodyLimits } from "./connect_body.ts";

export async function httpStreamHandler(req: Request, node: Node, conn: ConnInfo): Promise<Response> {
  if (req.method !== "POST") return statusResponse(405, { Allow: "POST, OPTIONS" });
  // The SDK's protobuf build sends `application/octet-stream`: varint-delimited commands, answered in kind.
  const protobuf = req.headers.get("content-type")?.startsWith("application/octet-stream") === true;
  const limits = connectBodyLimits(node, node.config.http_stream_max_request_body_size);
  const body = protobuf ? await readBodyBytes(req, limits) : await readBodyText(req, limits);
  if (body instanceof Response) return body;
  return openEmulationStream(node, req, conn, body, {
    name: "http_stream",
    framing: "ndjson",
    protobuf,
    contentType: protobuf ? "application/octet-stream" : "application/json",
  });
}
