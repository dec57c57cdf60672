/**
 * Node (core/node.ts) with fake connections on the in-process broker: a publication reaches the
 * channel's local subscribers through the hub, the first and last subscriber subscribe and
 * unsubscribe the node at the broker (one operation per channel at a time), history and presence
 * follow the channel options, and user operations reach the addressed connections.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startNode } from "../helpers/core_fakes.ts";
import { MemoryBroker } from "../../src/broker/memory.ts";
import type { NodeClient } from "../../src/core/node.ts";
import type { Publication, StreamPosition } from "../../src/wire/protocol.ts";
import { isClientError } from "../../src/errors.ts";

/** A connection that records what the node did to it. */
class FakeConnection implements NodeClient {
  readonly delivered: Array<{ channel: string; pub: Publication; sp: StreamPosition }> = [];
  readonly joinLeave: string[] = [];
  disconnected?: { code: number; reason: string };
  readonly commandsBySession = true;
  constructor(readonly id: string, readonly user = "", readonly session = "") {}
  checkPosition(): void {}
  deliverPublication(channel: string, pub: Publication, sp: StreamPosition): void {
    this.delivered.push({ channel, pub, sp });
  }
  deliverJoinLeave(channel: string, kind: "join" | "leave"): void {
    this.joinLeave.push(`${kind} ${channel}`);
  }
  receive(): boolean {
    return true;
  }
  refreshPresence(): void {}
  disconnectNow(code: number, reason: string): void {
    this.disconnected = { code, reason };
  }
  serverSubscribe(): Promise<void> {
    return Promise.resolve();
  }
  serverUnsubscribe(): Promise<void> {
    return Promise.resolve();
  }
  serverRefresh(): void {}
}

/** A broker without the in-process shortcut: every (un)subscribe is an awaited operation, recorded. */
class RecordingBroker extends MemoryBroker {
  readonly operations: string[] = [];
  override async subscribe(channel: string): Promise<void> {
    this.operations.push(`subscribe ${channel}`);
    await new Promise((r) => setTimeout(r, 5));
    return super.subscribe(channel);
  }
  override async unsubscribe(channel: string): Promise<void> {
    this.operations.push(`unsubscribe ${channel}`);
    await new Promise((r) => setTimeout(r, 5));
    return super.unsubscribe(channel);
  }
}

const HISTORY = { namespaces: [{ name: "feed", history_size: 2, history_ttl: "60s", presence: true }] };

test("Node: a publication reaches every local subscriber of its channel, and no one else", async (t) => {
  const node = await startNode(t);
  const a = new FakeConnection("a"), b = new FakeConnection("b"), other = new FakeConnection("c");
  node.addSubscription("news", a);
  node.addSubscription("news", b);
  node.addSubscription("sport", other);
  await node.publish("news", '{"n":1}');
  assertEquals(a.delivered.map((d) => [d.channel, d.pub.data]), [["news", '{"n":1}']]);
  assertEquals(b.delivered.length, 1);
  assertEquals(other.delivered, []);
  node.removeSubscription("news", a);
  await node.publish("news", '{"n":2}');
  assertEquals([a.delivered.length, b.delivered.length], [1, 2]);
});

test("Node: the first local subscriber subscribes the node at the broker, the last one unsubscribes it", async (t) => {
  const broker = new MemoryBroker();
  const node = await startNode(t, {}, { broker });
  const a = new FakeConnection("a"), b = new FakeConnection("b");
  assertEquals(node.addSubscription("news", a), undefined, "in-process: done without a promise");
  node.addSubscription("news", b);
  assertEquals(broker.subscribedCount, 1);
  node.removeSubscription("news", a);
  assertEquals(broker.subscribedCount, 1, "b is still there");
  node.removeSubscription("news", b);
  assertEquals(broker.subscribedCount, 0);
  assertEquals(node.removeSubscription("news", b), undefined, "removing twice changes nothing");
});

