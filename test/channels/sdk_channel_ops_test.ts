/**
 * Presence, presence_stats, history and join/leave through the SDK, with Centrifugo's permission
 * semantics: 108 when the feature is off, 103 without permission, 102 for unknown namespaces.
 */
import { test } from "../harness.ts";
import { assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { collect, connected, fence, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";

const config = {
  namespaces: [
    {
      name: "room",
      allow_subscribe_for_client: true,
      presence: true,
      join_leave: true,
      force_push_join_leave: true,
      allow_presence_for_subscriber: true,
      history_size: 50,
      history_ttl: "60s",
      allow_history_for_subscriber: true,
    },
    { name: "plain", allow_subscribe_for_client: true },
    { name: "locked", allow_subscribe_for_client: true, presence: true, history_size: 5, history_ttl: "60s" },
  ],
};

const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e) => (e as { code: number }).code);

for (const transport of TRANSPORTS) {
  test(`${transport}: presence, presence stats and join/leave`, async (t) => {
    const s = await startServer(t, config);
    const a = sdk(t, s, transport, { token: await userToken("ann", 3600, { info: { name: "Ann" } }) });
    const b = sdk(t, s, transport, { token: await userToken("ben") });
    await connected(a);
    await connected(b);
    const subA = a.newSubscription("room:1");
    const joins = collect<{ info: { user: string; connInfo?: unknown } }>(subA, "join");
    const leaves = collect<{ info: { user: string } }>(subA, "leave");
    await subscribed(subA);
    const subB = b.newSubscription("room:1");
    await subscribed(subB);
    await waitFor(() => joins.some((j) => j.info.user === "ben"), "ben's join");
    const presence = await subA.presence();
    const users = Object.values(presence.clients).map((c) => c.user).sort();
    assertEquals(users, ["ann", "ben"]);
    const annInfo = Object.values(presence.clients).find((c) => c.user === "ann")!;
    assertEquals(annInfo.connInfo, { name: "Ann" });
    assertEquals(await subA.presenceStats(), { numClients: 2, numUsers: 2 });
    const left = once(subB, "unsubscribed");
    subB.unsubscribe();
    await left;
    await waitFor(() => leaves.some((l) => l.info.user === "ben"), "ben's leave");
    assertEquals(await subA.presenceStats(), { numClients: 1, numUsers: 1 });
  });

  test(`${transport}: history with limit, since and reverse`, async (t) => {
    const s = await startServer(t, config);
    const c = sdk(t, s, transport, { token: await userToken("cid") });
    await connected(c);
    const sub = c.newSubscription("room:h");
    await subscribed(sub);
    for (let i = 1; i <= 5; i++) await s.apiJson("publish", { channel: "room:h", data: { i } });
    const all = await sub.history({ limit: -1 });
    assertEquals(all.publications.map((p) => p.data), [1, 2, 3, 4, 5].map((i) => ({ i })));
    assertEquals(all.offset, 5);
    const top = await sub.history({ limit: 0 });
    assertEquals(top.publications.length, 0);
    assertEquals(top.epoch, all.epoch);
    const since = await sub.history({ limit: 2, since: { offset: 2, epoch: all.epoch } });
    assertEquals(since.publications.map((p) => p.offset), [3, 4]);
    const reverse = await sub.history({ limit: 2, reverse: true });
    assertEquals(reverse.publications.map((p) => p.offset), [5, 4]);
    assertEquals(await codeOf(sub.history({ limit: 1, since: { offset: 1, epoch: "wrong" } })), 112);
  });

  test(`${transport}: 108 when off, 103 without permission, 102 unknown namespace`, async (t) => {
    const s = await startServer(t, config);
    const c = sdk(t, s, transport, { token: await userToken("dee") });
    await connected(c);
    const disconnected = collect(c, "disconnected"), reconnecting = collect(c, "connecting");
    const plain = c.newSubscription("plain:x");
    await subscribed(plain);
    assertEquals(await codeOf(plain.presence()), 108);
    assertEquals(await codeOf(plain.presenceStats()), 108);
    assertEquals(await codeOf(plain.history({ limit: 1 })), 108);
    const locked = c.newSubscription("locked:x");
    await subscribed(locked);
    assertEquals(await codeOf(locked.presence()), 103);
    assertEquals(await codeOf(locked.history({ limit: 1 })), 103);
    const unknown = c.newSubscription("nope:x");
    const refused = once<{ code: number }>(unknown, "unsubscribed");
    unknown.subscribe();
    assertEquals((await refused).code, 102);
    assertEquals(await codeOf(c.publish("nope:x", {})), 102);
    // no RPC handler at all: 108, as Centrifugo without an RPC proxy
    assertEquals(await codeOf(c.rpc("anything", {})), 108);
    // the connection survived all of it: a disconnect would have come before the fence
    await fence(s, c, "dee");
    assertEquals([c.state, disconnected, reconnecting], ["connected", [], []]);
  });

  test(`${transport}: join/leave pushed only when asked for (join_leave without force push)`, async (t) => {
    const s = await startServer(t, {
      namespaces: [{
        name: "opt",
        allow_subscribe_for_client: true,
        presence: true,
        join_leave: true,
        allow_presence_for_subscriber: true,
      }],
    });
    const a = sdk(t, s, transport, { token: await userToken("eve") });
    const b = sdk(t, s, transport, { token: await userToken("fay") });
    await connected(a);
    await connected(b);
    const asking = a.newSubscription("opt:1", { joinLeave: true });
    const joinsAsking = collect(asking, "join");
    await subscribed(asking);
    const silent = b.newSubscription("opt:1");
    const joinsSilent = collect(silent, "join");
    await subscribed(silent);
    await waitFor(() => joinsAsking.length >= 1, "join for the subscriber that asked");
    // A publication on the same channel is the fence: a join for `silent` would come before it.
    const silentPubs = collect(silent, "publication");
    await s.apiJson("publish", { channel: "opt:1", data: "fence" });
    await waitFor(() => silentPubs.length === 1, "the fence publication");
    assertEquals(joinsSilent.length, 0);
  });
}

test("presence entries and subscriptions are released when a client goes away", async (t) => {
  const s = await startServer(t, config);
  const c = sdk(t, s, "sse", { token: await userToken("gus") });
  await connected(c);
  await subscribed(c.newSubscription("room:gone"));
  assertMatch(await s.node.presenceStats("room:gone"), { numClients: 1 });
  c.disconnect();
  await waitFor(async () => (await s.node.presenceStats("room:gone")).numClients === 0, "presence removed");
  await waitFor(() => s.node.hub.numClients === 0 && s.node.hub.numChannels === 0, "hub emptied");
});
