/**
 * @module
 * `POST /emulation`: client-to-server commands for `sse` and `http_stream` connections, addressed
 * by `{session, node, data}`. Replies go to the session's stream, never into this response.
 *
 * Status codes: 204 delivered; 400 malformed body; 404 unknown node **or** unknown session (SDK
 * 5.8 closes the transport and reconnects on 404, which is what a client whose session is gone
 * needs); 405 wrong method; 413 body over `emulation_max_request_body_size`; 503 when the session's
 * node (another node, reached through the broker) did not answer in time.
 */
import type { Node } from "../core/node.ts";
import { textResponse } from "./transport.ts";
import { readRequestBody } from "./request_body.ts";

export async function emulationHandler(req: Request, node: Node): Promise<Response> {
  if (req.method !== "POST") return textResponse(405, "Method Not Allowed", { Allow: "POST, OPTIONS" });
  const text = await readRequestBody(req, {
    maxBytes: node.config.emulation_max_request_body_size,
    timeoutMs: node.config.http_body_timeout,
  });
  if (text instanceof Response) return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    node.log.info("emulation request is not JSON");
    return textResponse(400, "Bad Request: body must be JSON {session, node, data}");
  }
  const { session, node: nodeId, data } = (body ?? {}) as Record<string, unknown>;
  if (
    typeof session !== "string" || session === "" || typeof data !== "string" ||
    (nodeId !== undefined && typeof nodeId !== "string")
  ) {
    node.log.info("malformed emulation request");
    return textResponse(400, "Bad Request: session and data must be strings");
  }
  const outcome = await node.emulate((nodeId as string | undefined) ?? "", session, data);
  switch (outcome) {
    case "ok":
      return new Response(null, { status: 204 });
    case "unknown_node":
      return textResponse(404, "Not Found: unknown node");
    case "no_session":
      node.log.debug("emulation for unknown session");
      return textResponse(404, "Not Found: unknown session");
    case "unavailable":
      return textResponse(503, "Service Unavailable: the session's node did not answer");
  }
}
