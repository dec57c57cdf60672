/**
 * @module
 * Operational endpoints: `/health` (200 while the node is serving).
 */
import type { Node } from "../core/node.ts";

const JSON_TYPE = { "Content-Type": "application/json" } as const;

export function healthHandler(node: Node): Response {
  if (node.isClosed || node.draining) {
    return new Response('{"status":"shutting down"}', { status: 503, headers: JSON_TYPE });
  }
  if (!node.brokerHealthy()) {
    // A node that cannot reach its broker would accept clients it cannot serve (Centrifugo #1189).
    return new Response('{"status":"broker unavailable"}', { status: 503, headers: JSON_TYPE });
  }
  return new Response("{}", { status: 200, headers: JSON_TYPE });
}
