/**
 * Unidirectional transports without any SDK: `uni_sse` (GET cf_connect / POST body) and
 * `uni_http_stream` (POST body), read with raw fetch streams and the `eventsource` package.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { emulate, openRaw, type RawStream } from "../helpers/raw.ts";
import { userToken } from "../helpers/tokens.ts";
import { EventSource } from "eventsource";

const config = {
  uni_sse: true,
  uni_http_stream: true,
  namespaces: [
    { name: "feed", history_size: 100, history_ttl: "60s", force_recovery: true },
    { name: "open", allow_subscribe_for_client: true },
  ],
};

type Kind = "uni_sse GET" | "uni_sse POST" | "uni_http_stream";
const KINDS: Kind[] = ["uni_sse GET", "uni_sse POST", "uni_http_stream"];

function openUni(
  s: TestServer,
  kind: Kind,
  connect: unknown,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  const body = JSON.stringify(connect);
  switch (kind) {
    case "uni_sse GET":
      return openRaw(
        `${s.url}/connection/uni_sse?cf_connect=${encodeURIComponent(body)}`,
        { headers },
        "sse",
      );
    case "uni_sse POST":
      return openRaw(`${s.url}/connection/uni_sse`, { method: "POST", body, headers }, "sse");
    case "uni_http_stream":
      return openRaw(`${s.url}/connection/uni_http_stream`, { method: "POST", body, headers }, "ndjson");
  }
}

for (const kind of KINDS) {
  test(`${kind}: connect push first, then bare publication pushes for token channels`, async (t) => {
    const s = await startServer(t, config);
    const stream = await openUni(s, kind, {
      token: await userToken("u1", 3600, { channels: ["feed:a", "news"] }),
    });
    t.cleanup(() => stream.close());
    assertEquals(stream.status, 200);
    const connect = await stream.next() as { connect: Record<string, unknown> };
    assertMatch(connect, {
      connect: {
        version: "0.1.0",
        ping: 25,
        subs: { "feed:a": { recoverable: true, positioned: true }, news: {} },
      },
    });
    assert(
      typeof connect.connect.session === "string" && connect.connect.node === undefined &&
        connect.connect.pong === undefined,
    );
    await s.apiJson("publish", { channel: "feed:a", data: { n: 1 } });
    await s.apiJson("publish", { channel: "news", data: "hi" });
    // a stream's first publication carries its epoch (as Centrifugo)
    const epoch = (connect.connect.subs as Record<string, { epoch?: string }>)["feed:a"].epoch;
    assertEquals(await stream.next(), { channel: "feed:a", pub: { data: { n: 1 }, offset: 1, epoch } });
    assertEquals(await stream.next(), { channel: "news", pub: { data: "hi" } });
  });

  test(`${kind}: a server disconnect is a disconnect push, then the stream ends`, async (t) => {
    const s = await startServer(t, config);
    const stream = await openUni(s, kind, { token: await userToken("u2") });
    t.cleanup(() => stream.close());
    await stream.next();
    await s.apiJson("disconnect", { user: "u2", disconnect: { code: 4001, reason: "maintenance" } });
    assertEquals(await stream.next(), { disconnect: { code: 4001, reason: "maintenance" } });
    assertEquals(await stream.next(2000), undefined);
    await waitFor(() => s.node.hub.numClients === 0, "released");
  });

  test(`${kind}: token problems become disconnect pushes (3005 expired, 3500 invalid, 3501 none)`, async (t) => {
    const s = await startServer(t, config);
    for (
      const [connect, code] of [
        [{ token: await userToken("u3", -5) }, 3005],
        [{ token: "not.a.token" }, 3500],
        [{}, 3501],
      ] as const
    ) {
      const stream = await openUni(s, kind, connect);
      t.cleanup(() => stream.close());
      assertEquals(stream.status, 200);
      assertMatch((await stream.next())!, { disconnect: { code } }, JSON.stringify(connect));
      assertEquals(await stream.next(2000), undefined);
    }
  });

  test(`${kind}: requested subs are honoured only where the client may subscribe`, async (t) => {
    const s = await startServer(t, config);
    const stream = await openUni(s, kind, {
      token: await userToken("u4"),
      subs: { "open:x": {}, "feed:locked": {} },
    });
    t.cleanup(() => stream.close());
    const connect = await stream.next() as { connect: { subs: Record<string, unknown> } };
    assertEquals(Object.keys(connect.connect.subs), ["open:x"]);
    const unknown = await openUni(s, kind, { token: await userToken("u4"), subs: { "nope:x": {} } });
    t.cleanup(() => unknown.close());
    assertMatch((await unknown.next())!, { disconnect: { code: 3501 } });
  });

  test(`${kind}: Centrifugo-style recovery from positions in the connect request`, async (t) => {
    const s = await startServer(t, config);
    const tok = await userToken("u5", 3600, { channels: ["feed:r"] });
    const first = await openUni(s, kind, { token: tok });
    const c1 = await first.next() as {
      connect: { subs: Record<string, { epoch: string; offset?: number }> };
    };
    const epoch = c1.connect.subs["feed:r"].epoch;
    first.close();
    for (let i = 1; i <= 3; i++) await s.apiJson("publish", { channel: "feed:r", data: { i } });
    const again = await openUni(s, kind, {
      token: tok,
      subs: { "feed:r": { recover: true, offset: 1, epoch } },
    });
    t.cleanup(() => again.close());
    const c2 = await again.next() as { connect: { subs: Record<string, Record<string, unknown>> } };
    assertMatch(c2.connect.subs["feed:r"], { recovered: true, was_recovering: true, offset: 1, epoch });
    const pubs = c2.connect.subs["feed:r"].publications as Array<{ offset: number }>;
    assertEquals(pubs.map((p) => p.offset), [2, 3]);
  });

  test(`${kind}: a token channel that can never be subscribed is a terminal disconnect (3501), not a retry loop`, async (t) => {
    const s = await startServer(t, config);
    for (const channels of [["news", "ünïcode"], ["unknown:ns"], ["x".repeat(300)]]) {
      const stream = await openUni(s, kind, { token: await userToken("u-bad", 3600, { channels }) });
      t.cleanup(() => stream.close());
      assertEquals(
        await stream.next(),
        { disconnect: { code: 3501, reason: "bad request" } },
        channels.join(),
      );
      assertEquals(await stream.next(), undefined);
    }
    assert(s.logs.some((l) => l.includes("bad channel name") && l.includes("ASCII")), "the log says why");
  });

  test(`${kind}: the session takes no commands through /emulation (404, nothing on the stream)`, async (t) => {
    const s = await startServer(t, config);
    const stream = await openUni(s, kind, { token: await userToken("u-emu", 3600, { channels: ["news"] }) });
    t.cleanup(() => stream.close());
    const { connect } = await stream.next() as { connect: { session: string } };
    const res = await emulate(s.url, connect.session, s.node.id, [
      { id: 1, publish: { channel: "news", data: { injected: true } } },
      { id: 2, presence: { channel: "news" } },
    ]);
    assertEquals(res.status, 404);
    await res.body?.cancel();
    // The stream carries the next publication, and no reply to the commands before it.
    await s.apiJson("publish", { channel: "news", data: "marker" });
    assertEquals(await stream.next(), { channel: "news", pub: { data: "marker" } });
  });
}

test("uni_sse: framing, event ids, pings as `event: ping`", async (t) => {
  const s = await startServer(t, { ...config, ping_interval: "1s", pong_timeout: "0s" });
  const stream = await openUni(s, "uni_sse GET", {
    token: await userToken("f1", 3600, { channels: ["feed:f"] }),
  });
  t.cleanup(() => stream.close());
  assertEquals(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
  await stream.next();
  await s.apiJson("publish", { channel: "feed:f", data: 1 });
  await stream.next();
  await waitFor(() => stream.text().includes("event: ping\ndata:\n\n"), "a ping event", 3000);
  const text = stream.text();
  assert(text.startsWith("\r\n"), "preamble");
  assert(/id: 1\.[0-9a-z]+\.0\.[A-Za-z]+\ndata: \{"connect"/.test(text), "connect event carries an id");
  assert(
    /id: 1\.[0-9a-z]+\.1\.[A-Za-z]+\ndata: \{"channel":"feed:f"/.test(text),
    "publication id has offset 1",
  );
});

test("uni_http_stream: pings are {} lines and never blank lines", async (t) => {
  const s = await startServer(t, { ...config, ping_interval: "1s", pong_timeout: "0s" });
  const stream = await openUni(s, "uni_http_stream", { token: await userToken("f2") });
  t.cleanup(() => stream.close());
  await stream.next();
  assertEquals(await stream.next(3000), {});
  assert(!stream.text().includes("\n\n"));
});

test("uni endpoints: bad JSON 400, too large 413, wrong method 405, foreign origin 403", async (t) => {
  const s = await startServer(t, {
    ...config,
    uni_sse_max_request_body_size: 512,
    uni_http_stream_max_request_body_size: 512,
  });
  const status = (path: string, init?: RequestInit) => fetch(`${s.url}${path}`, init).then((r) => r.status);
  assertEquals(await status("/connection/uni_sse?cf_connect=%7Bnope"), 400);
  assertEquals(await status("/connection/uni_sse?cf_connect=%5B1%5D"), 400);
  assertEquals(await status("/connection/uni_http_stream", { method: "POST", body: "{nope" }), 400);
  assertEquals(await status("/connection/uni_sse", { method: "POST", body: "x".repeat(1000) }), 413);
  assertEquals(await status("/connection/uni_http_stream", { method: "POST", body: "x".repeat(1000) }), 413);
  assertEquals(await status("/connection/uni_http_stream"), 405);
  assertEquals(await status("/connection/uni_sse", { method: "DELETE" }), 405);
  assertEquals(await status("/connection/uni_sse", { headers: { Origin: "https://evil.test" } }), 403);
  assertEquals(
    await status("/connection/uni_http_stream", {
      method: "OPTIONS",
      headers: { Origin: "http://allowed.example" },
    }),
    204,
  );
  assert(s.logs.some((l) => l.includes("connect request is not JSON")));
});

test("uni_sse with the eventsource package: messages arrive through onmessage", async (t) => {
  const s = await startServer(t, config);
  const tok = await userToken("es", 3600, { channels: ["news"] });
  const es = new EventSource(
    `${s.url}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token: tok }))}`,
  );
  t.cleanup(() => es.close());
  const messages: Array<Record<string, unknown>> = [];
  es.onmessage = (e) => messages.push(JSON.parse(e.data));
  await waitFor(() => messages.length === 1, "connect push");
  assertMatch(messages[0], { connect: { subs: { news: {} } } });
  await s.apiJson("publish", { channel: "news", data: { hello: "world" } });
  await waitFor(() => messages.length === 2, "publication");
  assertEquals(messages[1], { channel: "news", pub: { data: { hello: "world" } } });
});
