/**
 * @module
 * The bounds of a connection request's body (`sse`, `http_stream`, `uni_sse`, `uni_http_stream`):
 * it carries the connect command, which Centrifugo expects within `client_stale_close_delay` of
 * the transport opening.
 */
import type { Node } from "../core/node.ts";
import type { BodyLimits } from "../http/request_body.ts";

export function connectBodyLimits(node: Node, maxBytes: number): BodyLimits {
  return { maxBytes, timeoutMs: node.config.client_stale_close_delay };
}
