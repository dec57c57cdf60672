/**
 * The server HTTP API method by method, against a real server and real clients (the official SDK
 * and raw streams): Centrifugo's exact result shapes, the effect of each call on connected
 * clients, per-item errors of broadcast and batch, transport error mode, and 107 (never 500) for
 * request fields of the wrong type.
 */
import type { Centrifuge } from "centrifuge";
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { API_KEY, startServer, type TestServer } from "../helpers/server.ts";
import { ManualClock } from "../helpers/clock.ts";
import { collect, fence, once, sdk, type SdkTransport, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { connectRaw, openHttpStream, openRaw, type RawConn } from "../helpers/raw.ts";
import { userToken } from "../helpers/tokens.ts";

type Json = Record<string, unknown>;

const config = {
  namespaces: [
    { name: "chat", allow_subscribe_for_client: true },
    { name: "plain", allow_subscribe_for_client: true },
    { name: "room", allow_subscribe_for_client: true, presence: true },
    {
      name: "hist",
      allow_subscribe_for_client: true,
      history_size: 100,
      history_ttl: "300s",
      force_recovery: true,
    },
  ],
};

const nowSec = () => Math.floor(Date.now() / 1000);
/** Base64 of ASCII text. */
const b64 = (text: string) => btoa(text);
const b64bytes = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

const UNKNOWN_CHANNEL = { error: { code: 102, message: "unknown channel" } };
const NOT_AVAILABLE = { error: { code: 108, message: "not available" } };
const UNRECOVERABLE = { error: { code: 112, message: "unrecoverable position" } };
const OK = { result: {} };
const NOT_FOUND = { error: { code: 104, message: "not found" } };
/** Centrifugo's only 107 message: the reason is in the server log. */
const BAD_REQUEST = { error: { code: 107, message: "bad request" } };

/** Asserts Centrifugo's `{"error": {"code": 107, "message": "bad request"}}` and nothing else. */
function assertBadRequest(res: Json, what: string): void {
  assertEquals(res, BAD_REQUEST, what);
}

/** Go's `http.Error(w, "Bad Request", 400)`: what Centrifugo answers a body it cannot decode. */
async function assertGoBadRequest(res: Response, what: string): Promise<void> {
  assertEquals(
    [
      res.status,
      res.headers.get("content-type"),
      res.headers.get("x-content-type-options"),
      await res.text(),
    ],
    [400, "text/plain; charset=utf-8", "nosniff", "Bad Request\n"],
    what,
  );
}

interface ServerSubscribed {
  channel: string;
  data?: unknown;
  recoverable: boolean;
  positioned: boolean;
  streamPosition?: { offset: number; epoch: string };
}
interface Pub {
  channel: string;
  data: unknown;
  offset?: number;
  tags?: Record<string, string>;
}

/** An SDK client connected as `user`; `id` is its client id. */
async function connectSdk(
  t: TestContext,
  s: TestServer,
  transport: SdkTransport,
  user: string,
  claims: Json = {},
): Promise<{ client: Centrifuge; id: string }> {
  const client = sdk(t, s, transport, { token: await userToken(user, 3600, claims) });
  const ctx = once<{ client: string }>(client, "connected");
  client.connect();
  return { client, id: (await ctx).client };
}

/** The next push on a raw bidirectional stream (skipping nothing: replies were consumed). */
async function nextPush(raw: RawConn, ms = 5000): Promise<Json | undefined> {
  const m = await raw.stream.next(ms);
  return m?.push as Json | undefined;
}

// ---------------------------------------------------------------- publish

for (const transport of TRANSPORTS) {
  test(`publish: data, b64data and tags reach a ${transport} SDK subscriber; binary b64data as $binary; bad base64 → 107`, async (t) => {
    const s = await startServer(t, config);
    const { client } = await connectSdk(t, s, transport, "pub-user");
    const sub = client.newSubscription("chat:pub");
    const pubs = collect<Pub>(sub, "publication");
    await subscribed(sub);
    assertEquals(
      await s.apiJson("publish", {
        channel: "chat:pub",
        data: { text: "plain" },
        tags: { kind: "greeting", lang: "en" },
      }),
      OK,
    );
    assertEquals(
      await s.apiJson("publish", { channel: "chat:pub", b64data: b64('{"text":"from base64","n":[1,2]}') }),
      OK,
    );
    // Bytes that are not JSON text reach JSON clients as {"$binary": "<base64>"} (protobuf ones: the bytes).
    const binary = b64bytes([0xff, 0xfe, 0x00, 0x01]);
    assertEquals(await s.apiJson("publish", { channel: "chat:pub", b64data: binary }), OK);
    assertBadRequest(
      await s.apiJson("publish", { channel: "chat:pub", b64data: "%%% not base64 %%%" }),
      "not base64",
    );
    assertEquals(await s.apiJson("publish", { channel: "chat:pub", data: "last" }), OK);
    await waitFor(() => pubs.some((p) => p.data === "last"), "the last publication");
    assertEquals(pubs.map((p) => p.data), [
      { text: "plain" },
      { text: "from base64", n: [1, 2] },
      { $binary: binary },
      "last",
    ]);
    assertEquals(pubs[0].tags, { kind: "greeting", lang: "en" });
    assertEquals(pubs[1].tags, undefined);
  });
}

test("publish: skip_history stays out of history; idempotency_key publishes once per channel", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "http_stream", "idem");
  const sub = client.newSubscription("hist:p");
  const pubs = collect<Pub>(sub, "publication");
  await subscribed(sub);
  const first = await s.apiJson("publish", { channel: "hist:p", data: { n: 1 } });
  const epoch = (first.result as { epoch: string }).epoch;
  assert(typeof epoch === "string" && epoch !== "", "an epoch");
  assertEquals(first, { result: { offset: 1, epoch } });
  assertEquals(
    await s.apiJson("publish", { channel: "hist:p", data: { n: "skip" }, skip_history: true }),
    OK,
  );
  const keyed = { channel: "hist:p", idempotency_key: "order-7" };
  assertEquals(await s.apiJson("publish", { ...keyed, data: { n: 2 } }), { result: { offset: 2, epoch } });
  assertEquals(await s.apiJson("publish", { ...keyed, data: { n: "dup" } }), {
    result: { offset: 2, epoch },
  });
  assertEquals(
    await s.apiJson("publish", { channel: "hist:p", data: { n: 3 }, idempotency_key: "order-8" }),
    { result: { offset: 3, epoch } },
  );
  // The same key on another channel is another publication.
  assertMatch(
    await s.apiJson("publish", { channel: "hist:other", data: 1, idempotency_key: "order-7" }),
    { result: { offset: 1 } },
  );
  await waitFor(() => pubs.some((p) => (p.data as Json).n === 3), "the third publication");
  assertEquals(pubs.map((p) => [p.data, p.offset]), [
    [{ n: 1 }, 1],
    [{ n: "skip" }, undefined],
    [{ n: 2 }, 2],
    [{ n: 3 }, 3],
  ]);
  assertEquals(await s.apiJson("history", { channel: "hist:p", limit: -1 }), {
    result: {
      // API publications never carry an epoch (Centrifugo's API type has no such field), not even
      // the stream's first one, which the client protocol sends with it
      publications: [{ data: { n: 1 }, offset: 1 }, { data: { n: 2 }, offset: 2 }, {
        data: { n: 3 },
        offset: 3,
      }],
      epoch,
      offset: 3,
    },
  });
});

// ---------------------------------------------------------------- broadcast

