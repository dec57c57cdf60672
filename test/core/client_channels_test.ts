/**
 * ClientChannels (core/client_channels.ts), a connection's subscriptions: subscribe and
 * unsubscribe through hub and broker, the channel limit, publications buffered until a
 * subscription is live, server-side subscribe/unsubscribe, expiry (2501 / 3006) and refresh by
 * `onSubRefresh`, falling behind the stream (2500), and what removal releases (presence, leave).
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { command, connectedClient, eventually, FakeHooks, startNode } from "../helpers/core_fakes.ts";
import { ManualClock } from "../helpers/clock.ts";
import { MemoryBroker } from "../../src/broker/memory.ts";
import { publicationPush } from "../../src/core/codec.ts";
import { DisconnectCode, ErrorCode } from "../../src/errors.ts";

/** A namespace anyone may subscribe to, with presence and join/leave pushed to every subscriber. */
const PRESENT = {
  namespaces: [{
    name: "room",
    allow_subscribe_for_client: true,
    allow_subscribe_for_anonymous: true,
    presence: true,
    join_leave: true,
    force_push_join_leave: true,
  }],
};
/** Top-level channels keep history and clients may ask to recover. */
const RECOVERABLE = { history_size: 10, history_ttl: "60s", allow_recovery: true };

test("ClientChannels: subscribe joins hub and broker once per channel; unsubscribe leaves both", async (t) => {
  const broker = new MemoryBroker();
  const node = await startNode(t, {}, { broker });
  const a = await connectedClient(node);
  const b = await connectedClient(node);
  assertEquals(await command(a.client, a.transport, 2, "subscribe", { channel: "news" }), {
    id: 2,
    subscribe: {},
  });
  await command(b.client, b.transport, 2, "subscribe", { channel: "news" });
  assert(a.client.channels.isActive("news") && a.client.isSubscribed("news"), "live after the reply");
  assertEquals([node.hub.channelSubscribers("news"), broker.subscribedCount], [2, 1]);
  assertEquals((await command(a.client, a.transport, 3, "subscribe", { channel: "news" })).error.code, 105);
  await command(a.client, a.transport, 4, "unsubscribe", { channel: "news" });
  assertEquals([a.client.channels.has("news"), node.hub.channelSubscribers("news"), broker.subscribedCount], [
    false,
    1,
    1,
  ]);
  await command(b.client, b.transport, 3, "unsubscribe", { channel: "news" });
  assertEquals([node.hub.numChannels, broker.subscribedCount], [0, 0]);
});

test("ClientChannels: client_channel_limit refuses a subscription over it (106), server-side ones too", async (t) => {
  const node = await startNode(t, { client_channel_limit: 1 });
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "a" });
  assertEquals(
    (await command(client, transport, 3, "subscribe", { channel: "b" })).error.code,
    ErrorCode.LimitExceeded,
  );
  await client.serverSubscribe({ channel: "c" });
  assertEquals([...client.channels.values()].map((s) => s.channel), ["a"]);
  assertEquals(transport.pushes(), [], "nothing announced");
});

test("ClientChannels: publications arriving while a subscription is prepared wait for activate", async (t) => {
  const node = await startNode(t, RECOVERABLE);
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "news", recoverable: true });
  const sub = client.channels.get("news")!;
  sub.state = "subscribing";
  await node.publish("news", '{"n":1}');
  assertEquals(transport.pushes(), [], "buffered");
  client.channels.activate(sub);
  assertMatch(transport.pushes()[0], { channel: "news", pub: { data: { n: 1 }, offset: 1 } });
});

test("ClientChannels: server-side subscribe announces itself with a push; unsubscribe pushes 2000 even unsubscribed", async (t) => {
  const node = await startNode(t);
  const { client, transport } = await connectedClient(node);
  await client.serverSubscribe({ channel: "news", data: '{"hello":1}' });
  assertEquals(transport.pushes()[0], { channel: "news", subscribe: { data: { hello: 1 } } });
  assert(client.channels.get("news")?.serverSide === true && client.channels.isActive("news"), "live");
  await client.serverUnsubscribe("news");
  await client.serverUnsubscribe("other");
  assertEquals(transport.pushes().slice(1).map((p) => [p.channel, p.unsubscribe.code]), [["news", 2000], [
    "other",
    2000,
  ]]);
  assertEquals([client.channels.size, node.hub.numChannels], [0, 0]);
});

