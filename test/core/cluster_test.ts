/**
 * Cluster (core/cluster.ts): two nodes' clusters joined by an in-process controller that carries
 * messages as JSON, as a real one between processes would. Announcements make peers known at once,
 * surveys gather the peers' answers, user operations reach every node's targets, and malformed
 * messages are dropped with a warning.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { eventually, recordingLogger } from "../helpers/core_fakes.ts";
import { Cluster, type ClusterHost, type ControlledClient } from "../../src/core/cluster.ts";
import type {
  NodeInfo,
  ServerRefreshOptions,
  ServerSubscribeOptions,
  UserTarget,
} from "../../src/core/control.ts";
import type { ControlMessage } from "../../src/broker/broker.ts";

/** Delivers control messages between clusters on a later turn, through JSON. */
class Bus {
  readonly clusters = new Map<string, Cluster>();
  publish(msg: ControlMessage, toNode?: string): Promise<void> {
    const wire = JSON.stringify(msg);
    for (const [id, cluster] of this.clusters) {
      if (toNode === undefined || toNode === id) {
        setTimeout(() => void cluster.handleControl(JSON.parse(wire)), 0);
      }
    }
    return Promise.resolve();
  }
}

/** A connection that records the operations that reached it. */
class FakeControlled implements ControlledClient {
  readonly calls: string[] = [];
  constructor(readonly id: string) {}
  disconnectNow(code: number): void {
    this.calls.push(`disconnect ${code}`);
  }
  serverSubscribe(opts: ServerSubscribeOptions): Promise<void> {
    this.calls.push(`subscribe ${opts.channel}`);
    return Promise.resolve();
  }
  serverUnsubscribe(channel: string): Promise<void> {
    this.calls.push(`unsubscribe ${channel}`);
    return Promise.resolve();
  }
  serverRefresh(opts: ServerRefreshOptions): void {
    this.calls.push(`refresh ${opts.expireAt}`);
  }
}

class FakeHost implements ClusterHost {
  readonly log;
  readonly lines;
  readonly connections: Array<FakeControlled & { user: string }> = [];
  readonly emulated: Array<[string, string | Uint8Array]> = [];
  channels: Record<string, number> = {};
  workerGroup?: string;
  readonly metrics = { snapshot: () => Promise.resolve([{ name: this.id }]) };

  constructor(readonly id: string, private readonly bus: Bus) {
    ({ logger: this.log, lines: this.lines } = recordingLogger());
  }
  publishControl(msg: ControlMessage, toNode?: string): Promise<void> {
    return this.bus.publish(msg, toNode);
  }
  nodeInfo(): NodeInfo {
    return {
      uid: this.id,
      name: this.id,
      version: "t",
      num_clients: 0,
      num_users: 0,
      num_channels: 0,
      num_subs: 0,
      uptime: 0,
    };
  }
  targets(target: UserTarget): ControlledClient[] {
    return this.connections.filter((c) =>
      c.user === target.user && (!target.client || c.id === target.client)
    );
  }
  channelCounts(): Record<string, number> {
    return this.channels;
  }
  emulateLocally(session: string, data: string | Uint8Array): "ok" | "no_session" {
    this.emulated.push([session, data]);
    return session === "known" ? "ok" : "no_session";
  }
  connect(id: string, user: string): FakeControlled {
    const c = Object.assign(new FakeControlled(id), { user });
    this.connections.push(c);
    return c;
  }
}

/** Two started clusters on one bus, stopped after the test. */
function twoNodes(t: TestContext) {
  const bus = new Bus();
  const hosts = [new FakeHost("n1", bus), new FakeHost("n2", bus)];
  const clusters = hosts.map((h) => new Cluster(h));
  hosts.forEach((h, i) => bus.clusters.set(h.id, clusters[i]));
  for (const c of clusters) {
    c.start();
    t.cleanup(() => c.stop());
  }
  return { hosts, clusters };
}