test("broadcast: one response per channel in order, per-channel errors, delivered on each channel", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "sse", "bc");
  const a = client.newSubscription("chat:b1");
  const b = client.newSubscription("hist:b2");
  const pubsA = collect<Pub>(a, "publication");
  const pubsB = collect<Pub>(b, "publication");
  await subscribed(a);
  await subscribed(b);
  const res = await s.apiJson("broadcast", {
    channels: ["chat:b1", "nope:b", "hist:b2", "hist:b3"],
    data: { hello: "all" },
    tags: { via: "broadcast" },
  });
  const responses = (res.result as { responses: Json[] }).responses;
  assertEquals(Object.keys(res), ["result"]);
  assertEquals(Object.keys(res.result as Json), ["responses"]);
  assertEquals(responses.length, 4);
  assertEquals(responses[0], OK);
  assertEquals(responses[1], UNKNOWN_CHANNEL);
  const e2 = ((responses[2].result ?? {}) as Json).epoch;
  const e3 = ((responses[3].result ?? {}) as Json).epoch;
  assertEquals(responses[2], { result: { offset: 1, epoch: e2 } });
  assertEquals(responses[3], { result: { offset: 1, epoch: e3 } });
  assert(typeof e2 === "string" && e2 !== "" && typeof e3 === "string" && e3 !== "", "epochs");
  await waitFor(() => pubsA.length === 1 && pubsB.length === 1, "one publication on each channel");
  assertEquals(pubsA.map((p) => [p.data, p.tags]), [[{ hello: "all" }, { via: "broadcast" }]]);
  assertEquals(pubsB.map((p) => [p.data, p.offset, p.tags]), [[{ hello: "all" }, 1, { via: "broadcast" }]]);
  // b64data is decoded once for every channel; skip_history applies to every channel.
  const skipped = await s.apiJson("broadcast", {
    channels: ["chat:b1", "hist:b2"],
    b64data: b64('"from b64"'),
    skip_history: true,
  });
  assertEquals(skipped, { result: { responses: [OK, OK] } });
  await waitFor(() => pubsA.length === 2 && pubsB.length === 2, "the b64 broadcast");
  assertEquals([pubsA[1].data, pubsB[1].data], ["from b64", "from b64"]);
  assertEquals(await s.apiJson("history", { channel: "hist:b2", limit: -1 }), {
    result: {
      publications: [{ data: { hello: "all" }, offset: 1, tags: { via: "broadcast" } }],
      epoch: e2,
      offset: 1,
    },
  });
  assertBadRequest(await s.apiJson("broadcast", { channels: [], data: 1 }), "no channels");
  assertBadRequest(await s.apiJson("broadcast", { channels: ["chat:b1"], b64data: "%%%" }), "bad base64");
  // No data is each channel's own 107, after the channel's own checks (Centrifugo's order).
  assertEquals(await s.apiJson("broadcast", { channels: ["chat:b1", "nope:b", ""] }), {
    result: { responses: [BAD_REQUEST, UNKNOWN_CHANNEL, BAD_REQUEST] },
  });
});

test("broadcast: an empty channel name is a per-channel 107, like Centrifugo", async (t) => {
  // Centrifugo checks `ch == ""` inside the per-channel loop and answers that item with 107.
  const s = await startServer(t, config);
  const res = await s.apiJson("broadcast", { channels: ["chat:e1", "", "nope:e"], data: 1 });
  const responses = (res.result as { responses?: Json[] } | undefined)?.responses;
  assert(responses, `a responses array, got ${JSON.stringify(res)}`);
  assertEquals(responses[0], OK);
  assertMatch(responses[1], { error: { code: 107 } });
  assertEquals(responses[2], UNKNOWN_CHANNEL);
});

// ---------------------------------------------------------------- subscribe

for (const transport of TRANSPORTS) {
  test(`subscribe: a ${transport} SDK client gets "subscribed" with data, then publications`, async (t) => {
    const s = await startServer(t, config);
    const { client } = await connectSdk(t, s, transport, "sub-user");
    const { client: other } = await connectSdk(t, s, transport, "someone-else");
    const subs = collect<ServerSubscribed>(client, "subscribed");
    const pubs = collect<Pub>(client, "publication");
    const otherSubs = collect<ServerSubscribed>(other, "subscribed");
    const otherPubs = collect<Pub>(other, "publication");
    assertEquals(
      await s.apiJson("subscribe", {
        user: "sub-user",
        channel: "chat:s",
        data: { welcome: true },
        info: { role: "reader" },
      }),
      OK,
    );
    await waitFor(() => subs.length === 1, "the subscribed event");
    assertEquals(subs[0], {
      channel: "chat:s",
      data: { welcome: true },
      positioned: false,
      recoverable: false,
      wasRecovering: false,
      recovered: false,
      hasRecoveredPublications: false,
    });
    assertEquals(await s.apiJson("publish", { channel: "chat:s", data: { m: 1 }, tags: { k: "v" } }), OK);
    await waitFor(() => pubs.length === 1, "the publication");
    assertEquals(pubs, [{ channel: "chat:s", data: { m: 1 }, tags: { k: "v" } }]);
    // Subscribing again is a no-op: no second event, still one subscriber.
    assertEquals(await s.apiJson("subscribe", { user: "sub-user", channel: "chat:s" }), OK);
    assertEquals(await s.apiJson("channels", { pattern: "chat:s" }), {
      result: { channels: { "chat:s": { num_clients: 1 } } },
    });
    assertEquals(subs.length, 1);
    assertEquals([otherSubs.length, otherPubs.length], [0, 0]);
  });
}

test("subscribe: client narrows the target to one connection of the user (SDK)", async (t) => {
  const s = await startServer(t, config);
  const a = await connectSdk(t, s, "http_stream", "twin");
  const b = await connectSdk(t, s, "sse", "twin");
  const subsA = collect<ServerSubscribed>(a.client, "subscribed");
  const subsB = collect<ServerSubscribed>(b.client, "subscribed");
  assertEquals(await s.apiJson("subscribe", { user: "twin", channel: "chat:only-a", client: a.id }), OK);
  assertEquals(await s.apiJson("subscribe", { user: "twin", channel: "chat:both" }), OK);
  await waitFor(() => subsA.length === 2 && subsB.length === 1, "subscribed events");
  assertEquals(subsA.map((e) => e.channel), ["chat:only-a", "chat:both"]);
  // Pushes keep their order, so a subscribe to chat:only-a would have come before chat:both.
  assertEquals(subsB.map((e) => e.channel), ["chat:both"]);
  // A client id of another user addresses nobody.
  assertEquals(await s.apiJson("subscribe", { user: "someone", channel: "chat:nobody", client: a.id }), OK);
  assertEquals(await s.apiJson("channels", {}), {
    result: { channels: { "chat:only-a": { num_clients: 1 }, "chat:both": { num_clients: 2 } } },
  });
});

test("subscribe: session narrows the target to one connection of the user (raw streams)", async (t) => {
  const s = await startServer(t, config);
  const one = await connectRaw(t, s, "sess");
  const two = await connectRaw(t, s, "sess", { sse: true });
  assert(one.session && two.session && one.session !== two.session, "two sessions");
  assertEquals(
    await s.apiJson("subscribe", { user: "sess", channel: "chat:one", session: one.session, data: "hi" }),
    OK,
  );
  assertEquals(await nextPush(one), { channel: "chat:one", subscribe: { data: "hi" } });
  assertEquals(await s.apiJson("subscribe", { user: "sess", channel: "chat:all" }), OK);
  assertEquals(await nextPush(one), { channel: "chat:all", subscribe: {} });
  assertEquals(await nextPush(two), { channel: "chat:all", subscribe: {} }, "only the second subscribe");
  await s.apiJson("publish", { channel: "chat:one", data: "for one" });
  await s.apiJson("publish", { channel: "chat:all", data: "for all" });
  assertEquals(await nextPush(one), { channel: "chat:one", pub: { data: "for one" } });
  assertEquals(await nextPush(one), { channel: "chat:all", pub: { data: "for all" } });
  assertEquals(await nextPush(two), { channel: "chat:all", pub: { data: "for all" } });
});

test("subscribe: recover_since delivers the publications after the position", async (t) => {
  const s = await startServer(t, config);
  let epoch = "";
  for (let i = 1; i <= 3; i++) {
    const r = await s.apiJson("publish", { channel: "hist:r", data: { i } });
    epoch = (r.result as { epoch: string }).epoch;
  }
  const { client } = await connectSdk(t, s, "http_stream", "recoverer");
  const subs = collect<ServerSubscribed>(client, "subscribed");
  const pubs = collect<Pub>(client, "publication");
  assertEquals(
    await s.apiJson("subscribe", {
      user: "recoverer",
      channel: "hist:r",
      recover_since: { offset: 1, epoch },
    }),
    OK,
  );
  await waitFor(() => pubs.length === 2, "two recovered publications");
  assertMatch(subs[0], { channel: "hist:r", recoverable: true, positioned: true });
  assertEquals(subs[0].streamPosition, { offset: 1, epoch });
  await s.apiJson("publish", { channel: "hist:r", data: { i: 4 } });
  await waitFor(() => pubs.length === 3, "the live publication");
  assertEquals(pubs.map((p) => [p.channel, p.data, p.offset]), [
    ["hist:r", { i: 2 }, 2],
    ["hist:r", { i: 3 }, 3],
    ["hist:r", { i: 4 }, 4],
  ]);
  // A position from another epoch cannot be recovered: the subscription starts at the top.
  const { client: late } = await connectSdk(t, s, "sse", "late");
  const lateSubs = collect<ServerSubscribed>(late, "subscribed");
  const latePubs = collect<Pub>(late, "publication");
  assertEquals(
    await s.apiJson("subscribe", {
      user: "late",
      channel: "hist:r",
      recover_since: { offset: 1, epoch: "x" },
    }),
    OK,
  );
  await waitFor(() => lateSubs.length === 1, "subscribed");
  assertEquals(lateSubs[0].streamPosition, { offset: 4, epoch });
  await s.apiJson("publish", { channel: "hist:r", data: { i: 5 } });
  await waitFor(() => latePubs.length === 1, "the live publication");
  assertEquals(latePubs.map((p) => p.offset), [5]);
});

