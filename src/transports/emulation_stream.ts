/**
 * @module
 * Opening a bidirectional emulation stream (`sse` and `http_stream`): the request carries the
 * connect command; the response is the connection's downstream; later commands arrive through
 * `/emulation`.
 */
import { Client } from "../core/client.ts";
import type { Framing } from "../core/codec.ts";
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { StreamWriter } from "./outbox/stream_writer.ts";
import { streamHeaders } from "./stream_headers.ts";

export interface StreamOpenOptions {
  name: "sse" | "http_stream";
  framing: Framing;
  /** The body and the stream are varint-delimited protobuf (http_stream only). */
  protobuf?: boolean;
  /** Bytes written first (SSE sends `\r\n` so the EventSource sees `open` at once). */
  preamble?: Uint8Array;
  contentType?: string;
}

export function openEmulationStream(
  node: Node,
  req: Request,
  conn: ConnInfo,
  body: string | Uint8Array,
  opts: StreamOpenOptions,
): Response {
  // The ping is the outbox's default, an empty reply framed for the stream.
  const writer = new StreamWriter({
    name: opts.name,
    unidirectional: false,
    emulation: true,
    framing: opts.framing,
    protobuf: opts.protobuf,
    maxQueueBytes: node.config.client_queue_max_size,
  });
  const client = new Client(node, writer, { headers: req.headers, conn });
  writer.attach(client, conn);
  if (opts.preamble) writer.writePreamble(opts.preamble);
  client.receive(body); // the connect command, decoded with every later frame by the client
  return writer.response({ status: 200, headers: streamHeaders(opts.contentType) });
}
