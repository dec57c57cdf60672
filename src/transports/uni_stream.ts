/**
 * @module
 * Opening a unidirectional stream (`uni_sse`, `uni_http_stream`): the request carries a bare
 * ConnectRequest; the server answers with a connect push and then pushes only. Clients never
 * send anything, so subscriptions come from the token, the connect request's `subs`, or the
 * server API. The connect request's decoding is shared with uni_websocket (websocket.ts).
 */
import { Client } from "../core/client.ts";
import type { Framing } from "../core/codec.ts";
import type { ConnectRequest } from "../wire/protocol.ts";
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { StreamWriter } from "./outbox/stream_writer.ts";
import { streamHeaders } from "./stream_headers.ts";
import { statusResponse } from "../http/responses.ts";

export interface UniOpenOptions {
  name: "uni_sse" | "uni_http_stream";
  framing: Framing;
  /** Without one, a ping is an empty `{}` message (uni_http_stream). */
  ping?: Uint8Array;
  preamble?: Uint8Array;
  contentType?: string;
  /** Events carry position ids; `lastEventId` resumes from one. */
  eventIds?: boolean;
  lastEventId?: string | null;
}

/**
 * A unidirectional connect request (empty or `null` = `{}`), or why it is not one: every
 * unidirectional transport (uni_sse, uni_http_stream, uni_websocket) reads it the same way.
 */
export function decodeConnectRequest(text: string): ConnectRequest | "not json" | "not an object" {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not json";
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) return "not an object";
  return value as ConnectRequest;
}

/**
 * Parses the ConnectRequest JSON; returns Centrifugo's bare 400 when it is malformed. An absent
 * `cf_connect` is an empty request, an empty request body is not (Centrifugo: 400).
 */
export function parseConnectRequest(node: Node, text: string, fromBody = false): ConnectRequest | Response {
  if (fromBody && text.trim() === "") {
    node.log.info("unidirectional connect request body is empty");
    return statusResponse(400);
  }
  const decoded = decodeConnectRequest(text);
  if (typeof decoded === "string") {
    node.log.info(
      `unidirectional connect request is ${decoded === "not json" ? "not JSON" : "not a JSON object"}`,
    );
    return statusResponse(400);
  }
  return decoded;
}

export function openUniStream(
  node: Node,
  req: Request,
  conn: ConnInfo,
  connect: ConnectRequest,
  opts: UniOpenOptions,
): Response {
  const writer = new StreamWriter({
    name: opts.name,
    unidirectional: true,
    emulation: false,
    framing: opts.framing,
    ping: opts.ping,
    maxQueueBytes: node.config.client_queue_max_size,
    eventIds: opts.eventIds,
  });
  const client = new Client(node, writer, {
    headers: req.headers,
    conn,
    lastEventId: opts.lastEventId,
  });
  writer.attach(client, conn);
  if (opts.preamble) writer.writePreamble(opts.preamble);
  void client.startUnidirectional(connect);
  return writer.response({ status: 200, headers: streamHeaders(opts.contentType) });
}