test("ClientChannels: an expired client-side subscription is unsubscribed with 2501, a server-side one disconnects (3006)", async (t) => {
  const clock = new ManualClock();
  const node = await startNode(t, { client_expired_sub_close_delay: "0s" }, { now: clock.now });
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "a" });
  const sub = client.channels.get("a")!;
  sub.expireAt = clock.seconds() - 1;
  client.channels.scheduleExpiry(sub);
  clock.advance(100, node.timers); // the wheel's next tick
  assertEquals((await transport.push("unsubscribe", "a")).unsubscribe, {
    code: 2501,
    reason: "subscription expired",
  });
  assertEquals([client.channels.has("a"), node.hub.numChannels, client.state], [false, 0, "connected"]);

  await client.serverSubscribe({ channel: "b" });
  const serverSide = client.channels.get("b")!;
  serverSide.expireAt = clock.seconds() - 1;
  client.channels.scheduleExpiry(serverSide);
  clock.advance(100, node.timers);
  assertEquals(await transport.closedWith(), DisconnectCode.SubExpired);
});

test("ClientChannels: onSubRefresh extends a subscription, retries when it fails, and expires it when told", async (t) => {
  const clock = new ManualClock();
  const nowSeconds = () => clock.seconds();
  const answers: Array<() => unknown> = [
    () => ({ expireAt: nowSeconds() + 3600, info: { v: 2 } }),
    () => {
      throw new Error("backend down");
    },
    () => ({ expired: true }),
  ];
  let asked = 0;
  const hooks = new FakeHooks({
    onSubscribe: () => ({ expireAt: nowSeconds() + 3600 }),
    onSubRefresh: () => answers[asked++]() as never,
  });
  hooks.serverRefresh.subscriptions = true;
  const node = await startNode(t, {}, { hooks, now: clock.now });
  const { client, transport } = await connectedClient(node);
  const reply = await command(client, transport, 2, "subscribe", { channel: "a" });
  assertEquals(reply.subscribe, {}, "no expires/ttl: the server refreshes it");
  const sub = client.channels.get("a")!;
  assert(sub.serverRefresh, "refreshed by the hook");
  client.channels.scheduleExpiry(sub, 0);
  clock.advance(100, node.timers); // the wheel's next tick
  await eventually(() => sub.chanInfo === '{"v":2}');
  assert(sub.expireAt > nowSeconds() + 3000, "extended");
  client.channels.scheduleExpiry(sub, 0);
  clock.advance(100, node.timers);
  await eventually(() => asked === 2);
  assertEquals(client.channels.get("a"), sub, "a failed hook keeps the subscription");
  assert(sub.expiryTimer !== undefined, "and asks again later");
  client.channels.scheduleExpiry(sub, 0);
  clock.advance(100, node.timers);
  assertEquals((await transport.push("unsubscribe", "a")).unsubscribe.code, 2501);
  assertEquals([asked, client.channels.size], [3, 0]);
});

test("ClientChannels: a positioned subscription behind its stream must recover (unsubscribe 2500)", async (t) => {
  const node = await startNode(t, RECOVERABLE);
  const { client, transport } = await connectedClient(node);
  await node.publish("news", '{"n":1}');
  const reply = await command(client, transport, 2, "subscribe", { channel: "news", recoverable: true });
  assertMatch(reply.subscribe, { recoverable: true, offset: 1 });
  const epoch = reply.subscribe.epoch as string;
  client.channels.checkPosition("news", { offset: 1, epoch });
  assertEquals(transport.pushes(), [], "at the top: nothing to do");
  // A publication the broker never delivered (offset 3 after 1): a gap.
  client.deliverPublication(
    "news",
    { data: "{}", offset: 3 },
    { offset: 3, epoch },
    publicationPush("news", {
      data: "{}",
      offset: 3,
    }),
  );
  assertEquals((await transport.push("unsubscribe", "news")).unsubscribe.code, 2500);
  assertEquals(client.channels.has("news"), false);
});

test("ClientChannels: removing a subscription releases presence and announces the leave", async (t) => {
  const hooks = new FakeHooks();
  const node = await startNode(t, PRESENT, { hooks });
  const watcher = await connectedClient(node);
  await command(watcher.client, watcher.transport, 2, "subscribe", { channel: "room:1", join_leave: true });
  const { client, transport } = await connectedClient(node);
  await command(client, transport, 2, "subscribe", { channel: "room:1" });
  assertEquals(Object.keys(await node.presence("room:1")).sort(), [client.id, watcher.client.id].sort());
  await watcher.transport.push("join", "room:1");
  client.transportGone();
  assertEquals((await watcher.transport.push("leave", "room:1")).leave.info.client, client.id);
  assertEquals(Object.keys(await node.presence("room:1")), [watcher.client.id]);
  assertEquals(hooks.of("onUnsubscribe").map((e) => e.client.id), [client.id]);
});
