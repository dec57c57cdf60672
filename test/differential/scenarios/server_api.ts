/**
 * The server HTTP API: every method with valid parameters (and its effect on a connected client)
 * and with invalid ones (error codes and messages), the API key, HTTP-level errors, batch, and the
 * error mode header.
 */
import { perTransport, scenario } from "../scenario.ts";
import type { Session, Transcript } from "../session.ts";
import { BIDI, UNI } from "../transports.ts";

const NO_KEY = { key: null };

// ---------------------------------------------------------------- publish

scenario("api publish: into a history channel", async (s) => {
  await s.api("publish", { channel: s.ch("open:room"), data: { text: "hi" } });
  await s.api("publish", { channel: s.ch("open:room"), data: { text: "again" } });
});

scenario("api publish: into a channel without history", async (s) => {
  await s.api("publish", { channel: s.ch("pres:room"), data: { text: "hi" } });
});

scenario("api publish: with tags, skip_history and idempotency_key", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { channel: ch, data: 1, tags: { a: "b" } });
  await s.api("publish", { channel: ch, data: 2, skip_history: true });
  await s.api("publish", { channel: ch, data: 3, idempotency_key: "k1" });
  await s.api("publish", { channel: ch, data: 4, idempotency_key: "k1" });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api publish: b64data", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { channel: ch, b64data: btoa(JSON.stringify({ from: "b64" })) });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api publish: data of every JSON kind", async (s) => {
  const ch = s.ch("open:room");
  for (const data of ["text", 0, -1.25, false, null, [], {}, { a: [1, { b: "ü" }] }]) {
    await s.api("publish", { channel: ch, data });
  }
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api publish: no data", async (s) => {
  await s.api("publish", { channel: s.ch("open:room") });
});

scenario("api publish: empty channel", async (s) => {
  await s.api("publish", { channel: "", data: 1 });
});

scenario("api publish: no channel", async (s) => {
  await s.api("publish", { data: 1 });
});

scenario("api publish: unknown namespace", async (s) => {
  await s.api("publish", { channel: s.ch("nosuch:room"), data: 1 });
});

scenario("api publish: channel of the wrong type", async (s) => {
  await s.api("publish", { channel: 42, data: 1 });
});

scenario("api publish: tags of the wrong type", async (s) => {
  await s.api("publish", { channel: s.ch("open:room"), data: 1, tags: { a: 1 } });
});

scenario("api publish: bad b64data", async (s) => {
  await s.api("publish", { channel: s.ch("open:room"), b64data: "%%%not base64%%%" });
});

scenario("api publish: unknown fields are ignored", async (s) => {
  await s.api("publish", { channel: s.ch("open:room"), data: 1, surprise: true });
});

scenario("api publish: field names in another case", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { Channel: ch, DATA: { n: 1 } });
  await s.api("history", { CHANNEL: ch, Limit: -1 });
});

scenario("api publish: a null body, null fields", async (s) => {
  await s.api("publish", undefined, { raw: "null" });
  await s.api("publish", {
    channel: s.ch("open:room"),
    data: 1,
    tags: null,
    b64data: null,
    skip_history: null,
  });
  await s.api("publish", { channel: null, data: 1 });
});

scenario("api publish: tags with a null value, empty tags", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { channel: ch, data: 1, tags: { a: null, b: "x" } });
  await s.api("publish", { channel: ch, data: 2, tags: {} });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api publish: b64data wins over data; an empty b64data is unset", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", {
    channel: ch,
    data: { from: "data" },
    b64data: btoa(JSON.stringify({ from: "b64" })),
  });
  await s.api("publish", { channel: ch, data: { from: "data" }, b64data: "" });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api publish: base64 without padding or with a space", async (s) => {
  await s.api("publish", { channel: s.ch("open:room"), b64data: "eyJhIjoxfQ" });
  await s.api("publish", { channel: s.ch("open:room"), b64data: "eyJh IjoxfQ==" });
  await s.api("publish", { channel: s.ch("open:room"), b64data: "eyJhIjox\nfQ==" });
});

scenario("api publish: unknown namespace and no data", async (s) => {
  await s.api("publish", { channel: s.ch("nosuch:room") });
});

scenario("api publish: data null, data empty string", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { channel: ch, data: null });
  await s.api("publish", { channel: ch, data: "" });
});

scenario("api publish: channel names the client protocol refuses", async (s) => {
  await s.api("publish", { channel: `open:ü_${s.runId}`, data: 1 });
  await s.api("publish", { channel: `open:${"x".repeat(300)}_${s.runId}`, data: 1 });
  await s.api("publish", { channel: `open:_${s.runId}  `, data: 1 });
});

