/**
 * WebSocket: the official SDK with Centrifugo's default URL form (`ws://…/connection/websocket`),
 * the seeds' transport lists falling back to HTTP when websocket is off, uni_websocket with a plain
 * WebSocket client, hostile input (oversized, garbage, binary, protobuf asked for, foreign Origin, no
 * connect, a request that is not an upgrade), and the SDK's protobuf build over WebSocket.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { Centrifuge } from "centrifuge";
import { startServer, type TestServer } from "../helpers/server.ts";
import { collect, once } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { rawSocket } from "../helpers/raw.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const onBun = (await getRuntime()).name === "bun";

const config = {
  presence: true,
  join_leave: true,
  history_size: 100,
  history_ttl: "300s",
  allow_recovery: true,
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
  allow_presence_for_subscriber: true,
  allow_history_for_subscriber: true,
  uni_websocket: true,
};

const wsUrl = (s: TestServer, path = "/connection/websocket") => s.url.replace(/^http/, "ws") + path;

function wsClient(
  t: TestContext,
  s: TestServer,
  token: string,
  opts: Record<string, unknown> = {},
): Centrifuge {
  const client = new Centrifuge(wsUrl(s), {
    token,
    websocket: WebSocket,
    minReconnectDelay: 50,
    maxReconnectDelay: 300,
    ...opts,
  });
  t.cleanup(() => client.disconnect());
  return client;
}

async function connectedOver(client: Centrifuge): Promise<string> {
  const ctx = once<{ transport: string }>(client, "connected");
  client.connect();
  return (await ctx).transport;
}

test("websocket: the SDK's default URL form — connect, subscribe, publish both ways, presence, history, join/leave", async (t) => {
  const s = await startServer(t, config);
  const alice = wsClient(t, s, await userToken("alice"));
  const bob = wsClient(t, s, await userToken("bob"));
  assertEquals(await connectedOver(alice), "websocket");
  assertEquals(await connectedOver(bob), "websocket");
  const subA = alice.newSubscription("room", { joinLeave: true });
  const joins = collect<{ info: { user: string } }>(subA, "join");
  const pubsA = collect<{ data: unknown; info?: { user: string } }>(subA, "publication");
  const readyA = once(subA, "subscribed");
  subA.subscribe();
  await readyA;
  const subB = bob.newSubscription("room");
  const readyB = once(subB, "subscribed");
  subB.subscribe();
  await readyB;
  await waitFor(() => joins.some((j) => j.info.user === "bob"), "bob's join");

  await subB.publish({ text: "from bob" });
  await s.apiJson("publish", { channel: "room", data: { text: "from the api" } });
  await waitFor(() => pubsA.length === 2, "both publications");
  assertEquals(pubsA.map((p) => p.data), [{ text: "from bob" }, { text: "from the api" }]);
  assertEquals(pubsA[0].info?.user, "bob");

  const presence = await subA.presence();
  assertEquals(Object.values(presence.clients).map((c) => c.user).sort(), ["alice", "bob"]);
  const history = await subA.history({ limit: 10 });
  assertEquals(history.publications.map((p) => p.data), [{ text: "from bob" }, { text: "from the api" }]);
  assertEquals(s.node.hub.numClients, 2);
});

test(
  "websocket: recovery after a forced reconnect, and a token refresh, over the same socket kind",
  async (t) => {
    const s = await startServer(t, config);
    let refreshed = 0;
    const client = wsClient(t, s, await userToken("rita", 2), {
      getToken: async () => (refreshed++, await userToken("rita", 3600)),
    });
    assertEquals(await connectedOver(client), "websocket");
    const sub = client.newSubscription("feed", { recoverable: true });
    const pubs = collect<{ data: { n: number } }>(sub, "publication");
    const first = once(sub, "subscribed");
    sub.subscribe();
    await first;
    await s.apiJson("publish", { channel: "feed", data: { n: 1 } });
    await waitFor(() => pubs.length === 1, "live");
    const again = once<Record<string, unknown>>(sub, "subscribed", 8000);
    for (const c of s.node.hub.userConnections("rita")) c.disconnectNow(3011, "force reconnect");
    for (let n = 2; n <= 4; n++) await s.apiJson("publish", { channel: "feed", data: { n } });
    assertMatch(await again, { wasRecovering: true, recovered: true });
    await waitFor(() => pubs.length === 4, "recovered");
    assertEquals(pubs.map((p) => p.data.n), [1, 2, 3, 4]);
    await waitFor(() => refreshed >= 1, "the SDK refreshed its 2 s token", 8000);
    assertEquals(client.state, "connected");
  },
  { timeout: 20_000 },
);

test("websocket: a server disconnect is the close frame's code and reason (terminal codes stop the SDK)", async (t) => {
  const s = await startServer(t, config);
  const client = wsClient(t, s, await userToken("kim"));
  await connectedOver(client);
  const gone = once<{ code: number; reason: string }>(client, "disconnected");
  await s.apiJson("disconnect", { user: "kim", disconnect: { code: 4501, reason: "bye" } });
  assertEquals(await gone, { code: 4501, reason: "bye" });
  await waitFor(() => s.node.hub.numClients === 0, "released");
});

test("uni_websocket: a plain WebSocket gets a connect push, publications (one per message) and the disconnect", async (t) => {
  const s = await startServer(t, config);
  const token = await userToken("una", 3600, { channels: ["news"] });
  for (const how of ["first message", "cf_connect"]) {
    const url = wsUrl(s, "/connection/uni_websocket") +
      (how === "cf_connect" ? `?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}` : "");
    const ws = new WebSocket(url);
    t.cleanup(() => ws.close());
    const messages: unknown[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
    ws.onmessage = (e) => messages.push(JSON.parse(e.data as string));
    await new Promise((resolve) => (ws.onopen = resolve));
    if (how === "first message") ws.send(JSON.stringify({ token }));
    await waitFor(() => messages.length === 1, `connect push (${how})`);
    assertMatch(messages[0] as Record<string, unknown>, { connect: { subs: { news: {} } } });
    await s.apiJson("publish", { channel: "news", data: { n: 1 } });
    await s.apiJson("publish", { channel: "news", data: { n: 2 } });
    await waitFor(() => messages.length === 3, "two publications, one message each");
    assertMatch(messages[2] as Record<string, unknown>, { channel: "news", pub: { data: { n: 2 } } });
    await s.apiJson("disconnect", { user: "una" });
    assertEquals(await closed, { code: 3503, reason: "force disconnect" });
    assertMatch(messages.at(-1) as Record<string, unknown>, { disconnect: { code: 3503 } });
  }
});

test("websocket: oversized, garbage and binary messages, protobuf on uni_websocket, a foreign Origin, no connect", async (t) => {
  const s = await startServer(t, {
    ...config,
    websocket_message_size_limit: 1024,
    client_stale_close_delay: "500ms",
  });
  const closeOf = async (send?: string | Uint8Array): Promise<number> => {
    const ws = new WebSocket(wsUrl(s));
    t.cleanup(() => ws.close());
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    await new Promise((resolve) => (ws.onopen = resolve));
    if (send !== undefined) ws.send(send);
    return await closed;
  };
  assertEquals(await closeOf("x".repeat(2000)), 1009, "over websocket_message_size_limit");
  assertEquals(await closeOf("not json"), 3501, "garbage");
  assertEquals(await closeOf(new Uint8Array([1, 2, 3])), 3501, "binary on the JSON protocol");
  assertEquals(
    await closeOf(JSON.stringify({ id: 1, subscribe: { channel: "x" } })),
    3501,
    "not connect first",
  );
  assertEquals(await closeOf(), 3502, "no connect within client_stale_close_delay");
  const upgradeHeaders = {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  const foreign = await fetch(`${s.url}/connection/websocket`, {
    headers: { ...upgradeHeaders, Origin: "https://evil.example" },
  });
  assertEquals(foreign.status, 403, "foreign Origin refused before upgrading");
  await foreign.body?.cancel();
  const uniProtobuf = await fetch(`${s.url}/connection/uni_websocket?format=protobuf`, {
    headers: upgradeHeaders,
  });
  assertEquals(uniProtobuf.status, 400, "uni_websocket is JSON only");
  await uniProtobuf.body?.cancel();
  await waitFor(() => s.node.hub.numClients === 0, "nothing held");
  assertEquals((await fetch(`${s.url}/health`)).status, 200, "alive");
});

test("websocket: a client that stops reading is disconnected as slow (3008), memory bounded", async (t) => {
  const s = await startServer(t, { ...config, client_queue_max_size: 65536 });
  const net = await import("node:net");
  const sock = net.connect(s.port, "127.0.0.1");
  t.cleanup(() => sock.destroy());
  await new Promise<void>((r) => sock.once("connect", () => r()));
  let received = 0;
  sock.on("data", (d: Uint8Array) => (received += d.length));
  sock.on("error", () => {});
  sock.write(
    "GET /connection/websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  await waitFor(() => received > 0, "101");
  const token = await userToken("slowpoke", 3600, { channels: ["firehose"] });
  sock.write(maskedTextFrame(JSON.stringify({ id: 1, connect: { token } })));
  await waitFor(() => s.node.hub.channelSubscribers("firehose") === 1, "subscribed server-side");
  sock.pause(); // stop reading: the kernel buffers fill, then the runtime's, then ours
  const payload = { blob: "x".repeat(60_000) };
  for (let i = 0; i < 400 && s.node.hub.numClients > 0; i++) {
    await s.apiJson("publish", { channel: "firehose", data: payload });
  }
  await waitFor(() => s.node.hub.numClients === 0, "slow client disconnected", 10_000);
  assert(s.logs.some((l) => l.includes("client queue over its limit")), "slow disconnect logged");
  assert(received < 400 * 60_000, "the client did not receive everything");
}, { timeout: 30_000 });

test("websocket + protobuf: the SDK's protobuf build connects, subscribes, publishes and receives, byte-exact", async (t) => {
  const s = await startServer(t, config);
  const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
  const make = async (user: string) => {
    const c = new ProtobufCentrifuge(wsUrl(s), { token: await userToken(user), websocket: WebSocket });
    t.cleanup(() => c.disconnect());
    const ctx = new Promise<{ transport: string }>((resolve) => c.once("connected", resolve));
    c.connect();
    assertEquals((await ctx).transport, "websocket");
    return c;
  };
  const alice = await make("pa");
  const bob = await make("pb");
  const sub = alice.newSubscription("room");
  const got: Array<{ data: Uint8Array; info?: { user: string } }> = [];
  sub.on("publication", (ctx) => got.push(ctx as unknown as (typeof got)[number]));
  const ready = new Promise((resolve) => sub.once("subscribed", resolve));
  sub.subscribe();
  await ready;
  const subB = bob.newSubscription("room");
  const readyB = new Promise((resolve) => subB.once("subscribed", resolve));
  subB.subscribe();
  await readyB;
  const text = JSON.stringify({ text: "über protobuf", n: 1 });
  await subB.publish(new TextEncoder().encode(text));
  await s.apiJson("publish", { channel: "room", data: { from: "api" } });
  await waitFor(() => got.length === 2, "both publications");
  assertEquals(new TextDecoder().decode(got[0].data), text, "the bytes the publisher sent");
  assertEquals(got[0].info?.user, "pb");
  assertEquals(JSON.parse(new TextDecoder().decode(got[1].data)), { from: "api" });
  const history = await sub.history({ limit: 10 });
  assertEquals(history.publications.length, 2);
  const presence = await sub.presence();
  assertEquals(Object.keys(presence.clients).length, 2);
  // Any bytes, byte-exact between protobuf clients (pretty JSON too); a JSON client of the channel gets
  // JSON text as JSON and other bytes as {"$binary": base64} — its framing never breaks.
  const json = wsClient(t, s, await userToken("pj"));
  await connectedOver(json);
  const jsonSub = json.newSubscription("room");
  const jsonGot = collect<{ data: unknown }>(jsonSub, "publication");
  const jsonReady = once(jsonSub, "subscribed");
  jsonSub.subscribe();
  await jsonReady;
  const binary = new Uint8Array([0xff, 0x00, 0x01, 0x0a]);
  const pretty = new TextEncoder().encode('{ "spaced": true }');
  await subB.publish(binary);
  await subB.publish(pretty);
  await waitFor(() => got.length === 4 && jsonGot.length === 2, "binary and pretty publications");
  assertEquals([...got[2].data], [...binary], "binary bytes, exactly");
  assertEquals(new TextDecoder().decode(got[3].data), '{ "spaced": true }', "JSON text, exactly");
  // not JSON.stringify's form: wrapped too, so the protobuf subscriber still gets the bytes exactly
  assertEquals(jsonGot.map((p) => p.data), [{ $binary: "/wABCg==" }, {
    $binary: btoa('{ "spaced": true }'),
  }]);
});

test(
  "websocket: a request with Upgrade: websocket but no Connection: upgrade is refused with 400 (as Centrifugo)",
  async (t) => {
    const s = await startServer(t, config);
    const raw = await rawSocket(t, s.port);
    raw.sock.write(
      "GET /connection/websocket HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    await waitFor(() => raw.received().includes("\r\n\r\n"), "the answer");
    assert(raw.received().startsWith("HTTP/1.1 400"), raw.received());
  },
  { skip: onBun ? "Bun.serve upgrades without Connection: upgrade" : false },
);

test(
  "the seeds' transport lists: websocket first, http_stream or sse when websocket is off or unavailable",
  async (t) => {
    for (const fallback of ["http_stream", "sse"] as const) {
      for (const disabled of [false, true]) {
        const s = await startServer(t, { ...config, websocket_disable: disabled });
        const client = new Centrifuge([
          { transport: "websocket", endpoint: wsUrl(s) },
          { transport: fallback, endpoint: `${s.url}/connection/${fallback}` },
        ], {
          token: await userToken("seed"),
          websocket: WebSocket,
          fetch: globalThis.fetch.bind(globalThis),
          readableStream: ReadableStream,
          eventsource: (await import("eventsource")).EventSource,
          emulationEndpoint: `${s.url}/emulation`,
          minReconnectDelay: 50,
          maxReconnectDelay: 300,
        });
        t.cleanup(() => client.disconnect());
        const expected = disabled ? fallback : "websocket";
        assertEquals(await connectedOver(client), expected, `${fallback}, websocket_disable=${disabled}`);
        client.disconnect();
      }
    }
  },
  { timeout: 30_000 },
);

/** One masked text frame, as a client must send it (payload < 64 KiB). */
function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = [1, 2, 3, 4];
  const head = payload.length < 126
    ? [0x81, 0x80 | payload.length]
    : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 255];
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head, 0);
  out.set(mask, head.length);
  payload.forEach((b, i) => (out[head.length + 4 + i] = b ^ mask[i % 4]));
  return out;
}
