/**
 * The outbox behind a response body (StreamWriter): the runtime pulls, writes coalesce, and the
 * client queue is bounded.
 *
 * The runtime's cost is per chunk, so writes made during one turn must reach a waiting reader as
 * one chunk, in order; a lone write must be handed over as the very bytes given (shared by every
 * subscriber of a publication, never copied); bytes wait in the outbox, not in the stream, until
 * the reader asks, and then go over joined in chunks of at most 64 KiB; close() must not lose what
 * is queued; abort() must drop it; the queue limit counts every byte not handed over.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { StreamWriter } from "../../src/transports/outbox/stream_writer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function sink(maxQueueBytes = 1 << 20): StreamWriter {
  return new StreamWriter({
    name: "uni_sse",
    unidirectional: true,
    emulation: false,
    framing: "sse",
    ping: enc.encode(":\n\n"),
    maxQueueBytes,
  });
}

/** Queues bytes (or a string's bytes) as the client does: with their size. */
function put(s: StreamWriter, message: string | Uint8Array): boolean {
  const bytes = typeof message === "string" ? enc.encode(message) : message;
  return s.write(bytes, bytes.byteLength);
}

/** Lets the current turn end, so the flush queue runs. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("StreamWriter: writes made in one turn reach the reader as one chunk, in order", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  for (const text of ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"]) assert(put(s, text));
  const { value, done } = await reader.read();
  assertEquals(done, false);
  assertEquals(dec.decode(value), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
});

test("StreamWriter: a lone write is handed over as the same bytes, not a copy", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  const bytes = enc.encode("data: shared\n\n");
  put(s, bytes);
  const { value } = await reader.read();
  assert(value === bytes, "the chunk is the Uint8Array that was written");
});

test("StreamWriter: a waiting reader gets each turn's writes as they come", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  const first = reader.read();
  await nextTurn(); // the reader is waiting (pulled, got nothing)
  put(s, "a");
  assertEquals(dec.decode((await first).value), "a");
  const second = reader.read();
  await nextTurn();
  put(s, "b");
  put(s, "c");
  assertEquals(dec.decode((await second).value), "bc");
});

test("StreamWriter: bytes wait in the outbox until the reader asks, then go over joined, ≤ 64 KiB a chunk", async () => {
  const s = sink();
  const parts = Array.from({ length: 10 }, (_, i) => new Uint8Array(20_000).fill(i));
  for (const p of parts) {
    put(s, p);
    await nextTurn(); // separate turns: nobody reads meanwhile
  }
  const reader = s.stream.getReader();
  const sizes: number[] = [];
  let got = new Uint8Array(0);
  while (sizes.reduce((a, b) => a + b, 0) < 200_000) {
    const { value } = await reader.read();
    sizes.push(value!.byteLength);
    got = new Uint8Array([...got, ...value!]);
  }
  assertEquals(sizes, [60_000, 60_000, 60_000, 20_000], "three writes per chunk, the rest last");
  for (let i = 0; i < 10; i++) assertEquals(got[i * 20_000], i, "in order");
});

test("StreamWriter: close() hands over what the turn collected, then ends the stream", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  put(s, "data: last\n\n");
  put(s, "data: disconnect\n\n");
  s.close();
  assert(s.isClosed);
  assertEquals(dec.decode((await reader.read()).value), "data: last\n\ndata: disconnect\n\n");
  assertEquals((await reader.read()).done, true);
  assert(put(s, "ignored"), "writes after close are ignored, not reported as overflow");
});

test("StreamWriter: abort() drops what was collected and errors the stream", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  put(s, "never sent");
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

test("StreamWriter: the queue limit counts every byte not handed over, whatever turn wrote it", async () => {
  const s = sink(10);
  assert(put(s, new Uint8Array(6)), "6 of 10 bytes");
  assert(!put(s, new Uint8Array(6)), "12 queued in one turn exceed 10");
  const t = sink(10);
  assert(put(t, new Uint8Array(6)));
  await nextTurn(); // nobody reads
  assert(!put(t, new Uint8Array(6)), "6 from an earlier turn + 6 exceed 10");
  const reader = t.stream.getReader();
  assertEquals((await reader.read()).value?.byteLength, 12, "the over-limit write was still kept in order");
  const u = sink(10);
  const r = u.stream.getReader();
  const pending = r.read();
  await nextTurn();
  assert(put(u, new Uint8Array(6)));
  assertEquals((await pending).value?.byteLength, 6);
  assert(put(u, new Uint8Array(6)), "bytes the reader took no longer count");
});

test("StreamWriter: once the reader cancels, writes are ignored and the owner hears once", async () => {
  const s = sink();
  let gone = 0;
  s.attach({ transportGone: () => gone++ }, {
    onClose: () => {},
    holdOpen: () => {},
    responseEnded: () => {},
    abort: () => {},
  });
  put(s, "pending");
  await s.stream.cancel();
  assert(s.isClosed);
  assert(put(s, "after"));
  await nextTurn();
  assertEquals(gone, 1);
});

test("StreamWriter: close() while the reader waits hands the turn's writes over, then ends", async () => {
  const s = sink();
  const reader = s.stream.getReader();
  const first = reader.read();
  await nextTurn();
  put(s, "bye ");
  put(s, "now");
  s.close();
  assertEquals(dec.decode((await first).value), "bye now");
  assertEquals((await reader.read()).done, true);
});

test("StreamWriter: close() tells the runtime the response ended; abort() cuts the connection", () => {
  const calls: string[] = [];
  const conn = {
    onClose: () => {},
    holdOpen: () => calls.push("holdOpen"),
    responseEnded: () => calls.push("responseEnded"),
    abort: () => calls.push("abort"),
  };
  const a = sink();
  a.attach({ transportGone: () => {} }, conn);
  put(a, "unread");
  a.close();
  const b = sink();
  b.attach({ transportGone: () => {} }, conn);
  put(b, "unread");
  b.abort();
  assertEquals(calls, ["holdOpen", "responseEnded", "holdOpen", "abort"]);
});

test("StreamWriter: a stream made after close() gives its queued bytes, then ends; one made after abort() errors", async () => {
  const closed = sink();
  put(closed, "disconnect");
  closed.close();
  const reader = closed.stream.getReader();
  assertEquals(dec.decode((await reader.read()).value), "disconnect");
  assertEquals((await reader.read()).done, true);

  const empty = sink();
  empty.close();
  assertEquals((await empty.stream.getReader().read()).done, true, "closed with nothing queued");

  const cut = sink();
  put(cut, "dropped");
  cut.abort();
  let failed = false;
  await cut.stream.getReader().read().catch(() => failed = true);
  assert(failed, "an aborted writer's stream errors");
});

test("StreamWriter: where the runtime drains sources itself, response() hands it the writer, no Web stream", () => {
  const s = sink();
  const drained: string[] = [];
  let source: unknown;
  s.attach({ transportGone: () => {} }, {
    onClose: () => {},
    holdOpen: () => {},
    responseEnded: () => {},
    abort: () => {},
    streamResponse(src, init) {
      source = src;
      return new Response(null, init);
    },
  });
  put(s, "a");
  put(s, "b");
  const res = s.response({ status: 200 });
  assertEquals(res.body, null);
  assert(source === s, "the writer itself is the source");
  // The runtime's side, as node_http's DirectDrain plays it: start, then pull while it can write.
  let ended = false;
  s.start({
    enqueue: (chunk) => drained.push(dec.decode(chunk)),
    close: () => ended = true,
    error: () => {},
  });
  s.pull();
  assertEquals(drained, ["ab"], "what was queued goes over joined at the first pull");
  s.pull(); // written without backpressure: the runtime asks for more at once
  put(s, "c");
  s.close();
  assertEquals(ended, false, "the queue is handed over before the end");
  s.flush();
  assertEquals(drained, ["ab", "c"]);
  assertEquals(ended, true);
});

test("StreamWriter: a preamble goes over alone; what follows waits for the next turn, joined", async () => {
  const s = sink();
  const chunks: string[] = [];
  s.writePreamble(enc.encode("\r\n"));
  put(s, "data: connect\n\n");
  // The runtime's side as node_http plays it: every chunk written at once, so it pulls again.
  s.start({
    enqueue: (chunk) => {
      chunks.push(dec.decode(chunk));
      s.pull();
    },
    close: () => {},
    error: () => {},
  });
  s.pull();
  assertEquals(chunks, ["\r\n"], "the preamble alone, though more was queued");
  put(s, "data: more\n\n");
  await nextTurn();
  assertEquals(chunks, ["\r\n", "data: connect\n\ndata: more\n\n"]);
});

test("StreamWriter: without a ping of its own, a stream pings with an empty reply framed for it, made once", () => {
  const stream = (framing: "sse" | "ndjson", unidirectional = false) =>
    new StreamWriter({
      name: "test",
      unidirectional,
      emulation: !unidirectional,
      framing,
      maxQueueBytes: 1024,
    });
  assertEquals(dec.decode(stream("sse").ping as Uint8Array), "data: {}\n\n");
  assertEquals(dec.decode(stream("ndjson").ping as Uint8Array), "{}\n");
  assertEquals(dec.decode(stream("ndjson", true).ping as Uint8Array), "{}\n");
  assert(stream("sse").ping === stream("sse").ping, "shared by every stream of the kind");
  assertEquals(dec.decode(sink().ping as Uint8Array), ":\n\n", "a ping given is the ping");
});