scenario("api publish: namespace edge cases", async (s) => {
  for (const ch of [`:room_${s.runId}`, `open:_${s.runId}`, `$open:room_${s.runId}`, `open:a:b_${s.runId}`]) {
    await s.api("publish", { channel: ch, data: 1 });
  }
  await s.api("publish", { channel: `open_${s.runId}:`, data: 1 });
  await s.api("publish", { channel: `open#x_${s.runId}`, data: 1 });
});

scenario("api publish: fields of the wrong type", async (s) => {
  const ch = s.ch("open:room");
  for (
    const extra of [
      { skip_history: "yes" },
      { idempotency_key: 5 },
      { delta: 1 },
      { version: -1 },
      { version_epoch: 1 },
      { tags: [] },
      { tags: "a" },
      { b64data: 5 },
    ]
  ) {
    await s.api("publish", { channel: ch, data: 1, ...extra });
  }
});

scenario("api publish: delta and version fields are taken", async (s) => {
  const ch = s.ch("open:room");
  await s.api("publish", { channel: ch, data: 1, delta: true });
});

// ---------------------------------------------------------------- broadcast

scenario("api broadcast: several channels", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a"), s.ch("pres:b"), s.ch("open:c")], data: { x: 1 } });
});

scenario("api broadcast: one channel fails, the others go", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a"), s.ch("nosuch:b"), ""], data: { x: 1 } });
});

scenario("api broadcast: no channels", async (s) => {
  await s.api("broadcast", { channels: [], data: 1 });
});

scenario("api broadcast: no data", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a")] });
});

scenario("api broadcast: no data into several channels, one unknown", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a"), s.ch("nosuch:b"), ""] });
});

scenario("api broadcast: bad b64data", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a")], b64data: "%%" });
});

scenario("api broadcast: channels of the wrong type", async (s) => {
  await s.api("broadcast", { channels: s.ch("open:a"), data: 1 });
  await s.api("broadcast", { channels: [s.ch("open:a"), 5], data: 1 });
});

scenario("api broadcast: a null channel is an empty one", async (s) => {
  await s.api("broadcast", { channels: [s.ch("open:a"), null], data: 1 });
});

// ---------------------------------------------------------------- presence, history

scenario("api presence and presence_stats: two users, three connections", async (s) => {
  const ch = s.ch("open:room");
  for (const user of ["alice", "alice", "bob"]) {
    const c = await s.connectAs("websocket", user, { info: { who: user } });
    await s.subscribe(c, 2, ch);
  }
  await s.api("presence", { channel: ch });
  await s.api("presence_stats", { channel: ch });
}, {
  // presence is a map by client id: compared as the set of entries
  normalize: (t) => sortPresence(t),
});

scenario("api presence: empty channel", async (s) => {
  await s.api("presence", { channel: s.ch("open:nobody") });
  await s.api("presence_stats", { channel: s.ch("open:nobody") });
});

scenario("api presence: namespace without presence", async (s) => {
  await s.api("presence", { channel: s.ch("hist:room") });
  await s.api("presence_stats", { channel: s.ch("hist:room") });
});

scenario("api presence: no channel", async (s) => {
  await s.api("presence", {});
});

scenario("api presence: unknown namespace", async (s) => {
  await s.api("presence", { channel: s.ch("nosuch:room") });
});

const historyRequests: Array<[string, Record<string, unknown>]> = [
  ["position only", {}],
  ["limit 0", { limit: 0 }],
  ["limit 2", { limit: 2 }],
  ["limit -1", { limit: -1 }],
  ["since offset 2", { limit: -1, since: { offset: 2 } }],
  ["reverse", { limit: 3, reverse: true }],
  ["reverse since 4", { limit: -1, reverse: true, since: { offset: 4 } }],
  ["reverse since 0", { limit: -1, reverse: true, since: { offset: 0 } }],
  ["since a wrong epoch", { limit: -1, since: { offset: 1, epoch: "wrong" } }],
  ["limit of the wrong type", { limit: "ten" }],
  ["since of the wrong type", { since: "yesterday" }],
  ["negative limit", { limit: -5 }],
  ["limit beyond int32", { limit: 2147483648 }],
  ["since null", { limit: 2, since: null }],
  ["since a negative offset", { since: { offset: -1 } }],
  ["since with only an epoch", { limit: -1, since: { epoch: "" } }],
  ["reverse of the wrong type", { reverse: 1 }],
];

for (const [label, request] of historyRequests) {
  scenario(`api history: ${label}`, async (s) => {
    const ch = s.ch("open:room");
    for (let i = 1; i <= 6; i++) await s.api("publish", { channel: ch, data: { n: i } });
    await s.api("history", { channel: ch, ...request });
  }, label === "reverse since 0" ? { differs: "api-internal-is-bad-request" } : {});
}

scenario("api history: a channel never published to", async (s) => {
  await s.api("history", { channel: s.ch("open:never"), limit: -1 });
});

