/**
 * Wire-level behaviour without the SDK: framing, status codes, malformed input answered with
 * Centrifugo's codes and a log line, never a crash.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { userToken } from "../helpers/tokens.ts";
import {
  connectCommand,
  connectRaw,
  emulate,
  openHttpStream,
  openSse,
  type RawStream,
} from "../helpers/raw.ts";

const hasLog = (s: TestServer, fragment: string) => s.logs.some((l) => l.includes(fragment));

test("http_stream: response headers and one JSON reply per line, no blank lines", async (t) => {
  const s = await startServer(t);
  const stream = await openHttpStream(s.url, connectCommand(await userToken("h1"), 7));
  t.cleanup(() => stream.close());
  assertEquals(stream.status, 200);
  assert(stream.headers.get("cache-control")!.includes("no-store"));
  assertEquals(stream.headers.get("x-accel-buffering"), "no");
  const reply = await stream.next();
  assertMatch(reply!, { id: 7, connect: { version: "0.1.0", pong: true, ping: 25 } });
  const c = (reply as { connect: Record<string, unknown> }).connect;
  assert(typeof c.client === "string" && typeof c.session === "string" && c.node === s.node.id);
  assert(!stream.text().startsWith("\n") && !stream.text().includes("\n\n"), "no blank lines");
});

test("sse: text/event-stream, \\r\\n preamble, one reply per data: event", async (t) => {
  const s = await startServer(t);
  const stream = await openSse(s.url, connectCommand(await userToken("s1"), 3));
  t.cleanup(() => stream.close());
  assertEquals(stream.status, 200);
  assertEquals(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assertMatch((await stream.next())!, { id: 3, connect: {} });
  assert(stream.text().startsWith("\r\ndata: {"), "preamble then data event");
});

test("commands through /emulation are answered on the stream; replies echo ids", async (t) => {
  const s = await startServer(t, { allow_subscribe_for_client: true });
  const { stream, session, node } = await connectRaw(t, s, "raw");
  const res = await emulate(s.url, session, node, [
    { id: 57, subscribe: { channel: "a", flag: 1 } },
    { id: 58, subscribe: { channel: "b" } },
  ]);
  assertEquals(res.status, 204);
  assertEquals(await stream.next(), { id: 57, subscribe: {} });
  assertEquals(await stream.next(), { id: 58, subscribe: {} });
  await emulate(s.url, session, node, [{ id: 59, subscribe: { channel: "a" } }]);
  assertMatch((await stream.next())!, { id: 59, error: { code: 105 } });
  await emulate(s.url, session, node, [{ id: 60, publish: { channel: "a", data: 1 } }]);
  assertMatch((await stream.next())!, { id: 60, error: { code: 103 } });
});

test("unknown session or node → 404, malformed emulation body → 400, wrong method → 405", async (t) => {
  const s = await startServer(t);
  const { session, node } = await connectRaw(t, s, "raw");
  assertEquals((await emulate(s.url, "no-such-session", node, [{}])).status, 404);
  assertEquals((await emulate(s.url, session, "other-node", [{}])).status, 404);
  const post = (body: string) => fetch(`${s.url}/emulation`, { method: "POST", body }).then((r) => r.status);
  assertEquals(await post("{not json"), 400);
  assertEquals(await post(JSON.stringify({ session: 1, data: "x" })), 400);
  assertEquals(await post(JSON.stringify({ session, node, data: { not: "a string" } })), 400);
  assertEquals((await fetch(`${s.url}/emulation`)).status, 405);
  assertEquals((await fetch(`${s.url}/connection/http_stream`)).status, 405);
  assertEquals((await fetch(`${s.url}/connection/sse`, { method: "PUT" })).status, 405);
  assertEquals((await fetch(`${s.url}/connection/sse`)).status, 400, "sse without cf_connect");
});

async function expectDisconnect(stream: RawStream, code: number): Promise<void> {
  const msg = await stream.until((m) => "push" in m);
  assertMatch(msg!, { push: { disconnect: { code } } });
  assertEquals(await stream.next(2000), undefined, "stream ends after the disconnect");
}

test("malformed connect requests: 3501 on the stream, never a crash", async (t) => {
  const s = await startServer(t);
  for (
    const body of [
      "{nope",
      "[]",
      '{"id":1,"subscribe":{"channel":"x"}}',
      '{"connect":{}}',
      '{"id":1,"connect":{"token":5}}',
      "   ",
    ]
  ) {
    const stream = await openHttpStream(s.url, body);
    t.cleanup(() => stream.close());
    assertEquals(stream.status, 200);
    await expectDisconnect(stream, 3501);
  }
  assert(hasLog(s, "malformed connect request") || hasLog(s, "first command must be connect"));
  assertEquals(s.node.hub.numClients, 0);
});

test("garbage in command fields: error replies or 3501, each with a log line", async (t) => {
  const s = await startServer(t, {
    namespaces: [{
      name: "ns",
      allow_subscribe_for_client: true,
      history_size: 5,
      history_ttl: "5s",
      allow_history_for_client: true,
    }],
  });
  const cases: Array<[unknown, { error?: number; disconnect?: number }]> = [
    [{ id: 2, history: { channel: "ns:a", limit: "ten" } }, { error: 107 }],
    [{ id: 3, history: { channel: "ns:a", since: { offset: "x" } } }, { error: 107 }],
    [{ id: 4, publish: { channel: "ns:a" } }, { error: 107 }],
    [{ id: 5, subscribe: { channel: "x".repeat(300) } }, { error: 107 }],
    [{ id: 6, subscribe: { channel: "ns:ü" } }, { error: 107 }],
    [{ id: 7, subscribe: { channel: "zz:a" } }, { error: 102 }],
    // as Centrifugo: `ping` is not a client command; no RPC handler at all is "not available"
    [{ id: 8, ping: {} }, { disconnect: 3501 }],
    [{ id: 9, rpc: { method: "m" } }, { error: 108 }],
    [{ id: 10, subscribe: { channel: 42 } }, { disconnect: 3501 }],
    [{ id: 11, unsubscribe: {} }, { disconnect: 3501 }],
    [{ subscribe: { channel: "ns:a" } }, { disconnect: 3501 }],
    [{ id: 12, connect: {} }, { disconnect: 3501 }],
    [{ send: { data: 1 } }, { disconnect: 3508 }],
    [{ id: 13, subscribe: { channel: "ns:a", offset: -1 } }, { disconnect: 3501 }],
    [{ id: 14, refresh: { token: "" } }, { disconnect: 3501 }],
  ];
  for (const [cmd, expected] of cases) {
    const { stream, session, node } = await connectRaw(t, s, "raw");
    assertEquals((await emulate(s.url, session, node, [cmd])).status, 204);
    const msg = await stream.next();
    if (expected.error) {
      assertMatch(msg!, { error: { code: expected.error } }, JSON.stringify(cmd));
      stream.close(); // the connection survived the error; the client hangs up itself
    } else {
      assertMatch(msg!, { push: { disconnect: { code: expected.disconnect } } }, JSON.stringify(cmd));
      assertEquals(await stream.next(2000), undefined);
    }
  }
  // undecodable emulation data closes the session with 3501
  const { stream, session, node } = await connectRaw(t, s, "raw");
  await fetch(`${s.url}/emulation`, {
    method: "POST",
    body: JSON.stringify({ session, node, data: "{broken" }),
  });
  await expectDisconnect(stream, 3501);
  assert(hasLog(s, "malformed command") && hasLog(s, "bad command"), "log lines for bad input");
  await waitFor(() => s.node.hub.numClients === 0, "every raw client released");
});

test("token errors on a raw stream: 109 reply for expired, 3500 push for invalid", async (t) => {
  const s = await startServer(t);
  const expired = await openHttpStream(s.url, connectCommand(await userToken("old", -5), 4));
  t.cleanup(() => expired.close());
  assertEquals(await expired.next(), { id: 4, error: { code: 109, message: "token expired" } });
  const invalid = await openSse(s.url, connectCommand("a.b.c", 5));
  t.cleanup(() => invalid.close());
  await expectDisconnect(invalid, 3500);
  assert(hasLog(s, "invalid connection token"));
});

test("an unanswered connect error is closed as stale (3502)", async (t) => {
  const s = await startServer(t, { client_stale_close_delay: "300ms" });
  const stream = await openHttpStream(s.url, connectCommand(await userToken("late", -5)));
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { error: { code: 109 } });
  await expectDisconnect(stream, 3502);
});

test("a connection past its expiry is closed with 3005", async (t) => {
  const s = await startServer(t, { client_expired_close_delay: "0s" });
  const stream = await openHttpStream(s.url, connectCommand(await userToken("exp", 1)));
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: { expires: true } });
  await expectDisconnect(stream, 3005);
});
