/**
 * Request bodies (src/http/request_body.ts): the body, or the response that refuses it — never a
 * throw. 413 over the limit (declared or streamed), 408 with `Connection: close` past the deadline,
 * 499 when the body breaks off.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { readBodyBytes, readBodyText } from "../../src/http/request_body.ts";

const AT = "http://127.0.0.1/x";
const limits = { maxBytes: 100, timeoutMs: 0 };

/** A request whose body arrives as these chunks, with no declared length. */
function streamed(chunks: string[], end: "close" | "never" | "error" = "close"): Request {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      if (end === "close") c.close();
      if (end === "error") c.error(new Error("connection reset"));
    },
  });
  return new Request(AT, { method: "POST", body, duplex: "half" } as RequestInit);
}

test("request body: text and bytes within the limit, declared or streamed", async () => {
  assertEquals(await readBodyText(new Request(AT, { method: "POST", body: "héllo" }), limits), "héllo");
  assertEquals(await readBodyText(streamed(["hé", "llo"]), limits), "héllo");
  const bytes = await readBodyBytes(streamed(["ab", "c"]), limits);
  assert(bytes instanceof Uint8Array, "bytes");
  assertEquals([...bytes], [97, 98, 99]);
  assertEquals(await readBodyText(new Request(AT, { method: "GET" }), limits), "");
});

test("request body: over the limit is 413, refused on the declared length before any read", async () => {
  const declared = new Request(AT, { method: "POST", body: "small", headers: { "content-length": "101" } });
  const res = await readBodyText(declared, limits);
  assert(res instanceof Response, "a response");
  assertEquals([res.status, await res.text()], [413, ""]);
  assertEquals(declared.bodyUsed, false);
  const over = await readBodyBytes(streamed(["x".repeat(60), "x".repeat(60)]), limits);
  assert(over instanceof Response, "a response");
  assertEquals(over.status, 413);
});

test("request body: past the deadline is 408 with Connection: close", async () => {
  const res = await readBodyText(streamed(["x"], "never"), { maxBytes: 100, timeoutMs: 50 });
  assert(res instanceof Response, "a response");
  assertEquals([res.status, res.headers.get("connection")], [408, "close"]);
});

test("request body: a body that breaks off is 499", async () => {
  const res = await readBodyBytes(streamed(["x"], "error"), limits);
  assert(res instanceof Response, "a response");
  assertEquals(res.status, 499);
});