test("Node: broker operations on one channel run one at a time, each bringing the broker in line with the hub", async (t) => {
  const broker = new RecordingBroker();
  const node = await startNode(t, {}, { broker });
  const a = new FakeConnection("a");
  const subscribed = node.addSubscription("news", a);
  assert(subscribed instanceof Promise, "a broker operation to wait for");
  const unsubscribed = node.removeSubscription("news", a);
  await Promise.all([subscribed, unsubscribed]);
  assertEquals(broker.operations, ["subscribe news", "unsubscribe news"], "the leave waited for the join");
  assertEquals(broker.subscribedCount, 0);

  // Leave and come back while the broker is still subscribing: one operation, as the hub ends up.
  broker.operations.length = 0;
  const pending = [node.addSubscription("sport", a), node.removeSubscription("sport", a)];
  pending.push(node.addSubscription("sport", a));
  await Promise.all(pending);
  assertEquals(broker.operations, ["subscribe sport"]);
  await node.publish("sport", "1");
  assertEquals(a.delivered.length, 1, "delivered once subscribed");
});

test("Node: history follows the channel options; the first publication of a stream carries its epoch", async (t) => {
  const node = await startNode(t, HISTORY);
  const sub = new FakeConnection("a");
  node.addSubscription("feed:1", sub);
  const first = await node.publish("feed:1", '"x"');
  assertEquals(first.offset, 1);
  assertEquals(sub.delivered[0].pub.epoch, first.epoch, "offset 1 tells its epoch");
  await node.publish("feed:1", '"y"');
  await node.publish("feed:1", '"z"');
  assertEquals((await node.publish("feed:1", '"skip"', { skipHistory: true })).offset, 0);
  const resolved = node.resolveChannel("feed:1");
  const history = await node.history("feed:1", resolved, { limit: -1 });
  assertEquals([history.offset, history.publications.map((p) => p.data)], [3, ['"y"', '"z"']], "size 2 kept");
  assertEquals((await node.publish("news", "1")).offset, 0, "no history at the top level");
  await assertRejects(
    () => node.history("feed:1", resolved, { limit: 1, reverse: true, since: { offset: 0, epoch: "" } }),
    (e) => isClientError(e) && e.code === 107,
  );
  await assertRejects(() => node.publish("nope:1", "1"), (e) => isClientError(e) && e.code === 102);
});

test("Node: presence adds, counts and removes connections per channel", async (t) => {
  const node = await startNode(t, HISTORY);
  await node.addPresence("feed:1", "c1", { user: "ann", client: "c1" });
  await node.addPresence("feed:1", "c2", { user: "ann", client: "c2" });
  assertEquals(Object.keys(await node.presence("feed:1")).sort(), ["c1", "c2"]);
  assertEquals(await node.presenceStats("feed:1"), { numClients: 2, numUsers: 1 });
  await node.removePresence("feed:1", "c1", "ann");
  assertEquals(Object.keys(await node.presence("feed:1")), ["c2"]);
});

test("Node: disconnectUser reaches the user's connections (narrowed by client), sparing the whitelist", async (t) => {
  const node = await startNode(t);
  const [a, b, c, other] = [
    new FakeConnection("a", "ann"),
    new FakeConnection("b", "ann"),
    new FakeConnection("c", "ann"),
    new FakeConnection("d", "bob"),
  ];
  for (const conn of [a, b, c, other]) node.hub.add(conn);
  await node.disconnectUser({ user: "ann" }, 3503, "bye", ["b"]);
  assertEquals([a.disconnected, b.disconnected, other.disconnected], [
    { code: 3503, reason: "bye" },
    undefined,
    undefined,
  ]);
  assertEquals(c.disconnected?.code, 3503);
  await node.disconnectUser({ user: "bob", client: "x" }, 3503, "bye");
  assertEquals(other.disconnected, undefined, "no such client of bob");
});

test("Node: close disconnects every connection with 3001 and reports draining", async (t) => {
  const node = await startNode(t);
  const a = new FakeConnection("a", "ann");
  node.hub.add(a);
  await node.close();
  assertEquals(a.disconnected, { code: 3001, reason: "shutdown" });
  assert(node.draining && node.isClosed, "closed");
});

test("Node: emulation requests reach the session held here; unknown sessions and nodes are told apart", async (t) => {
  const node = await startNode(t);
  node.hub.add(new FakeConnection("a", "ann", "s1"));
  assertEquals(await node.emulate(node.id, "s1", "{}"), "ok");
  assertEquals(await node.emulate(node.id, "s2", "{}"), "no_session");
  assertEquals(await node.emulate("elsewhere", "s1", "{}"), "unknown_node");
});
