/**
 * Client (core/client.ts), one session's state machine, on a recording transport and a node with
 * fake hooks: connect first, dispatch by method, error replies vs disconnects with Centrifugo's
 * codes, the pending-command bound (3013), slow queues (3008), pings, refresh, and what closing
 * releases (hub entry, subscriptions, broker channels, timers).
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  command,
  connectedClient,
  eventually,
  FakeHooks,
  RecordingTransport,
  startNode,
  usersFromConnectData,
} from "../helpers/core_fakes.ts";
import { ManualClock } from "../helpers/clock.ts";
import { Client } from "../../src/core/client.ts";
import { NO_REQUEST_HEADERS } from "../../src/core/connection.ts";
import { MemoryBroker } from "../../src/broker/memory.ts";
import { ClientError, Disconnect, DisconnectCode, ErrorCode } from "../../src/errors.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

// -------------------------------------------------------------------------------------------------
// Connect

test("Client: a first frame that does not start with connect (with an id) closes with 3501", async (t) => {
  const node = await startNode(t);
  for (const frame of [{ id: 1, subscribe: { channel: "news" } }, { connect: {} }]) {
    const transport = new RecordingTransport();
    const client = new Client(node, transport, { headers: new Headers() });
    client.receive(JSON.stringify(frame));
    assertEquals(transport.closed, { code: 3501, reason: "bad request" }, JSON.stringify(frame));
    assertEquals(transport.pushes(), [{ disconnect: { code: 3501, reason: "bad request" } }]);
    assertEquals(client.state, "closed");
    assert(!node.hub.has(client), "never registered");
  }
});

test("Client: malformed frames close with 3501; a unidirectional connection takes no frames", async (t) => {
  const node = await startNode(t);
  const transport = new RecordingTransport();
  const client = new Client(node, transport, { headers: new Headers() });
  assertEquals(client.receive("{not json"), true);
  assertEquals(transport.closed?.code, 3501);
  const uni = new Client(node, new RecordingTransport({ unidirectional: true }), { headers: new Headers() });
  assertEquals(uni.receive(JSON.stringify({ id: 1, connect: {} })), false, "answered as no such session");
});

test("Client: connect registers the connection, answers with its id, starts pings and reports onConnect", async (t) => {
  const hooks = usersFromConnectData();
  const node = await startNode(t, {}, { hooks });
  const { client, transport, reply } = await connectedClient(node, { data: { user: "ann" }, name: "app" });
  assertMatch(reply, { id: 1, connect: { client: client.id, version: node.version, ping: 25, pong: true } });
  assertEquals([client.state, client.user, client.clientName], ["connected", "ann", "app"]);
  assert(node.hub.has(client), "in the hub");
  assertEquals(node.hub.userConnections("ann"), [client]);
  assertEquals(node.timers.size, 1, "the first ping is scheduled");
  const connecting = hooks.of("onConnecting")[0];
  assertMatch(connecting, { protocol: "json", encoding: "json", name: "app", data: { user: "ann" } });
  assertMatch(await eventually(() => hooks.of("onConnect")[0]), {
    client: { id: client.id, user: "ann", transport: "http_stream", protocol: "json" },
  });
  assertEquals(transport.closed, undefined);
});

test("Client: request headers stay for hooks that see connected clients, and go once connected when none can", async (t) => {
  const headers = new Headers({ "x-user": "ann" });
  // No plugin: the connect step reads the headers (onConnecting could), nothing after it.
  const bare = await startNode(t);
  const alone = new Client(bare, new RecordingTransport(), { headers });
  assert(alone.requestHeaders === headers, "kept while connecting");
  alone.receive(JSON.stringify({ id: 1, connect: {} }));
  await eventually(() => alone.state === "connected");
  assert(alone.requestHeaders === NO_REQUEST_HEADERS, "let go once connected");
  // A hook that sees connected clients (onConnect here) gets them for the connection's life.
  const hooks = usersFromConnectData();
  const node = await startNode(t, {}, { hooks });
  const client = new Client(node, new RecordingTransport(), { headers });
  client.receive(JSON.stringify({ id: 1, connect: { data: { user: "ann" } } }));
  await eventually(() => client.state === "connected");
  assert(client.requestHeaders === headers, "kept");
  const connected = await eventually(() => hooks.of("onConnect")[0]);
  assertEquals((connected.client as { headers: Headers }).headers.get("x-user"), "ann");
});

test("Client: a protobuf connection names its protocol to hooks (as Centrifugo's proxy requests do)", async (t) => {
  const hooks = usersFromConnectData();
  const node = await startNode(t, {}, { hooks });
  const transport = new RecordingTransport({ protobuf: true });
  const client = new Client(node, transport, { headers: new Headers() });
  // One size-delimited Command {id: 1 (field 1), connect: {} (field 4, empty)}.
  client.receive(new Uint8Array([4, 0x08, 1, 0x22, 0]));
  await eventually(() => client.state === "connected");
  // Centrifugo: `protocol` is the transport's (protobuf), `encoding` the proxy's payloads (json).
  assertMatch(hooks.of("onConnecting")[0], { protocol: "protobuf", encoding: "json" });
  assertEquals(client.context().protocol, "protobuf");
  assertMatch(await eventually(() => hooks.of("onConnect")[0]), { client: { protocol: "protobuf" } });
  assert(transport.chunks.length > 0, "the reply went out as protobuf bytes");
});

test("Client: a connect refused with an error is answered, then the connection is closed as stale (3502)", async (t) => {
  const hooks = new FakeHooks({
    onConnecting: () => {
      throw new ClientError(ErrorCode.PermissionDenied);
    },
  });
  const clock = new ManualClock();
  const node = await startNode(t, { client_stale_close_delay: "50ms" }, { hooks, now: clock.now });
  const { client, transport, reply } = await connectedClient(node);
  assertEquals(reply, { id: 1, error: { code: 103, message: "permission denied" } });
  assert(!node.hub.has(client), "a refused connection is not registered");
  // Later commands are refused: the connection is not usable.
  client.receive(JSON.stringify({ id: 2, rpc: { method: "x" } }));
  assertEquals(await transport.closedWith(), 3501);
  const stale = await connectedClient(node);
  assertEquals(stale.transport.closed, undefined, "kept open until the stale delay");
  clock.advance(150, node.timers); // the delay, rounded up to the wheel's 100 ms tick
  assertEquals(stale.transport.closed?.code, DisconnectCode.Stale);
  assertEquals(node.timers.size, 0, "the stale timer ran; nothing else is left");
});

test("Client: a connect refused with a disconnect closes with its code", async (t) => {
  const hooks = new FakeHooks({
    onConnecting: () => {
      throw new Disconnect(DisconnectCode.ConnectionLimit);
    },
  });
  const node = await startNode(t, {}, { hooks });
  const transport = new RecordingTransport();
  new Client(node, transport, { headers: new Headers() }).receive(JSON.stringify({ id: 1, connect: {} }));
  assertEquals(await transport.closedWith(), 3504);
  assertEquals(transport.messages.filter((m) => m.id !== undefined), [], "no reply");
});

// -------------------------------------------------------------------------------------------------
// Commands

test("Client: commands are dispatched by method and answered by id, in arrival order", async (t) => {
  const hooks = new FakeHooks({ onRpc: (e) => ({ data: { echo: e.method } }) });
  const node = await startNode(t, {}, { hooks });
  const { client, transport } = await connectedClient(node);
  client.receive(
    [{ id: 2, subscribe: { channel: "news" } }, { id: 3, rpc: { method: "m" } }, {
      id: 4,
      unsubscribe: { channel: "news" },
    }]
      .map((c) => JSON.stringify(c)).join("\n"),
  );
  await transport.reply(4);
  assertEquals(transport.messages.filter((m) => m.id > 1), [
    { id: 2, subscribe: {} },
    { id: 3, rpc: { data: { echo: "m" } } },
    { id: 4, unsubscribe: {} },
  ]);
  assertEquals(client.channels.size, 0);
});

test("Client: a refused command is an error reply and the connection stays", async (t) => {
  const hooks = new FakeHooks({
    onRpc: (e) => {
      if (e.method === "boom") throw new Error("a plugin's bug");
      throw new ClientError(4000, "custom");
    },
  });
  const node = await startNode(t, {}, { hooks });
  const { client, transport } = await connectedClient(node);
  assertEquals(await command(client, transport, 2, "subscribe", { channel: "nope:x" }), {
    id: 2,
    error: { code: ErrorCode.UnknownChannel, message: "unknown channel" },
  });
  assertEquals((await command(client, transport, 3, "publish", { channel: "news" })).error.code, 107);
  assertEquals((await command(client, transport, 4, "rpc", { method: "x" })).error, {
    code: 4000,
    message: "custom",
  });
  assertEquals(
    (await command(client, transport, 5, "rpc", { method: "boom" })).error.code,
    ErrorCode.Internal,
  );
  assertEquals([client.state, transport.closed], ["connected", undefined]);
});

test("Client: protocol violations close the connection with Centrifugo's code", async (t) => {
  const hooks = new FakeHooks({
    onRpc: () => {
      throw new Disconnect(DisconnectCode.ForceNoReconnect);
    },
  });
  const node = await startNode(t, {}, { hooks });
  const cases: Array<[Record<string, unknown>, number]> = [
    [{ id: 2, subscribe: { channel: 5 } }, 3501], // a channel must be a string
    [{ id: 2, connect: {} }, 3501], // a second connect
    [{ id: 2, ping: {} }, 3501], // pings go server → client in protocol v2
    [{ id: 2, send: { data: {} } }, 3508], // no message handler, as Centrifugo OSS
    [{ id: 2, subscribe: { channel: "news", offset: -1 } }, 3501],
    [{ id: 2, rpc: { method: "bye" } }, 3503], // a hook's disconnect
    [{}, 3501], // a pong without a ping
  ];
  for (const [cmd, code] of cases) {
    const { client, transport } = await connectedClient(node);
    client.receive(JSON.stringify(cmd));
    assertEquals(await transport.closedWith(), code, JSON.stringify(cmd));
    assert(!node.hub.has(client), "released");
  }
});

test("Client: at most 256 commands wait; one more closes the connection with 3013", async (t) => {
  let admit!: () => void;
  const gate = new Promise<void>((r) => admit = r);
  const hooks = new FakeHooks({ onConnecting: async () => (await gate, { user: "u" }), onRpc: () => ({}) });
  const node = await startNode(t, {}, { hooks });
  const transport = new RecordingTransport();
  const client = new Client(node, transport, { headers: new Headers() });
  const frame = [{ id: 1, connect: {} }];
  for (let id = 2; id <= 256; id++) frame.push({ id, rpc: { method: "m" } } as never);
  client.receive(frame.map((c) => JSON.stringify(c)).join("\n"));
  assertEquals(transport.closed, undefined, "256 waiting (connect included) is within the bound");
  client.receive(JSON.stringify({ id: 257, rpc: { method: "m" } }));
  assertEquals(transport.closed, { code: 3013, reason: "too many requests" });
  admit();
  await eventually(() => hooks.of("onConnecting").length === 1);
  assertEquals(transport.messages.filter((m) => m.id !== undefined), [], "nothing answered after the close");
  assert(!node.hub.has(client));
});

// -------------------------------------------------------------------------------------------------
// Writing, pings, refresh

test("Client: a queue over its limit aborts the connection (3008) without writing more", async (t) => {
  const node = await startNode(t);
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "news" });
  const written = transport.chunks.length;
  transport.accepting = false;
  await node.publish("news", '{"n":1}');
  assert(transport.aborted && transport.closed === undefined, "aborted, not closed gracefully");
  assertEquals(transport.chunks.length, written + 1, "the publication that overflowed, no disconnect push");
  assertEquals([client.state, node.hub.numChannels], ["closed", 0]);
});

test("Client: a ping without a pong closes with 3012; answered pings keep the connection", async (t) => {
  const clock = new ManualClock();
  const node = await startNode(t, { ping_interval: "100ms", pong_timeout: "50ms" }, { now: clock.now });
  const answering = await connectedClient(node);
  const silent = await connectedClient(node);
  let pongs = 0;
  const isPing = (m: Record<string, unknown>) => Object.keys(m).length === 0;
  // A second in 10 ms steps: the answering client pongs within a step of each ping, well inside the
  // 50 ms pong timeout; the silent one never does. (A deadline is rounded up to the wheel's 100 ms
  // tick, so pings come every 100–200 ms.)
  for (let ms = 0; ms < 1000; ms += 10) {
    clock.advance(10, node.timers);
    const pings = answering.transport.messages.filter(isPing).length;
    for (; pongs < pings; pongs++) answering.client.receive("{}");
  }
  assertEquals(silent.transport.closed?.code, DisconnectCode.NoPong);
  assert(pongs >= 3, `pinged again and again (${pongs} pings)`);
  assertEquals([answering.client.state, answering.transport.closed], ["connected", undefined]);
});

test("Client: server API refresh extends the connection with a refresh push, or ends it (3005)", async (t) => {
  const node = await startNode(t);
  const { client, transport } = await connectedClient(node);
  const expireAt = nowSeconds() + 600;
  client.serverRefresh({ expireAt, info: '{"role":"x"}' });
  assertEquals(client.expireAt, expireAt);
  assertEquals(client.infoFor().connInfo, '{"role":"x"}');
  const refresh = (await transport.push("refresh")).refresh;
  assert(refresh.expires === true && refresh.ttl > 590 && refresh.ttl <= 600, JSON.stringify(refresh));
  client.serverRefresh({ expireAt: nowSeconds() - 1 });
  assertEquals(await transport.closedWith(), DisconnectCode.Expired);
});

test("Client: onRefresh at expiry extends the connection; {expired: true} ends it with 3005", async (t) => {
  // The first refresh extends by a second (with new info), the second ends the connection.
  const clock = new ManualClock();
  const nowSeconds = () => clock.seconds();
  const answers = [
    () => ({ expireAt: nowSeconds() + 1, info: { v: 2 } }),
    () => ({ expired: true as const }),
  ];
  let refreshes = 0;
  const hooks = new FakeHooks({
    onConnecting: () => ({ user: "u", expireAt: nowSeconds() + 1 }),
    onRefresh: () => answers[refreshes++](),
  });
  hooks.serverRefresh.connections = true;
  const node = await startNode(t, {}, { hooks, now: clock.now });
  const { client, transport, reply } = await connectedClient(node);
  assertEquals([reply.connect.expires, reply.connect.ttl], [undefined, undefined], "the server refreshes");
  assertEquals(refreshes, 0, "not before the expiry");
  clock.advance(1000, node.timers);
  await eventually(() => client.infoFor().connInfo === '{"v":2}');
  assertEquals(transport.closed, undefined);
  clock.advance(1000, node.timers);
  assertEquals(await transport.closedWith(), DisconnectCode.Expired);
  assertEquals([refreshes, hooks.of("onRefresh").length], [2, 2]);
});

// -------------------------------------------------------------------------------------------------
// Teardown

test("Client: when the transport goes, everything is released and nothing is written (onDisconnect 3000)", async (t) => {
  const broker = new MemoryBroker();
  const hooks = new FakeHooks();
  const node = await startNode(t, {}, { hooks, broker });
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "a" });
  await command(client, transport, 3, "subscribe", { channel: "b" });
  assertEquals([node.hub.numChannels, broker.subscribedCount], [2, 2]);
  const written = transport.chunks.length;
  client.transportGone();
  assertEquals(client.state, "closed");
  assert(!node.hub.has(client), "out of the hub");
  assertEquals([node.hub.numChannels, broker.subscribedCount, client.channels.size], [0, 0, 0]);
  assertEquals(node.timers.size, 0, "ping timer cancelled");
  assertEquals(transport.chunks.length, written);
  assertEquals(hooks.of("onUnsubscribe").map((e) => e.channel), ["a", "b"]);
  assertMatch(hooks.of("onDisconnect")[0], { code: 3000, reason: "connection closed" });
  client.transportGone();
  client.disconnectNow(3001, "shutdown");
  assertEquals(hooks.of("onDisconnect").length, 1, "released once");
});

test("Client: disconnectNow pushes the disconnect then closes, unless the close frame carries it", async (t) => {
  const node = await startNode(t);
  const stream = await connectedClient(node);
  stream.client.disconnectNow(3001, "shutdown");
  assertEquals(stream.transport.pushes(), [{ disconnect: { code: 3001, reason: "shutdown" } }]);
  assertEquals(stream.transport.closed, { code: 3001, reason: "shutdown" });
  const ws = await connectedClient(node, {}, new RecordingTransport({ disconnectInClose: true }));
  ws.client.disconnectNow(3001, "shutdown");
  assertEquals([ws.transport.pushes(), ws.transport.closed], [[], { code: 3001, reason: "shutdown" }]);
  assertEquals(node.hub.numClients, 0);
});
