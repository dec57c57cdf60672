/**
 * Connection and subscription tokens through the SDK: a bad token is terminal (3500), an expired
 * one makes the SDK fetch a new one (109), an expiring connection is refreshed, private channels
 * need subscription tokens, subscription tokens are refreshed via sub_refresh.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { ManualClock } from "../helpers/clock.ts";
import { connected, fence, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { token, userToken } from "../helpers/tokens.ts";
import type { Client } from "../../src/core/client.ts";

for (const transport of TRANSPORTS) {
  test(`${transport}: a token with a bad signature disconnects for good (3500)`, async (t) => {
    const s = await startServer(t);
    const client = sdk(t, s, transport, {
      token: await token({ sub: "mallory" }, { secret: "not-the-secret" }),
    });
    const gone = once<{ code: number }>(client, "disconnected");
    client.connect();
    assertEquals((await gone).code, 3500);
    assertEquals(s.node.hub.numClients, 0);
  });

  test(`${transport}: an expired token is replaced through getToken (109)`, async (t) => {
    const s = await startServer(t);
    let calls = 0;
    const client = sdk(t, s, transport, {
      token: await userToken("una", -10),
      getToken: async () => {
        calls++;
        return await userToken("una", 3600);
      },
    });
    await connected(client);
    assertEquals(calls, 1);
    assertEquals(s.node.hub.userConnections("una").length, 1);
  });

  test(`${transport}: no token at all is refused unless anonymous access is on`, async (t) => {
    const s = await startServer(t);
    const client = sdk(t, s, transport);
    const gone = once<{ code: number }>(client, "disconnected");
    client.connect();
    assertEquals((await gone).code, 3501);
    const anon = await startServer(t, {
      allow_anonymous_connect_without_token: true,
      allow_subscribe_for_client: true,
      allow_subscribe_for_anonymous: true,
    });
    const client2 = sdk(t, anon, transport);
    await connected(client2);
    await subscribed(client2.newSubscription("public"));
  });

  test(`${transport}: an expiring connection is refreshed with a new token`, async (t) => {
    // The server's clock stands still until the test moves it, so the connection cannot expire
    // before the SDK's refresh (its own real 1 s timer, from the connect reply's ttl) is in.
    const clock = new ManualClock();
    const s = await startServer(t, { client_expired_close_delay: "3s" }, [], { now: clock.now });
    let calls = 0;
    const client = sdk(t, s, transport, {
      token: await token({ sub: "vic" }, { ttl: 1, from: clock.seconds() }),
      getToken: async () => {
        calls++;
        return await userToken("vic", 3600);
      },
    });
    await connected(client);
    const disconnects: unknown[] = [];
    client.on("disconnected", (c) => disconnects.push(c));
    client.on("connecting", (c) => disconnects.push(c));
    await waitFor(() => calls >= 1, "a token refresh", 6000);
    await waitFor(
      () =>
        ((s.node.hub.userConnections("vic")[0] as Client | undefined)?.expireAt ?? 0) >
          clock.seconds() + 1000,
      "server took the new expiry",
    );
    clock.advance(5_000, s.node.timers); // past the original expiry + close delay
    await fence(s, client, "vic");
    assertEquals(client.state, "connected");
    assertEquals(disconnects, []);
  });

  test(`${transport}: private channels need a subscription token; a mismatching one is terminal`, async (t) => {
    const s = await startServer(t, { allow_subscribe_for_client: true });
    const client = sdk(t, s, transport, { token: await userToken("wes") });
    await connected(client);
    const noToken = client.newSubscription("$secret");
    const refused = once<{ code: number }>(noToken, "unsubscribed");
    noToken.subscribe();
    assertEquals((await refused).code, 103);
    client.removeSubscription(noToken);
    const withToken = client.newSubscription("$secret", {
      getToken: async () =>
        await token({ sub: "wes", channel: "$secret", info: { role: "vip" } }, { ttl: 3600 }),
    });
    await subscribed(withToken);
    const wrong = client.newSubscription("$other", {
      getToken: async () => await token({ sub: "wes", channel: "$secret" }, { ttl: 3600 }),
    });
    const gone = once<{ code: number }>(client, "disconnected");
    wrong.subscribe();
    assertEquals((await gone).code, 3500);
  });

  test(`${transport}: an expiring subscription token is refreshed (sub_refresh)`, async (t) => {
    // As above: the subscription expires only when the test moves the server's clock.
    const clock = new ManualClock();
    const s = await startServer(t, { client_expired_sub_close_delay: "1s" }, [], { now: clock.now });
    let calls = 0;
    const client = sdk(t, s, transport, { token: await userToken("xia") });
    await connected(client);
    const sub = client.newSubscription("$room", {
      getToken: async () => {
        calls++;
        return await token({ sub: "xia", channel: "$room" }, {
          ttl: calls === 1 ? 1 : 3600,
          from: clock.seconds(),
        });
      },
    });
    const ctx = await subscribed(sub) as Record<string, unknown>;
    assert(ctx !== undefined);
    await waitFor(() => calls >= 2, "subscription token refresh", 6000);
    await waitFor(
      () =>
        ((s.node.hub.userConnections("xia")[0] as Client | undefined)?.channels.get("$room")?.expireAt ?? 0) >
          clock.seconds() + 1000,
      "server took the new subscription expiry",
    );
    clock.advance(3_000, s.node.timers); // past the original expiry + close delay
    await fence(s, client, "xia");
    assertEquals(sub.state, "subscribed");
    assertEquals(s.node.hub.channelSubscribers("$room"), 1);
  });
}

test("a subscription token for another user closes the connection (3500)", async (t) => {
  const s = await startServer(t);
  const client = sdk(t, s, "http_stream", { token: await userToken("yan") });
  await connected(client);
  const sub = client.newSubscription("$x", {
    getToken: async () => await token({ sub: "zed", channel: "$x" }, { ttl: 3600 }),
  });
  const gone = once<{ code: number }>(client, "disconnected");
  sub.subscribe();
  assertMatch(await gone, { code: 3500 });
});
