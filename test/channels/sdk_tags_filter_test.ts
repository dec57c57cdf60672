/**
 * A subscription asking for a tags filter (`tf` in the subscribe command): Sluice filters by no
 * tags, so it refuses the subscribe with 107, as Centrifugo does in a namespace without
 * `allow_tags_filter` — rather than subscribing and delivering what the filter would have held
 * back. Over the JSON transports and the protobuf build (where `tf` is field 13).
 */
import type { FilterNode } from "centrifuge";
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { connected, once, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";

const config = {
  allow_subscribe_for_client: true,
};
const tagsFilter: FilterNode = { key: "kind", cmp: "eq", val: "a" };

for (const transport of TRANSPORTS) {
  test(`${transport}: a subscription with a tags filter is refused with 107`, async (t) => {
    const s = await startServer(t, config);
    const client = sdk(t, s, transport, { token: await userToken("tf") });
    await connected(client);
    const sub = client.newSubscription("news", { tagsFilter });
    const unsubscribed = once<{ code: number }>(sub, "unsubscribed");
    sub.subscribe();
    assertEquals((await unsubscribed).code, 107);
    // The connection is fine: the same channel without a filter subscribes.
    await subscribed(client.newSubscription("other"));
  });
}

test("websocket + protobuf: a subscription with a tags filter is refused with 107", async (t) => {
  const s = await startServer(t, config);
  const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
  const client = new ProtobufCentrifuge(`${s.url.replace(/^http/, "ws")}/connection/websocket`, {
    token: await userToken("tf"),
    websocket: WebSocket,
  });
  t.cleanup(() => client.disconnect());
  const ready = once(client, "connected");
  client.connect();
  await ready;
  const sub = client.newSubscription("news", { tagsFilter });
  const unsubscribed = once<{ code: number }>(sub, "unsubscribed");
  sub.subscribe();
  assertEquals((await unsubscribed).code, 107);
  const other = client.newSubscription("other");
  const subscribedOther = once(other, "subscribed");
  other.subscribe();
  await subscribedOther;
});