scenario("api history: namespace without history", async (s) => {
  await s.api("history", { channel: s.ch("pres:room"), limit: 1 });
});

scenario("api history: no channel", async (s) => {
  await s.api("history", { limit: 1 });
});

scenario("api history_remove: then history and a new publication", async (s) => {
  const ch = s.ch("open:room");
  for (let i = 1; i <= 3; i++) await s.api("publish", { channel: ch, data: { n: i } });
  await s.api("history_remove", { channel: ch });
  await s.api("history", { channel: ch, limit: -1 });
  await s.api("publish", { channel: ch, data: { n: 4 } });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api history_remove: namespace without history", async (s) => {
  await s.api("history_remove", { channel: s.ch("pres:room") });
});

scenario("api history_remove: no channel", async (s) => {
  await s.api("history_remove", {});
});

// ---------------------------------------------------------------- connections: subscribe, unsubscribe, disconnect, refresh

perTransport(
  [...BIDI, ...UNI],
  "api subscribe: a connected user gets a server-side subscription",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    await s.api("subscribe", { user: s.user("alice"), channel: s.ch("open:feed") });
    await c.next(
      (m) => !!(m.push as { subscribe?: unknown } | undefined)?.subscribe || !!m.subscribe,
      "subscribe push",
    );
    await s.api("publish", { channel: s.ch("open:feed"), data: { via: "server-side" } });
    await c.next((m) => !!(m.push as { pub?: unknown } | undefined)?.pub || !!m.pub, "publication");
  },
);

perTransport(BIDI, "api subscribe: with data, info and recovery from a position", async (s, t) => {
  const ch = s.ch("open:feed");
  for (let i = 1; i <= 3; i++) await s.api("publish", { channel: ch, data: { n: i } });
  const top = await s.api("history", { channel: ch });
  const epoch = (top.result as { epoch: string }).epoch;
  const c = await s.connectAs(t, "alice");
  await s.api("subscribe", {
    user: s.user("alice"),
    channel: ch,
    data: { welcome: 1 },
    info: { role: "x" },
    recover_since: { offset: 1, epoch },
  });
  await c.count(2);
  await c.settle(300);
}, { differs: "api-subscribe-recovers" });

scenario("api subscribe: a user with no connection", async (s) => {
  await s.api("subscribe", { user: s.user("nobody"), channel: s.ch("open:feed") });
});

scenario("api subscribe: no user", async (s) => {
  await s.api("subscribe", { channel: s.ch("open:feed") });
});

scenario("api subscribe: unknown namespace", async (s) => {
  await s.api("subscribe", { user: s.user("alice"), channel: s.ch("nosuch:feed") });
});

scenario("api subscribe: invalid fields", async (s) => {
  const base = { user: s.user("nobody"), channel: s.ch("open:feed") };
  await s.api("subscribe", { ...base, b64info: "%%" });
  await s.api("subscribe", { ...base, b64data: "%%" });
  await s.api("subscribe", { user: s.user("nobody") });
  await s.api("subscribe", { ...base, override: { presence: true } });
  await s.api("subscribe", { ...base, override: { presence: { value: 1 } } });
  await s.api("subscribe", { ...base, recover_since: { offset: "1" } });
  await s.api("subscribe", { ...base, expire_at: 1.5 });
  await s.api("subscribe", { ...base, label_filter: { op: 5 } });
  await s.api("subscribe", { ...base, all_users: "yes" });
});

scenario("api subscribe: accepted fields for a user with no connection", async (s) => {
  const base = { user: s.user("nobody"), channel: s.ch("open:feed") };
  await s.api("subscribe", { ...base, expire_at: -5 });
  await s.api("subscribe", { ...base, override: { presence: { value: false }, join_leave: null } });
  await s.api("subscribe", { ...base, label_filter: { op: "eq", key: "a", val: "b" }, all_users: false });
});

perTransport(BIDI, "api subscribe: expire_at ahead, expire_at past", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const now = Math.floor(Date.now() / 1000);
  await s.api("subscribe", { user: s.user("alice"), channel: s.ch("open:ahead"), expire_at: now + 1800 });
  await s.api("subscribe", { user: s.user("alice"), channel: s.ch("open:past"), expire_at: now - 10 });
  await c.settle(500);
}, { differs: "api-subscribe-expired" });

perTransport(BIDI, "api subscribe: twice to the same channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("subscribe", { user: s.user("alice"), channel: s.ch("open:feed") });
  await s.api("subscribe", { user: s.user("alice"), channel: s.ch("open:feed"), data: { again: true } });
  await c.settle(500);
}, { differs: "api-subscribe-twice" });