test("Cluster: nodes that start together learn of each other at once (not at the next heartbeat)", async (t) => {
  const { clusters: [a, b] } = twoNodes(t);
  await eventually(() => a.isPeer("n2") && b.isPeer("n1"));
  assertEquals(a.nodes().map((n) => n.uid), ["n1", "n2"]);
  assert(!a.isPeer("n1"), "a node is not its own peer");
});

test("Cluster: a survey gathers every peer's answer (channels, emulation, metrics within a worker group)", async (t) => {
  const { hosts: [h1, h2], clusters: [a] } = twoNodes(t);
  await eventually(() => a.isPeer("n2"));
  h2.channels = { news: 3 };
  assertEquals(await a.survey("channels", {}), new Map([["n2", { news: 3 }]]));
  assertEquals(await a.survey("emulation", { session: "known", data: "{}" }, "n2"), new Map([["n2", "ok"]]));
  const bytes = await a.survey("emulation", { session: "other", data_b64: "AQI=" }, "n2");
  assertEquals([bytes.get("n2"), h2.emulated[1]], ["no_session", ["other", new Uint8Array([1, 2])]]);
  assertEquals((await a.survey("emulation", { session: 5 }, "n2")).get("n2"), "bad_request");
  assertEquals((await a.survey("metrics", { group: "g" })).get("n2"), null, "not in the group");
  h1.workerGroup = h2.workerGroup = "g";
  assertEquals((await a.survey("metrics", { group: "g" })).get("n2"), [{ name: "n2" }]);
  assertEquals(h1.emulated, [], "a node does not answer its own survey");
});

test("Cluster: without peers a survey answers at once, empty", async () => {
  const cluster = new Cluster(new FakeHost("alone", new Bus()));
  assertEquals(await cluster.survey("channels", {}), new Map());
});

test("Cluster: user operations reach the addressed connections on every node", async (t) => {
  const { hosts: [h1, h2], clusters: [a] } = twoNodes(t);
  const ann1 = h1.connect("c1", "ann"), ann2 = h2.connect("c2", "ann"), bob = h2.connect("c3", "bob");
  await a.broadcast({ type: "subscribe", target: { user: "ann" }, opts: { channel: "news" } });
  await a.broadcast({ type: "unsubscribe", target: { user: "ann", client: "c2" }, channel: "news" });
  await a.broadcast({ type: "refresh", target: { user: "ann" }, opts: { expireAt: 42 } });
  await a.broadcast({
    type: "disconnect",
    target: { user: "ann" },
    code: 3503,
    reason: "bye",
    whitelist: ["c1"],
  });
  await eventually(() => ann2.calls.length === 4);
  assertEquals(ann1.calls, ["subscribe news", "refresh 42"]);
  assertEquals(ann2.calls, ["subscribe news", "unsubscribe news", "refresh 42", "disconnect 3503"]);
  assertEquals(bob.calls, []);
});

test("Cluster: malformed control messages are dropped with a warning, nothing done", async () => {
  const host = new FakeHost("n1", new Bus());
  const ann = host.connect("c1", "ann");
  const cluster = new Cluster(host);
  const malformed: unknown[] = [
    null,
    { type: 5 },
    { type: "nonsense", from: "n2" },
    { type: "subscribe", target: { user: 5 }, opts: { channel: "news" } },
    { type: "disconnect", target: { user: "ann" }, code: "3000", reason: "x" },
    { type: "refresh", target: { user: "ann" }, opts: { expireAt: 1.5 } },
    { type: "node_info", from: "n2", info: { uid: "n2" } },
    { type: "survey", from: "n2", id: "s", op: "delete_everything" },
  ];
  for (const msg of malformed) await cluster.handleControl(msg as ControlMessage);
  assertEquals(ann.calls, []);
  assertEquals(cluster.nodes().length, 1, "no peer learnt");
  const drops = host.lines.filter((l) => l.msg === "control message dropped");
  assertEquals(drops.length, malformed.length);
  assertEquals(drops.map((l) => l.why).slice(0, 3), ["no type", "no type", "unknown type"]);
});
