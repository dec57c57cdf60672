/**
 * Recovery with the official SDK: a forced reconnect with publications missed in between is
 * recovered from history (offset + epoch), exactly once and in order; an expired window is
 * reported as not recovered; server-side subscriptions recover through connect `subs`.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, sleep, waitFor } from "../assert.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { collect, connected, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { manualClockBroker } from "../helpers/clock.ts";
import type { Node } from "../../src/core/node.ts";

const recoveryConfig = {
  namespaces: [{
    name: "feed",
    allow_subscribe_for_client: true,
    history_size: 1000,
    history_ttl: "300s",
    force_recovery: true,
  }, {
    name: "short",
    allow_subscribe_for_client: true,
    history_size: 10,
    history_ttl: "1s",
    force_recovery: true,
  }],
};

/** Cuts every connection of `user` from the server side with a reconnect-advised code. */
function forceReconnect(node: Node, user: string): number {
  const conns = node.hub.userConnections(user);
  for (const c of conns) c.disconnectNow(3011, "force reconnect");
  return conns.length;
}

async function publishN(s: TestServer, channel: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await s.apiJson("publish", { channel, data: { n: i } });
}

for (const transport of TRANSPORTS) {
  test(`${transport}: missed publications are recovered after a forced reconnect`, async (t) => {
    const s = await startServer(t, recoveryConfig);
    const client = sdk(t, s, transport, { token: await userToken("rita") });
    await connected(client);
    const sub = client.newSubscription("feed:a");
    const pubs = collect<{ data: { n: number }; offset?: number }>(sub, "publication");
    const first = await subscribed(sub) as Record<string, unknown>;
    assertMatch(first, { recoverable: true, positioned: true, wasRecovering: false });
    await publishN(s, "feed:a", 1, 3);
    await waitFor(() => pubs.length === 3, "live publications");

    const resubscribed = once<Record<string, unknown>>(sub, "subscribed", 8000);
    assertEquals(forceReconnect(s.node, "rita"), 1);
    await publishN(s, "feed:a", 4, 8); // nobody is connected: only history has these
    const ctx = await resubscribed;
    assertMatch(ctx, { wasRecovering: true, recovered: true, hasRecoveredPublications: true });
    await publishN(s, "feed:a", 9, 10);
    await waitFor(() => pubs.length === 10, "recovered and live publications");
    assertEquals(pubs.map((p) => p.data.n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assertEquals(pubs.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test(`${transport}: repeated forced reconnects while publishing lose and duplicate nothing`, async (t) => {
    const s = await startServer(t, recoveryConfig);
    const client = sdk(t, s, transport, { token: await userToken("rob") });
    await connected(client);
    const sub = client.newSubscription("feed:b");
    const pubs = collect<{ data: { n: number } }>(sub, "publication");
    await subscribed(sub);
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await s.apiJson("publish", { channel: "feed:b", data: { n: ++n } });
        await sleep(5); // paces the publisher (a steady stream), waits for nothing
      }
    })();
    // Each cut lands after live publications on the connection before it, and the last one is
    // followed by live publications too: every reconnect is crossed by traffic.
    const moreLive = async () => {
      const seen = pubs.length;
      await waitFor(() => pubs.length >= seen + 10, "live publications", 8000);
    };
    for (let i = 0; i < 4; i++) {
      await moreLive();
      const back = once(sub, "subscribed", 8000);
      forceReconnect(s.node, "rob");
      await back;
    }
    await moreLive();
    publishing = false;
    await publisher;
    // The fence: one more publication, after which a duplicate or a late one could not hide.
    await s.apiJson("publish", { channel: "feed:b", data: { n: ++n } });
    await waitFor(() => pubs.some((p) => p.data.n === n), `all ${n} publications`, 8000);
    assertEquals(pubs.map((p) => p.data.n), Array.from({ length: n }, (_, i) => i + 1));
  });

  test(`${transport}: a gap beyond the history window is reported as not recovered`, async (t) => {
    const { clock, plugin } = manualClockBroker();
    const s = await startServer(t, recoveryConfig, [plugin]);
    const client = sdk(t, s, transport, { token: await userToken("sam") });
    await connected(client);
    const sub = client.newSubscription("short:x");
    const pubs = collect(sub, "publication");
    await subscribed(sub);
    await publishN(s, "short:x", 1, 1);
    await waitFor(() => pubs.length === 1, "live publication");
    client.disconnect();
    await publishN(s, "short:x", 2, 3);
    clock.advance(1300); // the 1 s history TTL drops the missed publications
    const back = once<Record<string, unknown>>(sub, "subscribed", 8000);
    client.connect();
    const ctx = await back;
    assertMatch(ctx, { wasRecovering: true, recovered: false });
    // The next publication is the fence: any partially recovered one would arrive before it.
    await publishN(s, "short:x", 4, 4);
    await waitFor(() => pubs.length >= 2, "the fence publication");
    assertEquals(pubs.map((p) => (p as { data: { n: number } }).data.n), [1, 4], "no partial recovery");
  });

  test(`${transport}: server-side subscriptions from the token recover through connect subs`, async (t) => {
    const s = await startServer(t, recoveryConfig);
    const client = sdk(t, s, transport, {
      token: await userToken("tess", 3600, { channels: ["feed:server"] }),
    });
    const subscribedCtx = once<Record<string, unknown>>(client, "subscribed");
    const pubs = collect<{ channel: string; data: { n: number } }>(client, "publication");
    await connected(client);
    assertMatch(await subscribedCtx, { channel: "feed:server", recoverable: true });
    await publishN(s, "feed:server", 1, 2);
    await waitFor(() => pubs.length === 2, "server-side publications");
    const back = once<Record<string, unknown>>(client, "subscribed", 8000);
    forceReconnect(s.node, "tess");
    await publishN(s, "feed:server", 3, 5);
    assertMatch(await back, { channel: "feed:server", wasRecovering: true, recovered: true });
    await waitFor(() => pubs.length === 5, "recovered server-side publications");
    assertEquals(pubs.map((p) => p.data.n), [1, 2, 3, 4, 5]);
    assert(pubs.every((p) => p.channel === "feed:server"));
  });
}
