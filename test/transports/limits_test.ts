/**
 * Origins, body limits, client aborts, slow consumers, and what closed connections leave behind.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, sleep, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { collect, connected, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { token, userToken } from "../helpers/tokens.ts";
import {
  connectCommand,
  openHttpStream,
  openRaw,
  openSse,
  openTcpStream,
  rawSocket,
  waitForIdleCut,
} from "../helpers/raw.ts";
import { createTestServer } from "../../src/testing.ts";
import { MemoryBroker } from "../../src/broker/memory.ts";

test("a foreign Origin is refused with 403 on every connection endpoint", async (t) => {
  const s = await startServer(t, { allowed_origins: ["https://*.example.com", "http://localhost:3000"] });
  const tok = await userToken("o1");
  const evil = { Origin: "https://evil.test" };
  assertEquals(
    (await fetch(`${s.url}/connection/http_stream`, {
      method: "POST",
      headers: evil,
      body: connectCommand(tok),
    })).status,
    403,
  );
  assertEquals(
    (await fetch(`${s.url}/connection/sse?cf_connect=${encodeURIComponent(connectCommand(tok))}`, {
      headers: evil,
    })).status,
    403,
  );
  assertEquals(
    (await fetch(`${s.url}/emulation`, { method: "POST", headers: evil, body: "{}" })).status,
    403,
  );
  assertEquals((await fetch(`${s.url}/emulation`, { method: "OPTIONS", headers: evil })).status, 403);
  // the subdomain wildcard and exact entries pass, with CORS headers
  const ok = await openSse(s.url, connectCommand(tok), { Origin: "https://app.EXAMPLE.com" });
  t.cleanup(() => ok.close());
  assertEquals(ok.status, 200);
  assertEquals(ok.headers.get("access-control-allow-origin"), "https://app.EXAMPLE.com");
  assertEquals(ok.headers.get("access-control-allow-credentials"), "true");
  const pre = await fetch(`${s.url}/connection/http_stream`, {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:3000", "Access-Control-Request-Headers": "content-type" },
  });
  assertEquals(pre.status, 204);
  assertEquals(pre.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assertEquals(pre.headers.get("access-control-allow-headers"), "content-type");
  assertEquals(pre.headers.get("access-control-max-age"), "300");
  // apex domain does not match *.example.com
  assertEquals(
    (await fetch(`${s.url}/emulation`, {
      method: "POST",
      headers: { Origin: "https://example.com" },
      body: "{}",
    })).status,
    403,
  );
  assert(s.logs.some((l) => l.includes("origin is not allowed")));
});

test("an empty allowed_origins refuses every browser origin but not origin-less clients", async (t) => {
  const s = await startServer(t, { allowed_origins: [] });
  const tok = await userToken("o2");
  assertEquals(
    (await fetch(`${s.url}/connection/http_stream`, {
      method: "POST",
      headers: { Origin: "http://localhost" },
      body: connectCommand(tok),
    })).status,
    403,
  );
  const plain = await openHttpStream(s.url, connectCommand(tok));
  t.cleanup(() => plain.close());
  assertEquals(plain.status, 200);
});

test("bodies over the configured limits are refused with 413", async (t) => {
  const s = await startServer(t, {
    http_stream_max_request_body_size: 1024,
    sse_max_request_body_size: 1024,
    emulation_max_request_body_size: 2048,
  });
  const big = JSON.stringify({ id: 1, connect: { token: "x".repeat(2000) } });
  assertEquals((await fetch(`${s.url}/connection/http_stream`, { method: "POST", body: big })).status, 413);
  assertEquals((await fetch(`${s.url}/connection/sse`, { method: "POST", body: big })).status, 413);
  assertEquals((await fetch(`${s.url}/emulation`, { method: "POST", body: "y".repeat(5000) })).status, 413);
  // a body streamed without Content-Length is cut off too
  const chunked = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode("z".repeat(600)));
      c.close();
    },
  });
  const res = await fetch(
    `${s.url}/connection/http_stream`,
    { method: "POST", body: chunked, duplex: "half" } as RequestInit,
  );
  assertEquals(res.status, 413);
  // at the limit it is fine
  const okBody = connectCommand(await userToken("fits"));
  assert(okBody.length < 1024);
  const ok = await openHttpStream(s.url, okBody);
  t.cleanup(() => ok.close());
  assertMatch((await ok.next())!, { connect: {} });
});

for (const transport of TRANSPORTS) {
  test(`${transport}: a connection dropped by the client releases its resources`, async (t) => {
    const s = await startServer(t, {
      namespaces: [{
        name: "pr",
        allow_subscribe_for_client: true,
        presence: true,
        join_leave: true,
        force_push_join_leave: true,
      }],
    });
    const watcher = sdk(t, s, transport, { token: await userToken("watcher") });
    await connected(watcher);
    const watch = watcher.newSubscription("pr:room");
    await subscribed(watch);
    const joins = collect<{ info: { user: string } }>(watch, "join");
    // The leaver is a browser tab that goes away: its socket closes without an unsubscribe.
    const leaver = await openTcpStream(t, s.port, {
      body: connectCommand(await userToken("leaver"), 1, { subs: { "pr:room": {}, "pr:solo": {} } }),
    });
    await waitFor(() => joins.some((j) => j.info.user === "leaver"), "the leaver's join");
    assertEquals(s.node.hub.numClients, 2);
    assertEquals((await s.node.presenceStats("pr:solo")).numClients, 1);
    const left = once<{ info: { user: string } }>(watch, "leave");
    leaver.close();
    assertEquals((await left).info.user, "leaver");
    await waitFor(() => s.node.hub.numClients === 1, "client released");
    assertEquals(s.node.hub.hasSubscribers("pr:solo"), false);
    assertEquals((await s.node.presenceStats("pr:room")).numClients, 1);
    assertEquals((await s.node.presenceStats("pr:solo")).numClients, 0);
  });
}

test("an SSE connection dropped mid-way is released", async (t) => {
  const s = await startServer(t, { allow_subscribe_for_client: true });
  const connect = encodeURIComponent(connectCommand(await userToken("drop"), 1, { subs: { news: {} } }));
  const stream = await openTcpStream(t, s.port, { path: `/connection/sse?cf_connect=${connect}` });
  await waitFor(() => stream.received().includes('"connect"'), "connect reply");
  assertEquals(s.node.hub.numClients, 1);
  assertEquals(s.node.hub.channelSubscribers("news"), 1);
  stream.close();
  await waitFor(
    () => s.node.hub.numClients === 0 && !s.node.hub.hasSubscribers("news"),
    "release after the drop",
  );
});

test("a client that stops reading is disconnected as slow (3008) and released", async (t) => {
  const s = await startServer(t, { allow_subscribe_for_client: true, client_queue_max_size: 65536 });
  const body = connectCommand(await userToken("slowpoke"), 1, { subs: { firehose: {} } });
  const { sock, received } = await rawSocket(t, s.port);
  sock.write(
    `POST /connection/http_stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  await waitFor(() => s.node.hub.channelSubscribers("firehose") === 1, "subscribed");
  sock.pause(); // stop reading: the kernel buffers fill, then our queue
  const payload = { blob: "x".repeat(60_000) };
  for (let i = 0; i < 400 && s.node.hub.numClients > 0; i++) {
    await s.apiJson("publish", { channel: "firehose", data: payload });
    if (i % 20 === 0) await sleep(5); // paces the publisher (the writer gets turns), waits for nothing
  }
  await waitFor(() => s.node.hub.numClients === 0, "slow client disconnected", 10_000);
  assert(s.logs.some((l) => l.includes("client queue over its limit")), "slow disconnect logged");
  assert(received().length < 400 * 60_000, "the client did not receive everything");
}, { timeout: 30_000 });

test("quiet streams are not cut by the runtime's idle timeout", async (t) => {
  // The shortest idle timeout (Bun counts whole seconds), and a connection idle for real, opened
  // after the stream: once the runtime has cut that one, the quiet stream's turn has come too.
  const s = await startServer(t, {
    allow_subscribe_for_client: true,
    ping_interval: "0s",
    http_idle_timeout: "1s",
  });
  const stream = await openHttpStream(
    s.url,
    connectCommand(await userToken("quiet"), 1, { subs: { q: {} } }),
  );
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: {} });
  await waitForIdleCut(t, s.port);
  await s.apiJson("publish", { channel: "q", data: "still here" });
  assertMatch((await stream.next())!, { push: { channel: "q", pub: { data: "still here" } } });
});

test("closed connections and ended subscriptions keep no timers, hub entries or history records", async (t) => {
  const broker = new MemoryBroker();
  const s = await startServer(t, {
    uni_http_stream: true,
    namespaces: [{ name: "feed", history_size: 10, history_ttl: "60s", force_recovery: true }],
  }, [{ name: "probe", provides: { broker } }]);
  const timersBefore = s.node.timers.size;
  // 400 connect/close cycles with day-long tokens, each subscribed server-side to a fresh
  // channel with history (a recovery read per connection).
  for (let round = 0; round < 40; round++) {
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const tok = await userToken(`cycler${i}`, 24 * 3600, { channels: [`feed:${round}-${i}`] });
      const stream = await openRaw(
        `${s.url}/connection/uni_http_stream`,
        { method: "POST", body: JSON.stringify({ token: tok }) },
        "ndjson",
      );
      await stream.next();
      stream.close();
    }));
  }
  await waitFor(() => s.node.hub.numClients === 0, "every connection released");
  // Before cancel released entries, each closed connection kept its ping and expiry timers
  // (and with them the whole client) until their due time: a day.
  assert(
    s.node.timers.size <= timersBefore + 2,
    `${s.node.timers.size - timersBefore} timers left after 400 closed connections`,
  );
  assertEquals(broker.streamCount, 0, "reading never-published channels kept no history records");
});

test("subscribe/unsubscribe cycles with day-long subscription tokens leave no timers behind", async (t) => {
  const broker = new MemoryBroker();
  const server = await createTestServer({
    config: { namespaces: [{ name: "feed", history_size: 10, history_ttl: "60s", allow_recovery: true }] },
    plugins: [{ name: "probe", provides: { broker } }],
  });
  t.cleanup(() => server.close());
  const client = await server.connect({
    token: await token({ sub: "u" }, { secret: "test-secret", ttl: 86400 }),
  });
  t.cleanup(() => client.close());
  const node = server.server.node;
  const before = node.timers.size;
  for (let i = 0; i < 300; i++) {
    const channel = `feed:${i}`;
    const subToken = await token({ sub: "u", channel }, { secret: "test-secret", ttl: 86400 });
    await client.subscribe(channel, { token: subToken, recover: true, offset: 0, epoch: "" });
    await client.unsubscribe(channel);
  }
  assert(node.timers.size <= before + 1, `${node.timers.size - before} timers left after 300 cycles`);
  assertEquals(broker.streamCount, 0);
});

/**
 * A broker that answers later, as one across the network does. It overrides `subscribe`, so it has
 * no `subscribeNow` (MemoryBroker leaves it out then) and the node takes the awaited path, calling
 * the override; the plain MemoryBroker takes the synchronous one.
 */
