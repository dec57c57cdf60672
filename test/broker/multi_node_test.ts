/**
 * Two Sluice nodes on one real Redis behave to a client like one node: the official SDK connected
 * to node A with its `/emulation` requests sent to node B, publications from either node, server
 * API calls reaching connections on the other node (WebSocket ones too, JSON and protobuf), and Redis killed and restarted mid-stream
 * without losing a publication for a client that recovers within the history window.
 */
import { afterAll, test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, sleep, waitFor } from "../assert.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { type RedisServer, startRedis } from "../helpers/redis.mjs";
import {
  collect,
  connected,
  EMULATION_TRANSPORTS,
  type EmulationTransport,
  fence,
  once,
  subscribed,
} from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { Centrifuge, type Options } from "centrifuge";
import { EventSource } from "eventsource";

const namespaces = [{
  name: "feed",
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
  presence: true,
  allow_presence_for_subscriber: true,
  join_leave: true,
  force_push_join_leave: true,
  history_size: 1000,
  history_ttl: "300s",
  force_recovery: true,
}];

let shared: Promise<RedisServer> | undefined;
afterAll(async () => await (await shared)?.stop());

/** Two nodes on `redis` with a prefix of their own; resolves once each knows the other. */
async function twoNodes(t: TestContext, redis: RedisServer) {
  const prefix = `mn${crypto.randomUUID().slice(0, 8)}`;
  const config = { namespaces, plugins: { redis_broker: { address: redis.url, prefix } } };
  const a = await startServer(t, config);
  const b = await startServer(t, config);
  await waitFor(
    async () => {
      const [ia, ib] = await Promise.all([a.apiJson("info", {}), b.apiJson("info", {})]);
      return (ia.result as { nodes: unknown[] }).nodes.length === 2 &&
        (ib.result as { nodes: unknown[] }).nodes.length === 2;
    },
    "nodes to see each other",
    10_000,
  );
  return { a, b };
}

/** The SDK streaming from `streamNode` while its commands go to `emulationNode`'s /emulation. */
function crossClient(
  t: TestContext,
  streamNode: TestServer,
  emulationNode: TestServer,
  transport: EmulationTransport,
  opts: Partial<Options>,
) {
  const client = new Centrifuge([{ transport, endpoint: `${streamNode.url}/connection/${transport}` }], {
    emulationEndpoint: `${emulationNode.url}/emulation`,
    fetch: globalThis.fetch.bind(globalThis),
    readableStream: ReadableStream,
    eventsource: EventSource,
    minReconnectDelay: 50,
    maxReconnectDelay: 500,
    ...opts,
  } as Partial<Options>);
  t.cleanup(() => client.disconnect());
  return client;
}

for (const transport of EMULATION_TRANSPORTS) {
  test(
    `${transport}: stream on node A, commands through node B's /emulation, publications from B`,
    async (t) => {
      const redis = await (shared ??= startRedis());
      const { a, b } = await twoNodes(t, redis);
      const client = crossClient(t, a, b, transport, {
        token: await userToken("ann", 3600, { info: { n: "Ann" } }),
      });
      await connected(client);
      const sub = client.newSubscription("feed:x");
      const pubs = collect<{ data: { n: number }; offset: number }>(sub, "publication");
      await subscribed(sub); // the subscribe command went A ← B ← client
      await b.apiJson("publish", { channel: "feed:x", data: { n: 1 } });
      await sub.publish({ n: 2 }); // client publish through B, executed on A, fanned out via Redis
      await a.apiJson("publish", { channel: "feed:x", data: { n: 3 } });
      await waitFor(() => pubs.length === 3, "three publications");
      assertEquals(pubs.map((p) => p.data.n), [1, 2, 3]);
      assertEquals(pubs.map((p) => p.offset), [1, 2, 3]);
      // presence, channels and info seen from B cover A's connection
      const presence = await b.apiJson("presence", { channel: "feed:x" }) as {
        result: { presence: Record<string, { user: string }> };
      };
      assertEquals(Object.values(presence.result.presence).map((p) => p.user), ["ann"]);
      assertEquals(await b.apiJson("channels", { pattern: "feed:*" }), {
        result: { channels: { "feed:x": { num_clients: 1 } } },
      });
      // node info travels by heartbeat (every 3 s), so B's view of A catches up shortly
      await waitFor(
        async () => {
          const info = await b.apiJson("info", {}) as {
            result: { nodes: Array<{ uid: string; num_clients: number }> };
          };
          return info.result.nodes.find((n) => n.uid === a.node.id)?.num_clients === 1;
        },
        "B's info to count A's client",
        8000,
      );
      // history read through either node
      const history = await b.apiJson("history", { channel: "feed:x", limit: -1 }) as {
        result: { publications: unknown[] };
      };
      assertEquals(history.result.publications.length, 3);
    },
    { timeout: 30_000 },
  );
}