test("subscribe: b64info becomes chan_info, override.presence turns presence off", async (t) => {
  const s = await startServer(t, config);
  const ben = await connectSdk(t, s, "http_stream", "ben");
  const cid = await connectSdk(t, s, "sse", "cid");
  const benSubs = collect<ServerSubscribed>(ben.client, "subscribed");
  const cidSubs = collect<ServerSubscribed>(cid.client, "subscribed");
  assertEquals(
    await s.apiJson("subscribe", { user: "ben", channel: "room:o", b64info: b64('{"seat":3}') }),
    OK,
  );
  assertEquals(
    await s.apiJson("subscribe", {
      user: "cid",
      channel: "room:o",
      override: { presence: { value: false } },
    }),
    OK,
  );
  await waitFor(() => benSubs.length === 1 && cidSubs.length === 1, "both subscribed");
  assertEquals(await s.apiJson("presence", { channel: "room:o" }), {
    result: { presence: { [ben.id]: { user: "ben", client: ben.id, chan_info: { seat: 3 } } } },
  });
  assertEquals(await s.apiJson("channels", { pattern: "room:*" }), {
    result: { channels: { "room:o": { num_clients: 2 } } },
  });
});

test("subscribe: unknown namespace → 102, missing channel → 107, nobody subscribed", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "http_stream", "err-user");
  const subs = collect<ServerSubscribed>(client, "subscribed");
  assertEquals(await s.apiJson("subscribe", { user: "err-user", channel: "nope:x" }), UNKNOWN_CHANNEL);
  assertBadRequest(await s.apiJson("subscribe", { user: "err-user" }), "no channel");
  assertBadRequest(await s.apiJson("subscribe", { user: "err-user", channel: "" }), "empty channel");
  // an expiry already past subscribes nobody (Centrifugo: 100 from a connected user's connection)
  assertBadRequest(
    await s.apiJson("subscribe", { user: "err-user", channel: "chat:late", expire_at: nowSec() - 1 }),
    "expire_at past",
  );
  // Nobody online: still {}.
  assertEquals(await s.apiJson("subscribe", { user: "offline", channel: "chat:x" }), OK);
  const fenceChannel = await fence(s, client, "err-user");
  assertEquals(subs.filter((e) => e.channel !== fenceChannel), []);
  const { result } = await s.apiJson("channels", {}) as { result: { channels: Record<string, unknown> } };
  assertEquals(Object.keys(result.channels), [fenceChannel], "no channel but the fence");
});

// ---------------------------------------------------------------- unsubscribe

for (const transport of TRANSPORTS) {
  test(`unsubscribe: a ${transport} SDK subscription gets "unsubscribed" 2000, delivery stops`, async (t) => {
    const s = await startServer(t, config);
    const { client } = await connectSdk(t, s, transport, "uns");
    const sub = client.newSubscription("chat:u");
    const pubs = collect<Pub>(sub, "publication");
    await subscribed(sub);
    const unsubscribed = once<Json>(sub, "unsubscribed");
    assertEquals(await s.apiJson("unsubscribe", { user: "uns", channel: "chat:u" }), OK);
    assertEquals(await unsubscribed, { channel: "chat:u", code: 2000, reason: "server unsubscribe" });
    assertEquals(sub.state, "unsubscribed");
    assertEquals(client.state, "connected");
    await waitFor(() => s.node.hub.channelSubscribers("chat:u") === 0, "the server forgot the subscriber");
    assertEquals(await s.apiJson("channels", {}), { result: { channels: {} } });
    await s.apiJson("publish", { channel: "chat:u", data: "after" });
    await fence(s, client, "uns");
    assertEquals(pubs.length, 0);
  });
}

test("unsubscribe: the raw stream gets the unsubscribe push and no more publications", async (t) => {
  const s = await startServer(t, config);
  const raw = await connectRaw(t, s, "raw-uns", {
    commands: [{ id: 2, subscribe: { channel: "chat:gone" } }, {
      id: 3,
      subscribe: { channel: "chat:kept" },
    }],
  });
  assertEquals(await s.apiJson("unsubscribe", { user: "raw-uns", channel: "chat:gone" }), OK);
  assertEquals(await nextPush(raw), {
    channel: "chat:gone",
    unsubscribe: { code: 2000, reason: "server unsubscribe" },
  });
  await s.apiJson("publish", { channel: "chat:gone", data: "dropped" });
  await s.apiJson("publish", { channel: "chat:kept", data: "kept" });
  assertEquals(await nextPush(raw), { channel: "chat:kept", pub: { data: "kept" } }, "nothing on chat:gone");
  // Unsubscribing what is not subscribed still tells the connection, as Centrifugo does (an SDK
  // subscription still subscribing stops); a user not online: {} and nothing.
  assertEquals(await s.apiJson("unsubscribe", { user: "raw-uns", channel: "chat:gone" }), OK);
  assertEquals(await nextPush(raw), {
    channel: "chat:gone",
    unsubscribe: { code: 2000, reason: "server unsubscribe" },
  });
  assertEquals(await s.apiJson("unsubscribe", { user: "offline", channel: "chat:kept" }), OK);
  await s.apiJson("publish", { channel: "chat:kept", data: "still" });
  assertEquals(await nextPush(raw), { channel: "chat:kept", pub: { data: "still" } });
});

test("unsubscribe: ends a server-side subscription (client-level unsubscribed event)", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "sse", "srv-uns");
  const subs = collect<ServerSubscribed>(client, "subscribed");
  const unsubs = collect<Json>(client, "unsubscribed");
  const pubs = collect<Pub>(client, "publication");
  await s.apiJson("subscribe", { user: "srv-uns", channel: "chat:s1" });
  await s.apiJson("subscribe", { user: "srv-uns", channel: "chat:s2" });
  await waitFor(() => subs.length === 2, "two server-side subscriptions");
  assertEquals(await s.apiJson("unsubscribe", { user: "srv-uns", channel: "chat:s1" }), OK);
  await waitFor(() => unsubs.length === 1, "the unsubscribed event");
  assertEquals(unsubs, [{ channel: "chat:s1" }]);
  await s.apiJson("publish", { channel: "chat:s1", data: "dropped" });
  await s.apiJson("publish", { channel: "chat:s2", data: "marker" });
  // The marker was published after "dropped": had that been delivered, it would be first.
  await waitFor(() => pubs.length >= 1, "the marker");
  assertEquals(pubs, [{ channel: "chat:s2", data: "marker" }]);
  assertEquals(client.state, "connected");
});

test("unsubscribe: unknown namespace → 102; no channel → {} and a push naming none, subscriptions kept", async (t) => {
  const s = await startServer(t, config);
  const raw = await connectRaw(t, s, "u", { commands: [{ id: 2, subscribe: { channel: "chat:kept" } }] });
  assertEquals(await s.apiJson("unsubscribe", { user: "u", channel: "nope:x" }), UNKNOWN_CHANNEL);
  // Centrifugo checks no channel here and sends its unsubscribe push with an empty one
  assertEquals(await s.apiJson("unsubscribe", { user: "u" }), OK);
  assertEquals(await nextPush(raw), { unsubscribe: { code: 2000, reason: "server unsubscribe" } });
  await s.apiJson("publish", { channel: "chat:kept", data: "still" });
  assertEquals(await nextPush(raw), { channel: "chat:kept", pub: { data: "still" } });
});

// ---------------------------------------------------------------- disconnect

for (const transport of TRANSPORTS) {
  test(`disconnect: default 3503 "force disconnect", the ${transport} SDK does not reconnect`, async (t) => {
    const s = await startServer(t, config);
    const { client } = await connectSdk(t, s, transport, "kick");
    const connecting = collect<Json>(client, "connecting");
    const disconnected = once<Json>(client, "disconnected");
    assertEquals(await s.apiJson("disconnect", { user: "kick" }), OK);
    assertEquals(await disconnected, { code: 3503, reason: "force disconnect" });
    await waitFor(() => s.node.hub.numClients === 0, "the server released the connection");
    // The SDK decides at the disconnect: one that will reconnect is "connecting" (and says so),
    // never "disconnected", which it leaves only when the app calls connect().
    assertEquals(client.state, "disconnected");
    assertEquals(connecting.length, 0);
    assertEquals(s.node.hub.numClients, 0);
  });
}

test("disconnect: a custom 4000 code makes the SDK reconnect, 4500 does not", async (t) => {
  const s = await startServer(t, config);
  const { client, id } = await connectSdk(t, s, "http_stream", "bounce");
  const connecting = collect<Json>(client, "connecting");
  const connected = collect<{ client: string }>(client, "connected");
  assertEquals(
    await s.apiJson("disconnect", { user: "bounce", disconnect: { code: 4000, reason: "bye" } }),
    OK,
  );
  await waitFor(() => connected.length === 1, "reconnected");
  assertEquals(connecting, [{ code: 4000, reason: "bye" }]);
  assert(connected[0].client !== id, "a new connection");
  const disconnected = once<Json>(client, "disconnected");
  assertEquals(
    await s.apiJson("disconnect", { user: "bounce", disconnect: { code: 4500, reason: "terminal" } }),
    OK,
  );
  assertEquals(await disconnected, { code: 4500, reason: "terminal" });
  // Not "connecting": the SDK will not reconnect (see the 3503 test).
  assertEquals(client.state, "disconnected");
  assertEquals(connecting.length, 1, "no reconnect after 4500");
});