perTransport(BIDI, "api subscribe: unknown override fields are ignored", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("subscribe", {
    user: s.user("alice"),
    channel: s.ch("open:feed"),
    override: { presence: { value: false }, surprise: { value: true } },
  });
  await c.next((m) => !!(m.push as { subscribe?: unknown } | undefined)?.subscribe, "subscribe push");
});

perTransport([...BIDI, ...UNI], "api unsubscribe: a client-side subscription ends", async (s, t) => {
  const ch = s.ch("open:feed");
  const token = await s.userToken("alice", { channels: [ch] });
  const c = await s.connect(t, { token });
  await s.api("unsubscribe", { user: s.user("alice"), channel: ch });
  await c.next(
    (m) => !!(m.push as { unsubscribe?: unknown } | undefined)?.unsubscribe || !!m.unsubscribe,
    "unsubscribe",
  );
});

perTransport(BIDI, "api unsubscribe: a subscription the client made", async (s, t) => {
  const ch = s.ch("open:feed");
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, ch);
  // The channel pushes joins: the client's own comes first (unsubscribing before it arrives races it
  // on either server).
  await c.next((m) => !!(m.push as { join?: unknown } | undefined)?.join, "own join push");
  await s.api("unsubscribe", { user: s.user("alice"), channel: ch });
  await c.next((m) => !!(m.push as { unsubscribe?: unknown } | undefined)?.unsubscribe, "unsubscribe push");
});

scenario("api unsubscribe: no channel", async (s) => {
  await s.api("unsubscribe", { user: s.user("alice") });
});

perTransport([...BIDI, ...UNI], "api unsubscribe: no channel, a connected user", async (s, t) => {
  if (UNI.includes(t)) {
    const c = await s.connect(t, { token: await s.userToken("alice", { channels: [s.ch("open:feed")] }) });
    await s.api("unsubscribe", { user: s.user("alice") });
    await c.settle(400);
    return;
  }
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:feed"));
  await s.api("unsubscribe", { user: s.user("alice") });
  await c.settle(400);
});

perTransport([...BIDI, ...UNI], "api unsubscribe: a channel the user is not in", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("unsubscribe", { user: s.user("alice"), channel: s.ch("open:other") });
  await c.settle(400);
});

scenario("api unsubscribe: unknown namespace", async (s) => {
  await s.api("unsubscribe", { user: s.user("alice"), channel: s.ch("nosuch:feed") });
});

perTransport([...BIDI, ...UNI], "api disconnect: default code", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("disconnect", { user: s.user("alice") });
  await c.end(3000);
});

perTransport([...BIDI, ...UNI], "api disconnect: custom code and reason", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("disconnect", { user: s.user("alice"), disconnect: { code: 4321, reason: "custom" } });
  await c.end(3000);
});

perTransport(BIDI, "api disconnect: one client of a user, by client id", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  const b = await s.connectAs(t, "alice");
  const client = (a.received[0] as { connect: { client: string } }).connect.client;
  await s.api("disconnect", {
    user: s.user("alice"),
    client,
    disconnect: { code: 4000, reason: "just one" },
  });
  await a.end(3000);
  await b.settle(300);
});

perTransport(BIDI, "api disconnect: whitelisted client stays", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  const b = await s.connectAs(t, "alice");
  const keep = (a.received[0] as { connect: { client: string } }).connect.client;
  await s.api("disconnect", { user: s.user("alice"), whitelist: [keep] });
  await b.end(3000);
  await a.settle(300);
});

scenario("api disconnect: no user", async (s) => {
  await s.api("disconnect", {});
});

// Centrifugo takes any code and reason; where no close frame can carry them, a WebSocket ends without
// one (clients see 1006). Sluice does the same.
const badDisconnects: Array<[string, Record<string, unknown>]> = [
  ["a code outside 3000-4999", { code: 5000, reason: "big" }],
  ["an empty disconnect object", {}],
  ["a reason longer than a close frame takes", { code: 4000, reason: "r".repeat(124) }],
];
for (const [label, disconnect] of badDisconnects) {
  perTransport(BIDI, `api disconnect: ${label}`, async (s, t) => {
    const c = await s.connectAs(t, "alice");
    await s.api("disconnect", { user: s.user("alice"), disconnect });
    await c.settle(500);
  });
}

perTransport(BIDI, "api disconnect: the longest reason a close frame takes", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("disconnect", { user: s.user("alice"), disconnect: { code: 4000, reason: "r".repeat(123) } });
  await c.end(3000);
});

scenario("api disconnect: fields of the wrong type", async (s) => {
  await s.api("disconnect", { user: s.user("alice"), disconnect: { code: -1 } });
  await s.api("disconnect", { user: s.user("alice"), disconnect: { code: 4000, reason: 5 } });
  await s.api("disconnect", { user: s.user("alice"), whitelist: "a" });
  await s.api("disconnect", { user: 5 });
});

