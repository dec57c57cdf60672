/**
 * The official SDK over http_stream and sse: connect, subscribe, receive server API publications,
 * publish from the client, unsubscribe.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { collect, connected, fence, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";

for (const transport of TRANSPORTS) {
  test(`${transport}: SDK connects, subscribes and receives API publications`, async (t) => {
    const s = await startServer(t, { allow_subscribe_for_client: true });
    const client = sdk(t, s, transport, { token: await userToken("alice") });
    const ctx = await (async () => {
      const p = once<Record<string, unknown>>(client, "connected");
      client.connect();
      return await p;
    })();
    assertEquals(ctx.transport, transport);
    assert(typeof ctx.client === "string" && ctx.client.length > 0, "client id in connected event");
    const sub = client.newSubscription("news");
    const pubs = collect<{ data: unknown }>(sub, "publication");
    await subscribed(sub);
    const res = await s.apiJson("publish", { channel: "news", data: { text: "hello" } });
    assertEquals(res, { result: {} });
    await s.apiJson("broadcast", { channels: ["news", "other"], data: { n: 2 } });
    await waitFor(() => pubs.length === 2, "two publications");
    assertEquals(pubs.map((p) => p.data), [{ text: "hello" }, { n: 2 }]);
  });

  test(`${transport}: client publish follows allow_publish_for_subscriber`, async (t) => {
    const s = await startServer(t, {
      namespaces: [
        { name: "chat", allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
        { name: "ro", allow_subscribe_for_client: true },
      ],
    });
    const client = sdk(t, s, transport, { token: await userToken("bob", 3600, { info: { name: "Bob" } }) });
    await connected(client);
    const chat = client.newSubscription("chat:room");
    const pubs = collect<{ data: unknown; info?: Record<string, unknown> }>(chat, "publication");
    await subscribed(chat);
    await chat.publish({ text: "hi" });
    await waitFor(() => pubs.length === 1, "own publication");
    assertEquals(pubs[0].data, { text: "hi" });
    assertMatch(pubs[0].info!, { user: "bob", connInfo: { name: "Bob" } });
    const ro = client.newSubscription("ro:room");
    await subscribed(ro);
    const err = await ro.publish({ text: "no" }).then(() => undefined, (e) => e);
    assertMatch(err, { code: 103 });
    // publishing to a channel one is not subscribed to is refused too
    const err2 = await client.publish("chat:other", { x: 1 }).then(() => undefined, (e) => e);
    assertMatch(err2, { code: 103 });
  });

  test(`${transport}: unsubscribe stops delivery and frees the channel`, async (t) => {
    const s = await startServer(t, { allow_subscribe_for_client: true });
    const client = sdk(t, s, transport, { token: await userToken("carol") });
    await connected(client);
    const sub = client.newSubscription("news");
    const pubs = collect(sub, "publication");
    await subscribed(sub);
    assertEquals(s.node.hub.channelSubscribers("news"), 1);
    const unsub = once(sub, "unsubscribed");
    sub.unsubscribe();
    await unsub;
    await waitFor(() => s.node.hub.channelSubscribers("news") === 0, "server-side unsubscribe");
    await s.apiJson("publish", { channel: "news", data: 1 });
    await fence(s, client, "carol");
    assertEquals(pubs.length, 0);
  });
}