test("disconnect: whitelist keeps the listed connections, client narrows to one (SDK)", async (t) => {
  const s = await startServer(t, config);
  const keep = await connectSdk(t, s, "http_stream", "many");
  const drop1 = await connectSdk(t, s, "sse", "many");
  const drop2 = await connectSdk(t, s, "http_stream", "many");
  const bystander = await connectSdk(t, s, "sse", "bystander");
  const gone1 = once<Json>(drop1.client, "disconnected");
  const gone2 = once<Json>(drop2.client, "disconnected");
  assertEquals(await s.apiJson("disconnect", { user: "many", whitelist: [keep.id] }), OK);
  assertEquals(await gone1, { code: 3503, reason: "force disconnect" });
  assertEquals(await gone2, { code: 3503, reason: "force disconnect" });
  await waitFor(() => s.node.hub.numClients === 2, "two connections left");
  assertEquals(s.node.hub.userConnections("many").map((c) => c.id), [keep.id]);
  assertEquals([keep.client.state, bystander.client.state], ["connected", "connected"]);
  // client narrows: a wrong client id touches nothing, the right one disconnects.
  assertEquals(await s.apiJson("disconnect", { user: "many", client: bystander.id }), OK);
  await fence(s, keep.client, "many");
  await fence(s, bystander.client, "bystander");
  assertEquals([keep.client.state, bystander.client.state], ["connected", "connected"]);
  const gone = once<Json>(keep.client, "disconnected");
  assertEquals(await s.apiJson("disconnect", { user: "many", client: keep.id }), OK);
  assertEquals(await gone, { code: 3503, reason: "force disconnect" });
  assertEquals(bystander.client.state, "connected");
});

test("disconnect: session narrows to one connection (raw streams see the disconnect push)", async (t) => {
  const s = await startServer(t, config);
  const one = await connectRaw(t, s, "two-tabs");
  const two = await connectRaw(t, s, "two-tabs", { sse: true });
  assertEquals(await s.apiJson("disconnect", { user: "two-tabs", session: one.session }), OK);
  assertEquals(await nextPush(one), { disconnect: { code: 3503, reason: "force disconnect" } });
  assertEquals(await one.stream.next(), undefined, "the stream ends");
  assertEquals(
    await s.apiJson("disconnect", { user: "two-tabs", disconnect: { code: 4501, reason: "second" } }),
    OK,
  );
  assertEquals(await nextPush(two), { disconnect: { code: 4501, reason: "second" } }, "not the first one");
});

/** An abnormal closure, no close frame: 1006 (Deno's WebSocket client reports it as 0). */
const NO_FRAME = (code: number) => code === 1006 || code === 0;

/** A raw JSON WebSocket connected as `user`, with its close event. */
async function rawWebSocket(
  s: TestServer,
  user: string,
): Promise<{ closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`${s.url.replace("http", "ws")}/connection/websocket`);
  const closed = new Promise<{ code: number; reason: string }>((
    r,
  ) => (ws.onclose = (e) => r({ code: e.code, reason: e.reason })));
  await new Promise((r) => (ws.onopen = r));
  const connected = new Promise((r) => (ws.onmessage = r));
  ws.send(JSON.stringify({ id: 1, connect: { token: await userToken(user) } }));
  await connected;
  return { closed };
}

test("disconnect takes any code and reason, as Centrifugo: where no close frame carries them, a WebSocket ends without one (1006)", async (t) => {
  const s = await startServer(t, config);
  // cent's Disconnect(reason=…) sends code 0: a stream gets the push without a code
  const stream = await connectRaw(t, s, "zero");
  const ws = await rawWebSocket(s, "zero");
  assertEquals(await s.apiJson("disconnect", { user: "zero", disconnect: { code: 0, reason: "bye" } }), OK);
  assertEquals(await nextPush(stream), { disconnect: { reason: "bye" } });
  assert(NO_FRAME((await ws.closed).code), "no close frame for code 0");
  for (const code of [2999, 5000]) {
    const socket = await rawWebSocket(s, `c${code}`);
    assertEquals(await s.apiJson("disconnect", { user: `c${code}`, disconnect: { code, reason: "x" } }), OK);
    assert(NO_FRAME((await socket.closed).code), `no close frame for code ${code}`);
  }
  // a reason a close frame cannot carry (124 bytes) ends the socket without a frame too
  const long = await rawWebSocket(s, "long");
  const tooLong = "é".repeat(62);
  assertEquals(
    await s.apiJson("disconnect", { user: "long", disconnect: { code: 4000, reason: tooLong } }),
    OK,
  );
  assert(NO_FRAME((await long.closed).code), "no close frame for a 124-byte reason");
  // 123 bytes is what a close frame takes: the SDK gets both
  const { client } = await connectSdk(t, s, "sse", "safe");
  const closed = once<Json>(client, "disconnected");
  const reason = "r".repeat(123);
  assertEquals(await s.apiJson("disconnect", { user: "safe", disconnect: { code: 4500, reason } }), OK);
  assertEquals(await closed, { code: 4500, reason });
  await waitFor(() => s.node.hub.numClients === 0, "every connection released");
});

test("disconnect, subscribe, unsubscribe, refresh without user: the anonymous connections", async (t) => {
  // Centrifugo reads no user as "": its hub holds anonymous connections under that user.
  const s = await startServer(t, { ...config, allow_anonymous_connect_without_token: true });
  const anon = await openHttpStream(s.url, JSON.stringify({ id: 1, connect: {} }));
  t.cleanup(() => anon.close());
  assertMatch((await anon.next())!, { id: 1, connect: {} });
  const named = await connectRaw(t, s, "named");
  assertEquals(await s.apiJson("subscribe", { channel: "chat:anon" }), OK);
  assertMatch((await anon.next())!, { push: { channel: "chat:anon", subscribe: {} } });
  assertEquals(await s.apiJson("refresh", {}), OK);
  assertEquals(await anon.next(), { push: { refresh: {} } });
  assertEquals(await s.apiJson("unsubscribe", { channel: "chat:anon" }), OK);
  assertEquals(await anon.next(), {
    push: { channel: "chat:anon", unsubscribe: { code: 2000, reason: "server unsubscribe" } },
  });
  assertEquals(await s.apiJson("disconnect", {}), OK);
  assertEquals(await anon.next(), { push: { disconnect: { code: 3503, reason: "force disconnect" } } });
  assertEquals(await anon.next(), undefined, "the stream ends");
  assertEquals(named.stream.text().includes("push"), false, "a named user saw none of it");
  assertEquals(s.node.hub.userConnections("named").length, 1);
});

// ---------------------------------------------------------------- refresh

test("refresh: expired → 3005 disconnect push on a raw stream; the SDK reconnects", async (t) => {
  const s = await startServer(t, config);
  const raw = await connectRaw(t, s, "exp-raw");
  assertEquals(await s.apiJson("refresh", { user: "exp-raw", expired: true }), OK);
  assertEquals(await nextPush(raw), { disconnect: { code: 3005, reason: "connection expired" } });
  assertEquals(await raw.stream.next(), undefined, "the stream ends");
  const { client } = await connectSdk(t, s, "sse", "exp-sdk");
  const connecting = once<Json>(client, "connecting");
  const reconnected = once<Json>(client, "connected");
  assertEquals(await s.apiJson("refresh", { user: "exp-sdk", expired: true }), OK);
  assertEquals(await connecting, { code: 3005, reason: "connection expired" });
  await reconnected;
});

test("refresh: expire_at in the past or near future expires the connection, far future keeps it", async (t) => {
  // Expiries run on the server's ManualClock; moving it runs the expiry timers at once, so the
  // hub's state right after a move is what the server decided.
  const clock = new ManualClock();
  const s = await startServer(t, { ...config, client_expired_close_delay: "0s" }, [], { now: clock.now });
  const nowSec = () => clock.seconds();
  const passUntil = (ms: number) => clock.advance(Math.max(0, ms - clock.now()), s.node.timers);
  const past = await connectRaw(t, s, "past");
  const soon = await connectRaw(t, s, "soon");
  // This token expires in 3 s; the refresh moves its expiry an hour away.
  const far = await connectRaw(t, s, "far", { ttl: 3 });
  assertMatch(far.connect, { expires: true });
  const tokenExpiry = nowSec() + (far.connect.ttl as number);
  assertEquals(await s.apiJson("refresh", { user: "past", expire_at: nowSec() - 5 }), OK);
  const soonAt = nowSec() + 1;
  assertEquals(await s.apiJson("refresh", { user: "soon", expire_at: soonAt }), OK);
  assertEquals(await s.apiJson("refresh", { user: "far", expire_at: nowSec() + 3600 }), OK);
  const expired = { disconnect: { code: 3005, reason: "connection expired" } };
  assertEquals(await nextPush(past), expired);
  // a future expire_at is announced first, as Centrifugo does on every transport
  assertMatch((await nextPush(soon))!, { refresh: { expires: true } });
  passUntil(soonAt * 1000 - 1);
  assertEquals(s.node.hub.userConnections("soon").length, 1, "not before expire_at");
  passUntil(soonAt * 1000);
  assertEquals(s.node.hub.userConnections("soon").length, 0, "at expire_at");
  assertEquals(await nextPush(soon), expired);
  // Past the token's own expiry, the refreshed connection is still there.
  assertMatch((await nextPush(far))!, { refresh: { expires: true } });
  passUntil(tokenExpiry * 1000 + 1000);
  assertEquals(s.node.hub.userConnections("far").length, 1);
  assert(!far.stream.text().includes("disconnect"), `no disconnect: ${far.stream.text()}`);
});