test("server API calls on node B reach the user's connections on node A", async (t) => {
  const redis = await (shared ??= startRedis());
  const { a, b } = await twoNodes(t, redis);
  const client = crossClient(t, a, b, "http_stream", { token: await userToken("bob") });
  await connected(client);
  const serverSubscribed = once<{ channel: string; data: unknown }>(client, "subscribed");
  await b.apiJson("subscribe", { user: "bob", channel: "feed:srv", data: { hi: true } });
  assertMatch(await serverSubscribed, { channel: "feed:srv", data: { hi: true } });
  const serverPubs = collect<{ channel: string; data: unknown }>(client, "publication");
  await b.apiJson("publish", { channel: "feed:srv", data: "to bob" });
  await waitFor(() => serverPubs.length === 1, "server-side publication");
  const unsubscribed = once<{ channel: string }>(client, "unsubscribed");
  await b.apiJson("unsubscribe", { user: "bob", channel: "feed:srv" });
  assertEquals((await unsubscribed).channel, "feed:srv");
  const gone = once<{ code: number }>(client, "disconnected");
  await b.apiJson("disconnect", { user: "bob" });
  assertEquals((await gone).code, 3503);
  await waitFor(() => a.node.hub.numClients === 0, "released on A");
}, { timeout: 30_000 });

test("server API calls on node B reach WebSocket clients (JSON and protobuf) on node A", async (t) => {
  const redis = await (shared ??= startRedis());
  const { a, b } = await twoNodes(t, redis);
  const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
  for (const [name, Sdk] of [["json", Centrifuge], ["protobuf", ProtobufCentrifuge]] as const) {
    const user = `ws-${name}`;
    const client = new Sdk(`${a.url.replace("http", "ws")}/connection/websocket`, {
      token: await userToken(user),
      websocket: WebSocket,
      minReconnectDelay: 50,
      maxReconnectDelay: 500,
    });
    t.cleanup(() => client.disconnect());
    await connected(client as Centrifuge);
    const serverSubscribed = once<{ channel: string }>(client, "subscribed");
    await b.apiJson("subscribe", { user, channel: "feed:ws" });
    assertEquals((await serverSubscribed).channel, "feed:ws");
    const pubs = collect<{ channel: string; data: unknown }>(client, "publication");
    await b.apiJson("publish", { channel: "feed:ws", data: { to: name } });
    await waitFor(() => pubs.length === 1, `${name}: publication from B`);
    const data = pubs[0].data instanceof Uint8Array
      ? JSON.parse(new TextDecoder().decode(pubs[0].data))
      : pubs[0].data;
    assertEquals(data, { to: name });
    const unsubscribed = once<{ channel: string }>(client, "unsubscribed");
    await b.apiJson("unsubscribe", { user, channel: "feed:ws" });
    assertEquals((await unsubscribed).channel, "feed:ws");
    const gone = once<{ code: number }>(client, "disconnected");
    await b.apiJson("disconnect", { user });
    assertEquals((await gone).code, 3503, `${name}: the close frame's code`);
  }
  await waitFor(() => a.node.hub.numClients === 0, "released on A");
}, { timeout: 30_000 });

test("emulation for a session on an unknown node answers 404", async (t) => {
  const redis = await (shared ??= startRedis());
  const { b } = await twoNodes(t, redis);
  const res = await fetch(`${b.url}/emulation`, {
    method: "POST",
    body: JSON.stringify({ session: "s", node: crypto.randomUUID(), data: "{}" }),
  });
  assertEquals(res.status, 404);
});

test(
  "Redis killed and restarted mid-stream: publishes fail loudly, nothing is lost for the client",
  async (t) => {
    const redis = await startRedis({ persistent: true });
    t.cleanup(() => redis.stop());
    const { a, b } = await twoNodes(t, redis);
    const client = crossClient(t, a, b, "sse", { token: await userToken("carl") });
    await connected(client);
    const sub = client.newSubscription("feed:outage");
    const pubs = collect<{ data: { n: number } }>(sub, "publication");
    await subscribed(sub);

    const accepted: number[] = [];
    let failures = 0;
    let n = 0;
    let running = true;
    t.cleanup(() => (running = false));
    const publisher = (async () => {
      while (running) {
        const next = n + 1;
        // A publish cut off by the outage may have happened anyway: retrying with the same
        // idempotency key makes sure it happens once.
        const res = await b.api("publish", {
          channel: "feed:outage",
          data: { n: next },
          idempotency_key: `n${next}`,
        })
          .catch(() => undefined);
        const body = res?.status === 200
          ? await res.json() as { result?: unknown; error?: { code: number } }
          : undefined;
        if (body?.result) {
          accepted.push(next);
          n = next;
        } else {
          failures++; // the publish was refused (Redis down): retry the same number
          await sleep(50); // paces the retries through the outage, waits for nothing
        }
        await sleep(10); // paces the publisher (a steady stream), waits for nothing
      }
    })();
    await waitFor(() => accepted.length >= 20, "traffic before the outage", 10_000);
    await redis.stop();
    await waitFor(
      async () => (await fetch(`${a.url}/health`)).status === 503,
      "health reflects the broker outage",
    );
    await waitFor(() => failures > 0, "a publish refused during the outage");
    await redis.restart();
    await waitFor(async () => (await fetch(`${a.url}/health`)).status === 200, "health back", 10_000);
    const before = accepted.length;
    await waitFor(() => accepted.length >= before + 20, "traffic after the outage", 10_000);
    running = false;
    await publisher;
    assert(failures > 0, "publishes during the outage were answered with an error");
    await waitFor(
      () => pubs.length >= accepted.length,
      `all ${accepted.length} publications (got ${pubs.length})`,
      20_000,
    );
    // A duplicate still on its way would come before the fence.
    await fence(a, client, "carl");
    assertEquals(pubs.map((p) => p.data.n), accepted, "every accepted publication exactly once, in order");
    assert(a.logs.some((l) => l.includes("redis connection lost")), "the outage is logged");
    assert(a.logs.some((l) => l.includes("redis connection restored")), "the recovery is logged");
  },
  { timeout: 60_000 },
);
