/**
 * @module
 * `POST /emulation`: client-to-server commands for `sse` and `http_stream` connections, addressed
 * by `{session, node, data}`. Replies go to the session's stream, never into this response.
 *
 * Status codes (no bodies, as Centrifugo): 204 delivered; 400 malformed body; 404 unknown node
 * **or** unknown session (SDK 5.8 closes the transport and reconnects on 404, which is what a
 * client whose session is gone needs; Centrifugo answers 204); 405 wrong method; 413 body over
 * `emulation_max_request_body_size`; 500 when the session's node (another node, reached through
 * the broker) did not answer in time.
 */
import type { EmulationOutcome, Node } from "../core/node.ts";
import { decodeEmulationRequest } from "../core/codec_protobuf.ts";
import { statusResponse } from "../http/responses.ts";
import { readBodyBytes, readBodyText } from "../http/request_body.ts";

export async function emulationHandler(req: Request, node: Node): Promise<Response> {
  if (req.method !== "POST") return statusResponse(405, { Allow: "POST, OPTIONS" });
  const limits = {
    maxBytes: node.config.emulation_max_request_body_size,
    timeoutMs: node.config.http_body_timeout,
  };
  if (req.headers.get("content-type")?.startsWith("application/octet-stream")) {
    // The SDK's protobuf build: a protobuf EmulationRequest whose data are delimited commands.
    const bytes = await readBodyBytes(req, limits);
    if (bytes instanceof Response) return bytes;
    let request;
    try {
      request = decodeEmulationRequest(bytes);
    } catch {
      node.log.info("malformed protobuf emulation request");
      return statusResponse(400);
    }
    return answer(node, await node.emulate(request.node, request.session, request.data));
  }
  const text = await readBodyText(req, limits);
  if (text instanceof Response) return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    node.log.info("emulation request is not JSON");
    return statusResponse(400);
  }
  const { session, node: nodeId, data } = (body ?? {}) as Record<string, unknown>;
  if (
    typeof session !== "string" || typeof data !== "string" ||
    (nodeId !== undefined && typeof nodeId !== "string")
  ) {
    // Centrifugo answers 204 and drops such a request later; refused here, where it is known.
    node.log.info("malformed emulation request");
    return statusResponse(400);
  }
  return answer(node, await node.emulate((nodeId as string | undefined) ?? "", session, data));
}

function answer(node: Node, outcome: EmulationOutcome): Response {
  switch (outcome) {
    case "ok":
      return new Response(null, { status: 204 });
    case "unknown_node":
      node.log.debug("emulation for unknown node");
      return statusResponse(404);
    case "no_session":
      node.log.debug("emulation for unknown session");
      return statusResponse(404);
    case "unavailable":
      node.log.warn("emulation: the session's node did not answer");
      return statusResponse(500);
  }
}