test("refresh: an expire_at already in the past disconnects at once, like Centrifugo", async (t) => {
  // Centrifugo's Client.Refresh closes with 3005 right away when expire_at ≤ now; the
  // client_expired_close_delay (default 25 s) only pads a future expiry.
  const s = await startServer(t, config);
  const raw = await connectRaw(t, s, "past-default");
  assertEquals(await s.apiJson("refresh", { user: "past-default", expire_at: nowSec() - 10 }), OK);
  assertEquals(await nextPush(raw, 2500), { disconnect: { code: 3005, reason: "connection expired" } });
});

test("refresh: a uni_http_stream connection gets a refresh push with the new ttl", async (t) => {
  const s = await startServer(t, { ...config, uni_http_stream: true });
  const token = await userToken("uni", 300);
  const stream = await openRaw(
    `${s.url}/connection/uni_http_stream`,
    { method: "POST", body: JSON.stringify({ token }) },
    "ndjson",
  );
  t.cleanup(() => stream.close());
  assertEquals(stream.status, 200);
  assertMatch((await stream.next())!, { connect: { expires: true } });
  const bystander = await connectRaw(t, s, "not-uni");
  assertEquals(await s.apiJson("refresh", { user: "uni", expire_at: nowSec() + 600 }), OK);
  const push = await stream.next();
  const ttl = ((push?.refresh ?? {}) as Json).ttl as number;
  assert(ttl >= 598 && ttl <= 600, `ttl ≈ 600: ${JSON.stringify(push)}`);
  assertEquals(push, { refresh: { expires: true, ttl } });
  assertEquals(await s.apiJson("refresh", { user: "uni", expired: true }), OK);
  assertEquals(await stream.next(), { disconnect: { code: 3005, reason: "connection expired" } });
  assertEquals(await stream.next(), undefined, "the stream ends");
  assert(!bystander.stream.text().includes("refresh"), "other users get nothing");
});

test("refresh: without expire_at the connection stops expiring, like Centrifugo", async (t) => {
  // Centrifugo passes expire_at (0 when absent) to Client.Refresh, which sets exp = 0 and sends
  // a refresh push with expires=false: {"refresh":{}}.
  const s = await startServer(t, { ...config, uni_http_stream: true });
  const stream = await openRaw(
    `${s.url}/connection/uni_http_stream`,
    { method: "POST", body: JSON.stringify({ token: await userToken("uni-forever", 300) }) },
    "ndjson",
  );
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: { expires: true } });
  assertEquals(await s.apiJson("refresh", { user: "uni-forever" }), OK);
  assertEquals(await stream.next(), { refresh: {} });
});

test("refresh: info is taken with a future expire_at only, as in Centrifugo", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "http_stream", "inf", { info: { v: 1 } });
  const subs = collect<ServerSubscribed>(client, "subscribed");
  const connInfo = async (channel: string) => {
    assertEquals(await s.apiJson("subscribe", { user: "inf", channel }), OK);
    await waitFor(() => subs.some((e) => e.channel === channel), `subscribed to ${channel}`);
    const { result } = await s.apiJson("presence", { channel }) as {
      result: { presence: Record<string, { conn_info?: unknown }> };
    };
    return Object.values(result.presence).map((p) => p.conn_info);
  };
  assertEquals(await s.apiJson("refresh", { user: "inf", info: { v: 2 } }), OK);
  assertEquals(await connInfo("room:i1"), [{ v: 1 }], "no expire_at: info dropped");
  assertEquals(await s.apiJson("refresh", { user: "inf", info: { v: 3 }, expire_at: nowSec() + 900 }), OK);
  assertEquals(await connInfo("room:i2"), [{ v: 3 }], "with an expiry: info taken");
});

test("refresh: a bidirectional connection gets the refresh push too; a negative expire_at is none", async (t) => {
  const s = await startServer(t, config);
  const raw = await connectRaw(t, s, "r-bidi", { ttl: 300 });
  assertEquals(await s.apiJson("refresh", { user: "r-bidi", expire_at: nowSec() + 600 }), OK);
  const push = await nextPush(raw);
  const ttl = ((push?.refresh ?? {}) as Json).ttl as number;
  assert(ttl >= 598 && ttl <= 600, `ttl ≈ 600: ${JSON.stringify(push)}`);
  assertEquals(push, { refresh: { expires: true, ttl } });
  assertEquals(await s.apiJson("refresh", { user: "r-bidi", expire_at: -1 }), OK);
  assertEquals(await nextPush(raw), { refresh: {} });
  assertEquals(s.node.hub.numClients, 1);
});

// ---------------------------------------------------------------- presence

test("presence and presence_stats: exact shapes from real subscribers; 108 and 102", async (t) => {
  const s = await startServer(t, config);
  const ann = await connectSdk(t, s, "http_stream", "ann", { info: { name: "Ann" } });
  const ann2 = await connectSdk(t, s, "sse", "ann", { info: { name: "Ann" } });
  const ben = await connectSdk(t, s, "sse", "ben");
  await subscribed(ann.client.newSubscription("room:p"));
  const benSubs = collect<ServerSubscribed>(ben.client, "subscribed");
  assertEquals(await s.apiJson("subscribe", { user: "ben", channel: "room:p", info: { seat: 3 } }), OK);
  await waitFor(() => benSubs.length === 1, "ben subscribed");
  assertEquals(await s.apiJson("presence", { channel: "room:p" }), {
    result: {
      presence: {
        [ann.id]: { user: "ann", client: ann.id, conn_info: { name: "Ann" } },
        [ben.id]: { user: "ben", client: ben.id, chan_info: { seat: 3 } },
      },
    },
  });
  assertEquals(await s.apiJson("presence_stats", { channel: "room:p" }), {
    result: { num_clients: 2, num_users: 2 },
  });
  await subscribed(ann2.client.newSubscription("room:p"));
  assertEquals(await s.apiJson("presence_stats", { channel: "room:p" }), {
    result: { num_clients: 3, num_users: 2 },
  });
  // Leaving (here through the API, so the release does not wait for the client runtime).
  assertEquals(await s.apiJson("disconnect", { user: "ben" }), OK);
  await waitFor(
    async () => deepStats(await s.apiJson("presence_stats", { channel: "room:p" }), 2, 1),
    "ben gone from presence",
  );
  const after = await s.apiJson("presence", { channel: "room:p" });
  assertEquals(Object.keys((after.result as { presence: Json }).presence).sort(), [ann.id, ann2.id].sort());
  // An empty channel has an empty presence map.
  assertEquals(await s.apiJson("presence", { channel: "room:empty" }), { result: { presence: {} } });
  assertEquals(await s.apiJson("presence_stats", { channel: "room:empty" }), {
    result: { num_clients: 0, num_users: 0 },
  });
  for (const method of ["presence", "presence_stats"]) {
    assertEquals(await s.apiJson(method, { channel: "chat:x" }), NOT_AVAILABLE, method);
    assertEquals(await s.apiJson(method, { channel: "nope:x" }), UNKNOWN_CHANNEL, method);
    assertBadRequest(await s.apiJson(method, {}), `${method} without channel`);
  }
});

function deepStats(res: Json, clients: number, users: number): boolean {
  const r = res.result as { num_clients: number; num_users: number } | undefined;
  return r?.num_clients === clients && r?.num_users === users;
}

// ---------------------------------------------------------------- history