perTransport([...BIDI, ...UNI], "api refresh: extend a connection", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 600 }) });
  await s.api("refresh", { user: s.user("alice"), expire_at: Math.floor(Date.now() / 1000) + 1800 });
  await c.settle(500);
});

perTransport([...BIDI, ...UNI], "api refresh: expired", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.api("refresh", { user: s.user("alice"), expired: true });
  await c.end(3000);
});

scenario("api refresh: no user", async (s) => {
  await s.api("refresh", {});
});

perTransport([...BIDI, ...UNI], "api refresh: no expire_at, the connection stops expiring", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 600 }) });
  await s.api("refresh", { user: s.user("alice") });
  await c.settle(500);
});

perTransport(BIDI, "api refresh: expire_at in the past", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 600 }) });
  await s.api("refresh", { user: s.user("alice"), expire_at: Math.floor(Date.now() / 1000) - 10 });
  await c.end(3000);
});

perTransport(
  ["websocket", "sse"],
  "api refresh: info without expire_at, then a join shows the info",
  async (s, t) => {
    const ch = s.ch("open:room");
    const watcher = await s.connectAs("websocket", "bob");
    await s.subscribe(watcher, 2, ch);
    const c = await s.connect(t, { token: await s.userToken("alice", { info: { v: 1 } }) });
    await s.api("refresh", { user: s.user("alice"), info: { v: 2 } });
    await c.settle(300);
    await s.subscribe(c, 2, ch);
    await watcher.next((m) => !!(m.push as { join?: unknown } | undefined)?.join, "join");
    await watcher.settle(300);
  },
);

perTransport(
  ["websocket", "sse"],
  "api refresh: info with expire_at, then a join shows the info",
  async (s, t) => {
    const ch = s.ch("open:room");
    const watcher = await s.connectAs("websocket", "bob");
    await s.subscribe(watcher, 2, ch);
    const c = await s.connect(t, { token: await s.userToken("alice", { info: { v: 1 } }) });
    await s.api("refresh", {
      user: s.user("alice"),
      info: { v: 2 },
      expire_at: Math.floor(Date.now() / 1000) + 900,
    });
    await c.settle(300);
    await s.subscribe(c, 2, ch);
    await watcher.next((m) => !!(m.push as { join?: unknown } | undefined)?.join, "join");
    await watcher.settle(300);
  },
);

scenario("api refresh: fields of the wrong type", async (s) => {
  await s.api("refresh", { user: s.user("alice"), expired: "yes" });
  await s.api("refresh", { user: s.user("alice"), expire_at: "soon" });
});

// Without `user`, the user is "" — anonymous connections. Servers of their own: these calls reach
// every anonymous connection there.
scenario("api without user: anonymous connections are addressed", async (s) => {
  const ws = await s.connect("websocket", {});
  const sse = await s.connect("uni_sse", {});
  await s.api("subscribe", { channel: s.ch("anon:feed") });
  await ws.next((m) => !!(m.push as { subscribe?: unknown } | undefined)?.subscribe, "subscribe push");
  await sse.next((m) => !!m.subscribe, "subscribe");
  await s.api("refresh", { expire_at: Math.floor(Date.now() / 1000) + 1800 });
  await ws.next((m) => !!(m.push as { refresh?: unknown } | undefined)?.refresh, "refresh push");
  await s.api("unsubscribe", { channel: s.ch("anon:feed") });
  await ws.next((m) => !!(m.push as { unsubscribe?: unknown } | undefined)?.unsubscribe, "unsubscribe push");
  await s.api("disconnect", {});
  await ws.end(3000);
  await sse.end(3000);
}, { profile: "anonymous_alone" });

// ---------------------------------------------------------------- channels, info

scenario("api channels: this run's channels with their counts", async (s) => {
  for (const [user, ch] of [["alice", "open:a"], ["bob", "open:a"], ["carol", "open:b"]]) {
    const c = await s.connectAs("websocket", user);
    await s.subscribe(c, 2, s.ch(ch));
  }
  await s.api("channels", { pattern: `*${s.runId}` });
});

scenario("api channels: a pattern that matches nothing", async (s) => {
  await s.api("channels", { pattern: `nothing-${s.runId}-*` });
});

scenario("api channels: glob classes, alternatives, escapes", async (s) => {
  for (
    const [user, ch] of [["alice", "open:a1"], ["bob", "open:b2"], ["carol", "open:c3"], ["dan", "open:*"]]
  ) {
    const c = await s.connectAs("websocket", user);
    await s.subscribe(c, 2, s.ch(ch));
  }
  await s.api("channels", { pattern: `open:[ab]?_${s.runId}` });
  await s.api("channels", { pattern: `open:[!ab]?_${s.runId}` });
  await s.api("channels", { pattern: `open:[a-b]*_${s.runId}` });
  await s.api("channels", { pattern: `{open:a1,open:c*}_${s.runId}` });
  await s.api("channels", { pattern: `open:\\*_${s.runId}` });
  await s.api("channels", { pattern: `open:{a,c}{1,3}_${s.runId}` });
});