class RemoteLikeBroker extends MemoryBroker {
  calls = 0;
  override subscribe(channel: string): Promise<void> {
    this.calls++;
    return sleep(5).then(() => super.subscribe(channel));
  }
  override unsubscribe(channel: string): Promise<void> {
    this.calls++;
    return sleep(5).then(() => super.unsubscribe(channel));
  }
}

for (
  const [kind, makeBroker] of [["in-process", () => new MemoryBroker()], [
    "awaited",
    () => new RemoteLikeBroker(),
  ]] as const
) {
  test(`server-side subscriptions (${kind} broker): delivered to, and left with no hub or broker entry, however the connection ends`, async (t) => {
    const broker = makeBroker();
    const s = await startServer(t, { uni_http_stream: true }, [{ name: "probe", provides: { broker } }]);
    const open = async (user: string, channels: string[]) =>
      await openRaw(
        `${s.url}/connection/uni_http_stream`,
        { method: "POST", body: JSON.stringify({ token: await userToken(user, 3600, { channels }) }) },
        "ndjson",
      );
    // Live: a personal and a shared channel, each delivered to (the subscriptions really exist).
    const a = await open("a", ["p-a", "shared"]);
    const b = await open("b", ["p-b", "shared"]);
    t.cleanup(() => {
      a.close();
      b.close();
    });
    assertMatch((await a.next())!, { connect: {} });
    assertMatch((await b.next())!, { connect: {} });
    assertEquals(broker.subscribedCount, 3);
    await s.apiJson("publish", { channel: "p-a", data: { to: "a" } });
    await s.apiJson("publish", { channel: "shared", data: { to: "all" } });
    assertMatch((await a.next())!, { channel: "p-a", pub: { data: { to: "a" } } });
    assertMatch((await a.next())!, { channel: "shared", pub: { data: { to: "all" } } });
    assertMatch((await b.next())!, { channel: "shared", pub: { data: { to: "all" } } });
    // Churn: 60 connections with fresh personal channels, a third of them cut before their connect
    // push (while their subscriptions are being made), the rest after it.
    await Promise.all(Array.from({ length: 60 }, async (_, i) => {
      const c = await open(`c${i}`, [`p-c${i}`, "shared", `g-${i % 4}`]);
      if (i % 3 !== 0) await c.next();
      c.close();
    }));
    a.close();
    b.close();
    await waitFor(() => s.node.hub.numClients === 0, "every connection released");
    await waitFor(
      () => broker.subscribedCount === 0,
      `broker subscriptions released (${broker.subscribedCount} left)`,
    );
    assertEquals(s.node.hub.numChannels, 0);
    if (broker instanceof RemoteLikeBroker) {
      assert(broker.subscribeNow === undefined, "a broker overriding subscribe is not subscribed around");
      // at least the live connections' three channels, each subscribed and unsubscribed
      assert(broker.calls >= 6, `the override was called ${broker.calls} times`);
    } else {
      assert(broker.subscribeNow !== undefined);
    }
  });
}