test("history: position only, limit, since, reverse; matches what subscribers received", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "sse", "reader");
  const sub = client.newSubscription("hist:h");
  const live = collect<Pub>(sub, "publication");
  await subscribed(sub);
  for (let i = 1; i <= 5; i++) {
    await s.apiJson("publish", {
      channel: "hist:h",
      data: { i },
      tags: i === 5 ? { last: "yes" } : undefined,
    });
  }
  // no epoch on the first publication: the API's publications carry none
  const pub = (
    i: number,
  ) => (i === 5 ? { data: { i }, offset: i, tags: { last: "yes" } } : { data: { i }, offset: i });
  const top = await s.apiJson("history", { channel: "hist:h" });
  const epoch = (top.result as { epoch: string }).epoch;
  assert(typeof epoch === "string" && epoch !== "", "an epoch");
  assertEquals(top, { result: { publications: [], epoch, offset: 5 } });
  assertEquals(await s.apiJson("history", { channel: "hist:h", limit: 0 }), top);
  const h = async (body: Json) => await s.apiJson("history", { channel: "hist:h", ...body });
  const expect = (offsets: number[]) => ({ result: { publications: offsets.map(pub), epoch, offset: 5 } });
  assertEquals(await h({ limit: -1 }), expect([1, 2, 3, 4, 5]));
  assertEquals(await h({ limit: 2 }), expect([1, 2]));
  assertEquals(await h({ limit: 2, since: { offset: 2, epoch } }), expect([3, 4]));
  assertEquals(await h({ limit: -1, since: { offset: 2 } }), expect([3, 4, 5]));
  assertEquals(await h({ limit: 2, reverse: true }), expect([5, 4]));
  assertEquals(await h({ limit: -1, reverse: true, since: { offset: 4, epoch } }), expect([3, 2, 1]));
  assertEquals(await h({ limit: -1, since: { offset: 5, epoch } }), expect([]));
  assertEquals(await h({ limit: 1, since: { offset: 1, epoch: "wrong" } }), UNRECOVERABLE);
  // any negative limit is "no limit", as in Centrifugo
  assertEquals(await h({ limit: -2 }), expect([1, 2, 3, 4, 5]));
  // reading backwards from before the first publication (Centrifugo: 100, a bug; README)
  assertBadRequest(await h({ limit: -1, reverse: true, since: { offset: 0, epoch } }), "reverse since 0");
  await waitFor(() => live.length === 5, "five live publications");
  assertEquals(
    live.map((p) => [p.data, p.offset]),
    [1, 2, 3, 4, 5].map((i) => [{ i }, i]),
  );
  // A channel never published to has a position (offset 0) already.
  const fresh = await s.apiJson("history", { channel: "hist:fresh", limit: -1 });
  assertMatch(fresh, { result: { publications: [], offset: 0 } });
  assert((fresh.result as { epoch: string }).epoch !== "", "an epoch for a fresh stream");
  assertEquals(await s.apiJson("history", { channel: "chat:x", limit: -1 }), NOT_AVAILABLE);
  assertEquals(await s.apiJson("history", { channel: "room:x", limit: -1 }), NOT_AVAILABLE);
  assertEquals(await s.apiJson("history", { channel: "nope:x", limit: -1 }), UNKNOWN_CHANNEL);
  assertBadRequest(await s.apiJson("history", { limit: -1 }), "no channel");
});

test("history_remove: publications gone, position and epoch kept, offsets continue", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "http_stream", "remover");
  const sub = client.newSubscription("hist:rm");
  const live = collect<Pub>(sub, "publication");
  const unsubscribed = collect<Json>(sub, "unsubscribed");
  await subscribed(sub);
  let epoch = "";
  for (let i = 1; i <= 3; i++) {
    epoch = ((await s.apiJson("publish", { channel: "hist:rm", data: i })).result as { epoch: string }).epoch;
  }
  assertEquals(await s.apiJson("history_remove", { channel: "hist:rm" }), OK);
  assertEquals(await s.apiJson("history", { channel: "hist:rm", limit: -1 }), {
    result: { publications: [], epoch, offset: 3 },
  });
  assertEquals(await s.apiJson("publish", { channel: "hist:rm", data: 4 }), { result: { offset: 4, epoch } });
  assertEquals(await s.apiJson("history", { channel: "hist:rm", limit: -1 }), {
    result: { publications: [{ data: 4, offset: 4 }], epoch, offset: 4 },
  });
  // The subscriber saw a continuous stream and was not unsubscribed.
  await waitFor(() => live.length === 4, "four publications");
  assertEquals(live.map((p) => [p.data, p.offset]), [[1, 1], [2, 2], [3, 3], [4, 4]]);
  assertEquals([sub.state, unsubscribed.length], ["subscribed", 0]);
  // Removing an empty or unknown stream is fine; features and names are checked.
  assertEquals(await s.apiJson("history_remove", { channel: "hist:never" }), OK);
  assertEquals(await s.apiJson("history_remove", { channel: "chat:x" }), NOT_AVAILABLE);
  assertEquals(await s.apiJson("history_remove", { channel: "nope:x" }), UNKNOWN_CHANNEL);
  assertBadRequest(await s.apiJson("history_remove", {}), "no channel");
});

// ---------------------------------------------------------------- channels and info

test("channels: channels with subscribers and their counts, glob pattern filter", async (t) => {
  const s = await startServer(t, config);
  const a = await connectSdk(t, s, "http_stream", "ca");
  const b = await connectSdk(t, s, "sse", "cb");
  await subscribed(a.client.newSubscription("chat:a"));
  await subscribed(a.client.newSubscription("chat:b"));
  const bChatA = b.client.newSubscription("chat:a");
  await subscribed(bChatA);
  await subscribed(b.client.newSubscription("plain:c"));
  await s.apiJson("publish", { channel: "hist:nobody", data: 1 }); // history alone is no channel
  const all = {
    "chat:a": { num_clients: 2 },
    "chat:b": { num_clients: 1 },
    "plain:c": { num_clients: 1 },
  };
  assertEquals(await s.apiJson("channels", {}), { result: { channels: all } });
  assertEquals(await s.apiJson("channels", { pattern: "" }), { result: { channels: all } });
  const chats = { "chat:a": { num_clients: 2 }, "chat:b": { num_clients: 1 } };
  assertEquals(await s.apiJson("channels", { pattern: "chat:*" }), { result: { channels: chats } });
  assertEquals(await s.apiJson("channels", { pattern: "chat:?" }), { result: { channels: chats } });
  assertEquals(await s.apiJson("channels", { pattern: "*:c" }), {
    result: { channels: { "plain:c": { num_clients: 1 } } },
  });
  assertEquals(await s.apiJson("channels", { pattern: "chat:a" }), {
    result: { channels: { "chat:a": { num_clients: 2 } } },
  });
  assertEquals(await s.apiJson("channels", { pattern: "chat" }), { result: { channels: {} } });
  // Centrifugo's glob syntax: character classes, alternatives, escapes
  assertEquals(await s.apiJson("channels", { pattern: "[cp]*:[!a]" }), {
    result: { channels: { "chat:b": { num_clients: 1 }, "plain:c": { num_clients: 1 } } },
  });
  assertEquals(await s.apiJson("channels", { pattern: "{chat:a,plain:*}" }), {
    result: { channels: { "chat:a": { num_clients: 2 }, "plain:c": { num_clients: 1 } } },
  });
  assertEquals(await s.apiJson("channels", { pattern: "chat:[a-b]" }), { result: { channels: chats } });
  assertEquals(await s.apiJson("channels", { pattern: "chat\\:?" }), { result: { channels: chats } });
  // a pattern that does not compile (Centrifugo: 100, a bug; README)
  assertBadRequest(await s.apiJson("channels", { pattern: "chat:[" }), "unclosed [");
  assertBadRequest(await s.apiJson("channels", { pattern: "chat:[b-a]" }), "reversed range");
  const left = once(bChatA, "unsubscribed");
  bChatA.unsubscribe();
  await left;
  await waitFor(
    async () =>
      JSON.stringify(await s.apiJson("channels", { pattern: "chat:a" })) ===
        JSON.stringify({ result: { channels: { "chat:a": { num_clients: 1 } } } }),
    "chat:a down to one subscriber",
  );
  assertEquals(await s.apiJson("disconnect", { user: "ca" }), OK);
  await waitFor(
    async () =>
      JSON.stringify(await s.apiJson("channels", {})) ===
        JSON.stringify({ result: { channels: { "plain:c": { num_clients: 1 } } } }),
    "only plain:c left",
  );
});

