/**
 * The outbox behind a WebSocket (WebSocketWriter): what one turn queued goes to the socket at the
 * end of the turn, in the form Centrifugo's writer uses for each protocol — bidirectional JSON as
 * one text message joined by "\n" (no newline after the last), protobuf as one binary message,
 * unidirectional JSON one message per push, corked together. A lone message is handed over as the
 * very string or bytes given (shared by every subscriber). The queue limit counts what waits here
 * and what the runtime still buffers; closing sends what is queued, aborting drops it, and
 * nothing is sent after either.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { WebSocketWriter } from "../../src/transports/outbox/websocket_writer.ts";
import type { OutboxOptions } from "../../src/transports/outbox/outbox.ts";
import type { ServerWebSocket } from "../../src/runtime/types.ts";
import { protobufReplyFromJson } from "../../src/core/codec_protobuf.ts";

/** The connection's part (websocket.ts) reduced to what drives the writer. */
class Writer extends WebSocketWriter {
  open(socket: ServerWebSocket): void {
    this.attachSocket(socket);
  }
  close(): void {
    this.endWrites();
  }
  abort(): void {
    this.stopWrites();
  }
}

/** A socket that records what it was handed, one entry per send call. */
function recordingSocket() {
  const sent: Array<{ text?: string; texts?: readonly string[]; binary?: Uint8Array }> = [];
  const socket: ServerWebSocket & { bufferedAmount: number } = {
    sendText: (text) => void sent.push({ text }),
    sendTexts: (texts) => void sent.push({ texts }),
    sendBinary: (binary) => void sent.push({ binary }),
    bufferedAmount: 0,
    close() {},
    terminate() {},
  };
  return { socket, sent };
}

function writer(kind: "json" | "uni" | "protobuf", maxQueueBytes = 1 << 20): Writer {
  const opts: OutboxOptions = {
    name: kind === "uni" ? "uni_websocket" : "websocket",
    unidirectional: kind === "uni",
    emulation: false,
    framing: "ndjson",
    protobuf: kind === "protobuf",
    text: kind !== "protobuf",
    maxQueueBytes,
  };
  return new Writer(opts);
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("WebSocketWriter: bidirectional JSON — a turn's messages go out as one text message joined by newlines", async () => {
  const w = writer("json");
  const { socket, sent } = recordingSocket();
  w.open(socket);
  w.write('{"id":1,"subscribe":{}}', 23);
  w.write('{"push":{"channel":"a","pub":{"data":1}}}', 42);
  assertEquals(sent.length, 0, "nothing before the turn ends");
  await nextTurn();
  assertEquals(sent, [{ text: '{"id":1,"subscribe":{}}\n{"push":{"channel":"a","pub":{"data":1}}}' }]);
  w.write("{}", 2);
  await nextTurn();
  assertEquals(sent[1], { text: "{}" }, "a lone message as it is, no newline");
});

test("WebSocketWriter: unidirectional — one message per push, corked together; a lone one sent alone", async () => {
  const w = writer("uni");
  const { socket, sent } = recordingSocket();
  w.open(socket);
  const pushes = ['{"connect":{}}', '{"channel":"a","pub":{}}'];
  for (const p of pushes) w.write(p, p.length);
  await nextTurn();
  w.write(pushes[1], pushes[1].length);
  await nextTurn();
  assertEquals(sent, [{ texts: pushes }, { text: pushes[1] }]);
});

test("WebSocketWriter: protobuf — a lone reply is the same bytes; several are joined into one binary message", async () => {
  const w = writer("protobuf");
  const { socket, sent } = recordingSocket();
  w.open(socket);
  const a = protobufReplyFromJson('{"id":1,"connect":{}}');
  const b = protobufReplyFromJson("{}");
  w.write(a, a.byteLength);
  await nextTurn();
  assert(sent[0].binary === a, "not copied");
  w.write(a, a.byteLength);
  w.write(b, b.byteLength);
  await nextTurn();
  assertEquals([...sent[1].binary!], [...a, ...b]);
});

test("WebSocketWriter: what was queued before the socket opened goes out at open", () => {
  const w = writer("json");
  w.write('{"id":1,"connect":{}}', 21);
  w.write("{}", 2);
  const { socket, sent } = recordingSocket();
  w.open(socket);
  assertEquals(sent, [{ text: '{"id":1,"connect":{}}\n{}' }]);
});

test("WebSocketWriter: the limit counts what is queued plus what the runtime still buffers", async () => {
  const w = writer("json", 10);
  const { socket, sent } = recordingSocket();
  assert(w.write("123456", 6), "6 of 10, before the socket opened");
  assert(!w.write("123456", 6), "12 exceed 10");
  w.open(socket);
  assertEquals(sent.length, 1);
  socket.bufferedAmount = 8; // the runtime has not sent it yet
  assert(w.write("12", 2), "8 buffered + 2 queued");
  assert(!w.write("1", 1), "8 buffered + 3 queued exceed 10");
  await nextTurn();
  socket.bufferedAmount = 0;
  assert(w.write("1234567890", 10), "sent and drained: nothing counts any more");
});

test("WebSocketWriter: close sends what is queued at once; abort drops it; nothing goes out after either", async () => {
  const closing = writer("json");
  const a = recordingSocket();
  closing.open(a.socket);
  closing.write('{"id":2,"rpc":{}}', 17);
  closing.close();
  assertEquals(a.sent, [{ text: '{"id":2,"rpc":{}}' }], "before the close frame");
  assert(closing.isClosed);
  assert(closing.write("{}", 2), "writes after close are ignored, not reported as overflow");

  const aborted = writer("json");
  const b = recordingSocket();
  aborted.open(b.socket);
  aborted.write("dropped", 7);
  aborted.abort();
  await nextTurn();
  assertEquals(a.sent.length, 1);
  assertEquals(b.sent, [], "the scheduled flush finds nothing");
});

test("WebSocketWriter: every socket of a kind shares one ping, an empty reply in its form", () => {
  const [json1, json2, uni, protobuf] = [writer("json"), writer("json"), writer("uni"), writer("protobuf")];
  assertEquals(json1.ping, "{}");
  assertEquals(uni.ping, "{}");
  assert(protobuf.ping instanceof Uint8Array);
  assert(protobuf.ping === writer("protobuf").ping, "made once, not per connection");
  assertEquals([...protobuf.ping as Uint8Array], [...protobufReplyFromJson("{}")]);
  assert(json1.ping === json2.ping);
});