scenario("api channels: patterns that do not compile", async (s) => {
  for (const pattern of ["open:[", "open:[]", "open:[a-]", "open:[b-a]", "open:[ab"]) {
    await s.api("channels", { pattern });
  }
}, { differs: "api-internal-is-bad-request" });

scenario("api channels: pattern of the wrong type", async (s) => {
  await s.api("channels", { pattern: 5 });
});

scenario("api info: bodies", async (s) => {
  for (const raw of ["null", '{"surprise":1}', "[]", "1"]) {
    const info = await s.api("info", undefined, { raw, record: false });
    s.note(raw, info.result ? "result" : info);
  }
});

scenario("api rpc: no method, an unknown method", async (s) => {
  await s.api("rpc", {});
  await s.api("rpc", { method: "nosuch", params: { a: 1 } });
  await s.api("rpc", { method: 5 });
});

scenario("api info: one node with two users, three connections, two channels", async (s) => {
  for (const [user, ch] of [["alice", "open:a"], ["alice", "open:b"], ["bob", "open:a"]]) {
    const c = await s.connectAs("websocket", user);
    await s.subscribe(c, 2, s.ch(ch));
  }
  // Centrifugo refreshes its node's counts on a timer: wait until they show the connections
  for (let i = 0; i < 100; i++) {
    const info = await s.api("info", {}, { record: false });
    const node = (info.result as { nodes: Array<{ num_clients: number }> }).nodes[0];
    if (node.num_clients === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await s.api("info", {});
}, { normalize: infoShape, profile: "alone" });

// ---------------------------------------------------------------- batch

scenario("api batch: commands in order with per-item errors", async (s) => {
  const ch = s.ch("open:room");
  await s.api("batch", {
    commands: [
      { publish: { channel: ch, data: { n: 1 } } },
      { publish: { channel: s.ch("nosuch:x"), data: 1 } },
      { history: { channel: ch, limit: -1 } },
      { presence_stats: { channel: ch } },
      { broadcast: { channels: [ch], data: { n: 2 } } },
    ],
  });
});

scenario("api batch: parallel", async (s) => {
  await s.api("batch", {
    parallel: true,
    commands: [
      { publish: { channel: s.ch("open:a"), data: 1 } },
      { publish: { channel: s.ch("open:b"), data: 2 } },
    ],
  });
});

scenario("api batch: empty commands", async (s) => {
  await s.api("batch", { commands: [] });
});

scenario("api batch: commands not an array", async (s) => {
  await s.api("batch", { commands: { publish: {} } });
});

scenario("api batch: an unknown command inside", async (s) => {
  await s.api("batch", { commands: [{ nosuch: {} }, { publish: { channel: s.ch("open:a"), data: 1 } }] });
});

scenario("api batch: null, empty and double commands", async (s) => {
  const ch = s.ch("open:a");
  await s.api("batch", {
    commands: [
      null,
      {},
      { publish: null },
      { history: { channel: ch, limit: -1 }, publish: { channel: ch, data: 1 } },
      { PUBLISH: { channel: ch, data: 2 } },
      { presence_stats: { channel: ch }, surprise: 1 },
      { rpc: {} },
      { connections: {} },
    ],
  });
});

scenario("api batch: no commands field, null commands", async (s) => {
  await s.api("batch", {});
  await s.api("batch", { commands: null });
  await s.api("batch", undefined, { raw: "null" });
});

scenario("api batch: a command of the wrong type fails the whole batch", async (s) => {
  const ch = s.ch("open:a");
  await s.api("batch", { commands: [{ publish: { channel: ch, data: 1 } }, 5] });
  await s.api("batch", { commands: [{ publish: { channel: ch, data: 1 } }, { publish: { channel: 5 } }] });
  await s.api("batch", { commands: [{ publish: 5 }] });
  await s.api("batch", { commands: [], parallel: "yes" });
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api batch: parallel with per-item errors", async (s) => {
  await s.api("batch", {
    parallel: true,
    commands: [
      { publish: { channel: s.ch("open:a"), data: 1 } },
      { publish: { channel: "", data: 2 } },
      { history: { channel: s.ch("pres:a") } },
      {},
    ],
  });
});

// ---------------------------------------------------------------- HTTP level

scenario("api http: no API key", async (s) => {
  await s.api("publish", { channel: s.ch("open:a"), data: 1 }, NO_KEY);
});

scenario("api http: wrong API key", async (s) => {
  await s.api("publish", { channel: s.ch("open:a"), data: 1 }, { key: "wrong" });
});

scenario("api http: the key in the Authorization header", async (s) => {
  await s.api("publish", { channel: s.ch("open:a"), data: 1 }, {
    key: null,
    headers: { Authorization: `apikey ${s.profile.apiKey}` },
  });
});

scenario("api http: the key as a query parameter", async (s) => {
  await s.api("publish", { channel: s.ch("open:a"), data: 1 }, {
    key: null,
    path: `/api/publish?api_key=${s.profile.apiKey}`,
  });
});

scenario("api http: unknown method", async (s) => {
  await s.api("nosuch", {});
});

scenario("api http: body that is not JSON", async (s) => {
  await s.api("publish", undefined, { raw: "{not json" });
});

scenario("api http: empty body", async (s) => {
  await s.api("publish", undefined, { raw: "" });
});

scenario("api http: a JSON array body", async (s) => {
  await s.api("publish", undefined, { raw: "[1,2]" });
});

scenario("api http: GET", async (s) => {
  await s.http("/api/publish", { method: "GET", headers: { "X-API-Key": s.profile.apiKey } });
});

scenario("api http: unknown method without a key, and with GET", async (s) => {
  await s.api("nosuch", {}, NO_KEY);
  await s.http("/api/nosuch", { method: "GET" });
  await s.http("/api/publish/", { method: "POST", headers: { "X-API-Key": s.profile.apiKey }, body: "{}" });
});

scenario("api http: a 400 answer's headers", async (s) => {
  await s.http("/api/publish", { method: "POST", headers: { "X-API-Key": s.profile.apiKey }, body: "{" });
  await s.http("/api/nosuch", { method: "POST", headers: { "X-API-Key": s.profile.apiKey }, body: "{}" });
});

scenario("api http: whitespace body, trailing data", async (s) => {
  await s.api("publish", undefined, { raw: "  \n " });
  await s.api("publish", undefined, { raw: `{"channel":"${s.ch("open:a")}","data":1} {}` });
  await s.api("publish", undefined, { raw: `{"channel":"${s.ch("open:a")}","data":1}\n` });
});

scenario("api http: the legacy single endpoint", async (s) => {
  await s.api("", { method: "publish", params: { channel: s.ch("open:a"), data: 1 } }, { path: "/api" });
});

/** The legacy endpoint: a stream of `{id, method, params}` commands, one reply line each. */
function legacy(
  s: Session,
  raw: string,
  opts: { key?: string | null; headers?: Record<string, string> } = {},
) {
  return s.api("legacy", undefined, { path: "/api", raw, ...opts });
}

scenario("api legacy: several commands, ids, method names in any case or as numbers", async (s) => {
  const ch = s.ch("open:a");
  await legacy(
    s,
    [
      { id: 1, method: "publish", params: { channel: ch, data: 1 } },
      { id: 2, method: "PUBLISH", params: { channel: "", data: 1 } },
      { method: 6, params: { channel: ch, limit: -1 } },
      { id: 4, method: "Presence_Stats", params: { channel: ch } },
      { id: 5, method: "broadcast", params: { channels: [ch, s.ch("nosuch:b")], data: 2 } },
    ].map((c) => JSON.stringify(c)).join("\n"),
  );
  // not newline-delimited: one JSON value after another
  await legacy(
    s,
    `{"id":1,"method":"history","params":{"channel":"${ch}"}}{"id":2,"method":"history_remove","params":{"channel":"${ch}"}}`,
  );
});

scenario("api legacy: every method", async (s) => {
  const ch = s.ch("open:a");
  const c = await s.connectAs("websocket", "alice");
  const commands = [
    { method: "subscribe", params: { user: s.user("alice"), channel: ch } },
    { method: "presence", params: { channel: ch } },
    { method: "refresh", params: { user: s.user("alice"), expire_at: Math.floor(Date.now() / 1000) + 1800 } },
    { method: "unsubscribe", params: { user: s.user("alice"), channel: ch } },
    { method: "channels", params: { pattern: `nothing-${s.runId}` } },
    { method: "rpc", params: { method: "x" } },
    { method: "disconnect", params: { user: s.user("alice") } },
  ];
  await legacy(s, commands.map((cmd, i) => JSON.stringify({ id: i + 1, ...cmd })).join("\n"));
  await c.end(3000);
});

scenario("api legacy: missing, null and mistyped params", async (s) => {
  await legacy(s, JSON.stringify({ id: 1, method: "publish" }));
  await legacy(s, JSON.stringify({ id: 1, method: "publish", params: null }));
  await legacy(s, JSON.stringify({ id: 1, method: "publish", params: { channel: 5 } }));
  await legacy(s, JSON.stringify({ id: 1, method: "info", params: 5 }), { headers: {} });
  await legacy(s, JSON.stringify({ params: { channel: s.ch("open:a"), data: 1 } }));
  await legacy(s, "null");
}, { normalize: (t) => infoShape(t, false) });

scenario("api legacy: unknown methods", async (s) => {
  await legacy(s, JSON.stringify({ id: 1, method: 13 }));
  await legacy(s, JSON.stringify({ id: 1, method: -1 }));
  await legacy(s, JSON.stringify({ id: 1, method: "connections", params: {} }));
  await legacy(s, JSON.stringify({ id: 1, method: "nosuch", params: {} }));
  await legacy(s, JSON.stringify({ id: 1, method: "", params: {} }));
  await legacy(s, JSON.stringify({ id: 1, method: null }));
  await legacy(s, JSON.stringify({ id: 1, method: true }));
});

scenario("api legacy: malformed streams", async (s) => {
  const ch = s.ch("open:a");
  await legacy(s, "");
  await legacy(s, "  \n ");
  await legacy(s, "[1]");
  await legacy(s, JSON.stringify({ id: -1, method: "info" }));
  await legacy(s, JSON.stringify({ id: "1", method: "info" }));
  // the first command runs; the answer is still 400
  await legacy(s, `${JSON.stringify({ method: "publish", params: { channel: ch, data: 1 } })}\n{"oops`);
  await s.api("history", { channel: ch, limit: -1 });
});

scenario("api legacy: the key is checked, errors are never transport errors", async (s) => {
  await legacy(s, JSON.stringify({ method: "info" }), { key: null });
  await legacy(s, JSON.stringify({ method: "publish", params: { channel: "" } }), {
    headers: { "X-Centrifugo-Error-Mode": "transport" },
  });
  await s.http("/api", { method: "GET", headers: { "X-API-Key": s.profile.apiKey } });
});

scenario("api http: transport error mode, every code", async (s) => {
  const mode = { headers: { "X-Centrifugo-Error-Mode": "transport" } };
  await s.api("rpc", { method: "nosuch" }, mode);
  await s.api("presence", { channel: s.ch("hist:a") }, mode);
  await s.api("broadcast", { channels: [s.ch("nosuch:a")], data: 1 }, mode);
  await s.api("batch", { commands: [{ publish: { channel: "" } }] }, mode);
  await s.api("publish", { channel: 5 }, mode);
  await s.api("publish", { channel: "" }, { headers: { "X-Centrifugo-Error-Mode": "TRANSPORT" } });
  await s.api("publish", { channel: "" }, { headers: { "X-Centrifugo-Error-Mode": "Transport" } });
});

scenario("api http: transport error mode", async (s) => {
  const mode = { headers: { "X-Centrifugo-Error-Mode": "transport" } };
  await s.api("publish", { channel: s.ch("nosuch:a"), data: 1 }, mode);
  await s.api("publish", { channel: "", data: 1 }, mode);
  await s.api("history", { channel: s.ch("pres:a") }, mode);
  await s.api("history", { channel: s.ch("open:a"), since: { offset: 1, epoch: "x" } }, mode);
  await s.api("publish", { channel: s.ch("open:a"), data: 1 }, mode);
});

// ---------------------------------------------------------------- helpers

/** Presence answers keyed by client id, ordered by the entries' contents. */
function sortPresence(t: Transcript): Transcript {
  for (const e of (t.http as Array<{ body?: { result?: { presence?: Record<string, unknown> } } }>) ?? []) {
    const p = e.body?.result?.presence;
    if (p) {
      e.body!.result!.presence = Object.fromEntries(
        Object.values(p).map((v) => JSON.stringify(v)).sort().map((v, i) => [`entry${i}`, JSON.parse(v)]),
      );
    }
  }
  return t;
}

/**
 * `info` describes the process: ids, names, versions, uptime and metrics are the server's own.
 * What is compared: the answer's shape and the counts (unless `counts` is false: a server that other
 * scenarios use at the same time).
 */
function infoShape(t: Transcript, counts = true): Transcript {
  for (
    const e of (t.http as Array<{ body?: { result?: { nodes?: Array<Record<string, unknown>> } } }>) ?? []
  ) {
    for (const node of e.body?.result?.nodes ?? []) {
      for (const k of Object.keys(node)) {
        if (!counts || !k.startsWith("num_")) node[k] = `<${k}>`;
      }
    }
  }
  return t;
}

scenario("api history: read before the first publication, then publish", async (s) => {
  const ch = s.ch("open:fresh");
  await s.api("history", { channel: ch });
  await s.api("publish", { channel: ch, data: 1 });
  await s.api("history", { channel: ch, limit: -1 });
});

perTransport(
  [...BIDI, ...UNI],
  "api disconnect: code 0 (what cent's Disconnect(reason=…) sends)",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    await s.api("disconnect", { user: s.user("alice"), disconnect: { code: 0, reason: "bye" } });
    await c.end(3000);
  },
);