test("info: one node with uid, name, version and counts of real connections", async (t) => {
  const s = await startServer(t, { ...config, name: "api-node-1" });
  const node = async () => {
    const res = await s.apiJson("info", {});
    assertEquals(Object.keys(res), ["result"]);
    const nodes = (res.result as { nodes: Json[] }).nodes;
    assertEquals(nodes.length, 1);
    const { uptime, metrics, ...rest } = nodes[0];
    assert(typeof uptime === "number" && Number.isInteger(uptime) && uptime >= 0, `uptime ${uptime}`);
    assertMatch(metrics as Json, { interval: 60 });
    return rest;
  };
  const base = { uid: s.node.id, name: "api-node-1", version: s.node.version };
  assert(/^\d+\.\d+\.\d+/.test(String(s.node.version)), "a version");
  assertEquals(await node(), { ...base, num_clients: 0, num_users: 0, num_channels: 0, num_subs: 0 });
  const ann1 = await connectSdk(t, s, "http_stream", "ann");
  const ann2 = await connectSdk(t, s, "sse", "ann");
  const ben = await connectRaw(t, s, "ben");
  await subscribed(ann1.client.newSubscription("chat:i1"));
  await subscribed(ann1.client.newSubscription("chat:i2"));
  await subscribed(ann2.client.newSubscription("chat:i1"));
  await s.apiJson("subscribe", { user: "ben", channel: "chat:i3" });
  assertMatch((await nextPush(ben))!, { channel: "chat:i3", subscribe: {} });
  assertEquals(await node(), { ...base, num_clients: 3, num_users: 2, num_channels: 3, num_subs: 4 });
  assertEquals(await s.apiJson("disconnect", { user: "ann", client: ann2.id }), OK);
  await waitFor(async () => (await node()).num_clients === 2, "ann2 gone");
  assertEquals(await node(), { ...base, num_clients: 2, num_users: 2, num_channels: 3, num_subs: 3 });
  assertEquals(await s.apiJson("disconnect", { user: "ann" }), OK);
  await waitFor(async () => (await node()).num_clients === 1, "ann gone");
  assertEquals(await node(), { ...base, num_clients: 1, num_users: 1, num_channels: 1, num_subs: 1 });
});

// ---------------------------------------------------------------- batch

test("batch: replies in command order, per-item errors, effects on subscribers", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "http_stream", "batcher");
  const chat = client.newSubscription("chat:batch");
  const chatPubs = collect<Pub>(chat, "publication");
  await subscribed(chat);
  await subscribed(client.newSubscription("room:batch"));
  const res = await s.apiJson("batch", {
    commands: [
      { publish: { channel: "hist:batch", data: { n: 1 } } },
      { publish: { channel: "nope:batch", data: 1 } },
      { history: { channel: "hist:batch", limit: -1 } },
      { presence_stats: { channel: "room:batch" } },
      { broadcast: { channels: ["chat:batch", "nope:z"], data: { b: 1 } } },
      // two methods: the first in Centrifugo's order runs (publish before broadcast)
      {
        broadcast: { channels: ["chat:batch"], data: { two: "methods" } },
        publish: { channel: "chat:batch", data: 1 },
      },
      { no_such_method: {} },
      { publish: null },
      {},
      null,
      { connections: {} },
      { publish: { channel: "", data: 1 } },
      { publish: { channel: "chat:batch", data: { after: "errors" } } },
    ],
  });
  assertEquals(Object.keys(res), ["replies"]);
  const replies = res.replies as Json[];
  assertEquals(replies.length, 13);
  const epoch = ((replies[0].publish ?? {}) as Json).epoch;
  assert(typeof epoch === "string" && epoch !== "", `an epoch: ${JSON.stringify(replies[0])}`);
  assertEquals(replies[0], { publish: { offset: 1, epoch } });
  assertEquals(replies[1], UNKNOWN_CHANNEL);
  assertEquals(replies[2], { history: { publications: [{ data: { n: 1 }, offset: 1 }], epoch, offset: 1 } });
  assertEquals(replies[3], { presence_stats: { num_clients: 1, num_users: 1 } });
  assertEquals(replies[4], { broadcast: { responses: [OK, UNKNOWN_CHANNEL] } });
  assertEquals(replies[5], { publish: {} });
  // a command with no method Sluice has: 104; a null one: 107
  for (const i of [6, 7, 8, 10]) assertEquals(replies[i], NOT_FOUND, `reply ${i}`);
  assertBadRequest(replies[9], "null command");
  assertBadRequest(replies[11], "empty channel");
  assertEquals(replies[12], { publish: {} });
  await waitFor(() => chatPubs.length === 3, "the broadcast and two publishes");
  assertEquals(chatPubs.map((p) => p.data), [{ b: 1 }, 1, { after: "errors" }]);
  // no commands: Centrifugo leaves the empty list out
  assertEquals(await s.apiJson("batch", { commands: [] }), {});
  assertEquals(await s.apiJson("batch", {}), {});
});

test("batch: parallel keeps replies in command order", async (t) => {
  const s = await startServer(t, config);
  const { client } = await connectSdk(t, s, "sse", "par");
  const sub = client.newSubscription("hist:par");
  const pubs = collect<Pub>(sub, "publication");
  await subscribed(sub);
  const commands: Json[] = [];
  for (let i = 0; i < 40; i++) commands.push({ publish: { channel: "hist:par", data: { i } } });
  commands.splice(20, 0, { publish: { channel: "nope:par", data: 1 } }, { presence: { channel: "chat:x" } });
  const res = await s.apiJson("batch", { commands, parallel: true });
  const replies = res.replies as Json[];
  assertEquals(replies.length, 42);
  assertEquals(replies[20], UNKNOWN_CHANNEL);
  assertEquals(replies[21], NOT_AVAILABLE);
  const publishReplies = replies.filter((_, k) => k !== 20 && k !== 21);
  const offsets = publishReplies.map((r) => ((r.publish ?? {}) as Json).offset as number);
  assertEquals([...offsets].sort((x, y) => x - y), Array.from({ length: 40 }, (_, k) => k + 1));
  // Each reply belongs to its own command: the offset it reports holds that command's data.
  const history = await s.apiJson("history", { channel: "hist:par", limit: -1 });
  const byOffset = new Map(
    (history.result as { publications: Array<{ data: { i: number }; offset: number }> }).publications
      .map((p) => [p.offset, p.data.i]),
  );
  assertEquals(offsets.map((o) => byOffset.get(o)), Array.from({ length: 40 }, (_, k) => k));
  await waitFor(() => pubs.length === 40, "40 publications");
  assertEquals(pubs.map((p) => p.offset), Array.from({ length: 40 }, (_, k) => k + 1));
  // Sequential batches publish in command order.
  const seq = await s.apiJson("batch", {
    commands: [1, 2, 3].map((i) => ({ publish: { channel: "hist:seq", data: i } })),
  });
  assertEquals(
    (seq.replies as Json[]).map((r) => ((r.publish ?? {}) as Json).offset),
    [1, 2, 3],
  );
});

test("batch: commands not a list, a command not an object, parallel not a boolean → 400, nothing runs", async (t) => {
  const s = await startServer(t, config);
  for (
    const body of [
      { commands: "publish" },
      { commands: { publish: {} } },
      { commands: [], parallel: "yes" },
      { commands: [{ publish: { channel: "hist:b400", data: 1 } }, "publish"] },
      { commands: [{ publish: { channel: "hist:b400", data: 1 } }, { publish: "not an object" }] },
      { commands: [{ publish: { channel: "hist:b400", data: 1 } }, { history: { channel: 5 } }] },
    ]
  ) {
    await assertGoBadRequest(await s.api("batch", body), JSON.stringify(body));
  }
  // the well-formed first commands did not run either
  assertMatch(await s.apiJson("history", { channel: "hist:b400", limit: -1 }), {
    result: { publications: [], offset: 0 },
  });
});

// ---------------------------------------------------------------- transport error mode

async function call(
  s: TestServer,
  method: string,
  body: unknown,
  headers: Record<string, string> = { "X-API-Key": API_KEY },
): Promise<{ status: number; body: Json }> {
  const res = await s.api(method, body, headers);
  return { status: res.status, body: await res.json() };
}

async function checkTransportMode(s: TestServer, headers: Record<string, string>): Promise<void> {
  await s.apiJson("publish", { channel: "hist:tm", data: 1 });
  assertEquals(await call(s, "publish", { channel: "nope:x", data: 1 }, headers), {
    status: 404,
    body: { code: 102, message: "unknown channel" },
  });
  assertEquals(await call(s, "subscribe", { user: "u", channel: "nope:x" }, headers), {
    status: 404,
    body: { code: 102, message: "unknown channel" },
  });
  assertEquals(await call(s, "publish", { data: 1 }, headers), {
    status: 400,
    body: { code: 107, message: "bad request" },
  });
  assertEquals(await call(s, "presence", { channel: "chat:x" }, headers), {
    status: 400,
    body: { code: 108, message: "not available" },
  });
  assertEquals(
    await call(
      s,
      "history",
      { channel: "hist:tm", limit: -1, since: { offset: 0, epoch: "wrong" } },
      headers,
    ),
    { status: 416, body: { code: 112, message: "unrecoverable position" } },
  );
  const ok = await call(s, "publish", { channel: "chat:x", data: 1 }, headers);
  assertEquals(ok.status, 200);
  // Broadcast and batch keep their per-item errors with 200.
  assertEquals(await call(s, "broadcast", { channels: ["chat:x", "nope:x"], data: 1 }, headers), {
    status: 200,
    body: { result: { responses: [OK, UNKNOWN_CHANNEL] } },
  });
  assertEquals(await call(s, "batch", { commands: [{ publish: { channel: "nope:x", data: 1 } }] }, headers), {
    status: 200,
    body: { replies: [UNKNOWN_CHANNEL] },
  });
}

