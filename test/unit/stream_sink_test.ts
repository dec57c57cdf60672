/**
 * StreamSink: write coalescing per I/O turn and the bounded client queue.
 *
 * The runtime's cost is per chunk, so writes made during one turn must reach the stream as one
 * chunk, in order; a lone write must be handed over as the very bytes given (shared by every
 * subscriber of a publication, never copied); close() must not lose what the turn collected;
 * abort() must drop it; the queue limit must count collected and unread bytes alike.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { StreamSink } from "../../src/transports/transport.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function sink(maxQueueBytes = 1 << 20): StreamSink {
  return new StreamSink({
    name: "uni_sse",
    unidirectional: true,
    emulation: false,
    framing: "sse",
    pingBytes: enc.encode(":\n\n"),
    maxQueueBytes,
  });
}

/** Lets the current turn end, so the flush queue runs. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("StreamSink: writes made in one turn reach the reader as one chunk, in order", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  for (const text of ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"]) assert(s.write(enc.encode(text)));
  const { value, done } = await reader.read();
  assertEquals(done, false);
  assertEquals(dec.decode(value), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
});

test("StreamSink: a lone write is handed over as the same bytes, not a copy", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  const bytes = enc.encode("data: shared\n\n");
  s.write(bytes);
  const { value } = await reader.read();
  assert(value === bytes, "the chunk is the Uint8Array that was written");
});

test("StreamSink: writes in different turns are separate chunks", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  s.write(enc.encode("a"));
  await nextTurn();
  s.write(enc.encode("b"));
  await nextTurn();
  assertEquals(dec.decode((await reader.read()).value), "a");
  assertEquals(dec.decode((await reader.read()).value), "b");
});

test("StreamSink: close() hands over what the turn collected, then ends the stream", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  s.write(enc.encode("data: last\n\n"));
  s.write(enc.encode("data: disconnect\n\n"));
  s.close();
  assert(s.isClosed);
  assertEquals(dec.decode((await reader.read()).value), "data: last\n\ndata: disconnect\n\n");
  assertEquals((await reader.read()).done, true);
  assert(s.write(enc.encode("ignored")), "writes after close are ignored, not reported as overflow");
});

test("StreamSink: abort() drops what was collected and errors the stream", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  s.write(enc.encode("never sent"));
  s.abort();
  let failed = false;
  try {
    await reader.read();
  } catch {
    failed = true;
  }
  assert(failed, "the reader sees an error, not the collected bytes");
  await nextTurn(); // the pending flush finds nothing to hand over
});

test("StreamSink: the queue limit counts collected bytes and bytes the reader has not taken", async () => {
  const s = sink(10);
  assert(s.write(new Uint8Array(6)), "6 of 10 bytes");
  assert(!s.write(new Uint8Array(6)), "12 collected in one turn exceed 10");
  const t = sink(10);
  assert(t.write(new Uint8Array(6)));
  await nextTurn(); // flushed into the stream, which nobody reads
  assert(!t.write(new Uint8Array(6)), "6 unread in the stream + 6 collected exceed 10");
  const reader = t.stream.getReader();
  assertEquals((await reader.read()).value?.byteLength, 6);
  await nextTurn();
  assertEquals((await reader.read()).value?.byteLength, 6, "the over-limit write was still kept in order");
});

test("StreamSink: once the reader cancels, writes are ignored and the owner hears once", async () => {
  const s = sink();
  let gone = 0;
  s.attach({ transportGone: () => gone++ }, { onClose: () => {}, holdOpen: () => {} });
  s.write(enc.encode("pending"));
  await s.stream.cancel();
  assert(s.isClosed);
  assert(s.write(enc.encode("after")));
  await nextTurn();
  assertEquals(gone, 1);
});
