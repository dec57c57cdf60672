/**
 * @module
 * Opening a bidirectional emulation stream (`sse` and `http_stream`): the request carries the
 * connect command; the response is the connection's downstream; later commands arrive through
 * `/emulation`.
 */
import { Client } from "../core/client.ts";
import { frame, type Framing } from "../core/codec.ts";
import { protobufReplyFromJson } from "../core/codec_protobuf.ts";
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { streamHeaders, StreamSink } from "./transport.ts";

export interface StreamOpenOptions {
  name: "sse" | "http_stream";
  framing: Framing;
  /** The body and the stream are varint-delimited protobuf (http_stream only). */
  protobuf?: boolean;
  /** Bytes written first (SSE sends `\r\n` so the EventSource sees `open` at once). */
  preamble?: Uint8Array;
  contentType?: string;
}

export function openBidirectionalStream(
  node: Node,
  req: Request,
  conn: ConnInfo,
  body: string | Uint8Array,
  opts: StreamOpenOptions,
): Response {
  const sink = new StreamSink({
    name: opts.name,
    unidirectional: false,
    emulation: true,
    framing: opts.framing,
    pingBytes: pingFor(opts),
    protobuf: opts.protobuf,
    maxQueueBytes: node.config.client_queue_max_size,
  });
  const client = new Client(node, sink, { headers: req.headers, conn });
  sink.attach(client, conn);
  if (opts.preamble) sink.writePreamble(opts.preamble);
  client.receive(body); // the connect command, decoded with every later frame by the client
  return sink.response({ status: 200, headers: streamHeaders(opts.contentType) });
}

const pings = new Map<string, Uint8Array>();

/** A ping is an empty reply, framed for the stream: made once per framing, shared by every stream. */
function pingFor(opts: StreamOpenOptions): Uint8Array {
  const key = opts.protobuf ? "protobuf" : opts.framing;
  let ping = pings.get(key);
  if (!ping) pings.set(key, ping = opts.protobuf ? protobufReplyFromJson("{}") : frame("{}", opts.framing));
  return ping;
}