test("transport error mode via X-Centrifugo-Error-Mode: 102 → 404, 107/108 → 400, 112 → 416", async (t) => {
  const s = await startServer(t, config);
  await checkTransportMode(s, { "X-API-Key": API_KEY, "X-Centrifugo-Error-Mode": "transport" });
  // the value is compared as Centrifugo compares it: exactly
  assertEquals(
    await call(s, "publish", { channel: "nope:x", data: 1 }, {
      "X-API-Key": API_KEY,
      "X-Centrifugo-Error-Mode": "TRANSPORT",
    }),
    { status: 200, body: UNKNOWN_CHANNEL },
  );
  // 104 → 404 (an unknown rpc method)
  assertEquals(
    await call(s, "rpc", { method: "nosuch" }, {
      "X-API-Key": API_KEY,
      "X-Centrifugo-Error-Mode": "transport",
    }),
    {
      status: 404,
      body: { code: 104, message: "not found" },
    },
  );
  // Without the header: 200 with an error object.
  assertEquals(await call(s, "publish", { channel: "nope:x", data: 1 }), {
    status: 200,
    body: UNKNOWN_CHANNEL,
  });
  assertEquals(await call(s, "presence", { channel: "chat:x" }), { status: 200, body: NOT_AVAILABLE });
});

test('transport error mode via api_error_mode: "transport" without the header', async (t) => {
  const s = await startServer(t, { ...config, api_error_mode: "transport" });
  await checkTransportMode(s, { "X-API-Key": API_KEY });
});

// ---------------------------------------------------------------- garbage field types

test("every method answers 400 Bad Request (and runs nothing) to fields of the wrong type", async (t) => {
  const s = await startServer(t, config);
  // A connected user whose connections the user-targeted methods would reach.
  const raw = await connectRaw(t, s, "u", { commands: [{ id: 2, subscribe: { channel: "chat:g" } }] });
  const garbage: Array<[string, Json]> = [
    ["publish", { channel: 1, data: {} }],
    ["publish", { channel: ["chat:g"], data: {} }],
    ["publish", { channel: { name: "chat:g" }, data: {} }],
    ["publish", { channel: "chat:g", data: {}, skip_history: "true" }],
    ["publish", { channel: "chat:g", data: {}, skip_history: 1 }],
    ["publish", { channel: "chat:g", data: {}, tags: ["a"] }],
    ["publish", { channel: "chat:g", data: {}, tags: "a=b" }],
    ["publish", { channel: "chat:g", data: {}, tags: { a: 1 } }],
    ["publish", { channel: "chat:g", data: {}, idempotency_key: 7 }],
    ["publish", { channel: "chat:g", b64data: 12 }],
    ["publish", { channel: "chat:g", b64data: ["eyJ9"] }],
    ["broadcast", { channels: "chat:g", data: {} }],
    ["broadcast", { channels: [1, 2], data: {} }],
    ["broadcast", { channels: { a: "chat:g" }, data: {} }],
    ["broadcast", { channels: ["chat:g"], data: {}, skip_history: "no" }],
    ["broadcast", { channels: ["chat:g"], data: {}, tags: [] }],
    ["subscribe", { user: 1, channel: "chat:g2" }],
    ["subscribe", { user: ["u"], channel: "chat:g2" }],
    ["subscribe", { user: "u", channel: 1 }],
    ["subscribe", { user: "u", channel: "chat:g2", client: 5 }],
    ["subscribe", { user: "u", channel: "chat:g2", session: ["s"] }],
    ["subscribe", { user: "u", channel: "chat:g2", b64info: 5 }],
    ["subscribe", { user: "u", channel: "chat:g2", b64data: {} }],
    ["subscribe", { user: "u", channel: "chat:g2", override: [] }],
    ["subscribe", { user: "u", channel: "chat:g2", override: "presence" }],
    ["subscribe", { user: "u", channel: "chat:g2", override: { presence: true } }],
    ["subscribe", { user: "u", channel: "chat:g2", override: { presence: { value: "yes" } } }],
    ["subscribe", { user: "u", channel: "chat:g2", recover_since: [] }],
    ["subscribe", { user: "u", channel: "chat:g2", recover_since: "1" }],
    ["subscribe", { user: "u", channel: "chat:g2", recover_since: { offset: "1", epoch: "x" } }],
    ["subscribe", { user: "u", channel: "chat:g2", recover_since: { offset: 1, epoch: 2 } }],
    ["subscribe", { user: "u", channel: "chat:g2", expire_at: "soon" }],
    ["unsubscribe", { user: {}, channel: "chat:g" }],
    ["unsubscribe", { user: "u", channel: true }],
    ["unsubscribe", { user: "u", channel: "chat:g", client: [] }],
    ["unsubscribe", { user: "u", channel: "chat:g", session: 1 }],
    ["disconnect", { user: 1 }],
    ["disconnect", { user: "u", client: 1 }],
    ["disconnect", { user: "u", session: {} }],
    ["disconnect", { user: "u", whitelist: "abc" }],
    ["disconnect", { user: "u", whitelist: [1] }],
    ["disconnect", { user: "u", whitelist: { id: "x" } }],
    ["disconnect", { user: "u", disconnect: "bye" }],
    ["disconnect", { user: "u", disconnect: [4000, "bye"] }],
    ["disconnect", { user: "u", disconnect: { code: "4000", reason: "x" } }],
    ["disconnect", { user: "u", disconnect: { code: 4000, reason: 5 } }],
    ["refresh", { user: [] }],
    ["refresh", { user: "u", expired: "true" }],
    ["refresh", { user: "u", expired: 1 }],
    ["refresh", { user: "u", expire_at: "tomorrow" }],
    ["refresh", { user: "u", expire_at: [1] }],
    ["refresh", { user: "u", client: true }],
    ["refresh", { user: "u", info: 1, expire_at: 1.5 }],
    ["history", { channel: "hist:g", limit: 2 ** 31 }],
    ["history", { channel: "hist:g", since: { offset: -1 } }],
    ["disconnect", { user: "u", disconnect: { code: 3000.5 } }],
    ["disconnect", { user: "u", disconnect: { code: -4000 } }],
    ["subscribe", { user: "u", channel: "chat:g2", label_filter: { op: 1 } }],
    ["subscribe", { user: "u", channel: "chat:g2", all_users: "yes" }],
    ["rpc", { method: 1 }],
    ["presence", { channel: 1 }],
    ["presence", { channel: ["room:g"] }],
    ["presence_stats", { channel: {} }],
    ["presence_stats", { channel: false }],
    ["history", { channel: 1 }],
    ["history", { channel: "hist:g", limit: "10" }],
    ["history", { channel: "hist:g", limit: true }],
    ["history", { channel: "hist:g", limit: 1.5 }],
    ["history", { channel: "hist:g", reverse: "yes" }],
    ["history", { channel: "hist:g", since: [] }],
    ["history", { channel: "hist:g", since: "1" }],
    ["history", { channel: "hist:g", since: { offset: "1" } }],
    ["history", { channel: "hist:g", since: { offset: 1, epoch: 1 } }],
    ["history_remove", { channel: 1 }],
    ["history_remove", { channel: [] }],
    ["channels", { pattern: 1 }],
    ["channels", { pattern: ["chat:*"] }],
    ["channels", { pattern: { glob: "*" } }],
    ["batch", { commands: "publish" }],
    ["batch", { commands: { publish: {} } }],
    ["batch", { commands: [], parallel: "yes" }],
  ];
  for (const [method, body] of garbage) {
    await assertGoBadRequest(await s.api(method, body), `${method} ${JSON.stringify(body)}`);
  }
  // Every method is covered.
  const covered = new Set(garbage.map(([m]) => m));
  for (const m of ["publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "refresh"]) {
    assert(covered.has(m), m);
  }
  for (const m of ["presence", "presence_stats", "history", "history_remove", "channels", "batch"]) {
    assert(covered.has(m), m);
  }
  // info takes no fields: any object is fine, anything else is not.
  const info = await s.apiJson("info", { nodes: 5, pattern: [], user: {} });
  const nodes = (info.result as { nodes: Json[] }).nodes;
  assertEquals(nodes.length, 1);
  assertMatch(nodes[0], { uid: s.node.id, num_clients: 1 });
  for (const body of [[], 5, "info"]) {
    await assertGoBadRequest(await s.api("info", body), JSON.stringify(body));
  }
  // A batch with one such command is refused whole.
  for (const [m, body] of garbage.filter(([m]) => m !== "batch")) {
    await assertGoBadRequest(
      await s.api("batch", { commands: [{ [m]: body }] }),
      `batch ${m} ${JSON.stringify(body)}`,
    );
  }
  assert(!s.logs.some((l) => l.includes("api method failed")), "no internal errors logged");
  // The connection saw none of it.
  await s.apiJson("publish", { channel: "chat:g", data: "marker" });
  assertEquals(await nextPush(raw), { channel: "chat:g", pub: { data: "marker" } });
  assertEquals(s.node.hub.numClients, 1);
});
