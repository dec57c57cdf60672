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
];

for (const [label, request] of historyRequests) {
  scenario(`api history: ${label}`, async (s) => {
    const ch = s.ch("open:room");
    for (let i = 1; i <= 6; i++) await s.api("publish", { channel: ch, data: { n: i } });
    await s.api("history", { channel: ch, ...request });
  });
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
  await s.api("unsubscribe", { user: s.user("alice"), channel: ch });
  await c.next((m) => !!(m.push as { unsubscribe?: unknown } | undefined)?.unsubscribe, "unsubscribe push");
});

scenario("api unsubscribe: no channel", async (s) => {
  await s.api("unsubscribe", { user: s.user("alice") });
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

scenario("api http: the legacy single endpoint", async (s) => {
  await s.api("", { method: "publish", params: { channel: s.ch("open:a"), data: 1 } }, { path: "/api" });
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
 * What is compared: the answer's shape and the counts.
 */
function infoShape(t: Transcript): Transcript {
  for (
    const e of (t.http as Array<{ body?: { result?: { nodes?: Array<Record<string, unknown>> } } }>) ?? []
  ) {
    for (const node of e.body?.result?.nodes ?? []) {
      for (const k of Object.keys(node)) {
        if (!k.startsWith("num_")) node[k] = `<${k}>`;
      }
    }
  }
  return t;
}

export type { Session };

scenario("api history: read before the first publication, then publish", async (s) => {
  const ch = s.ch("open:fresh");
  await s.api("history", { channel: ch });
  await s.api("publish", { channel: ch, data: 1 });
  await s.api("history", { channel: ch, limit: -1 });
});
