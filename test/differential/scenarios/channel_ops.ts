/**
 * What a connected client does in channels, over every bidirectional transport: publish (each
 * permission option), receiving publications from the API and from other clients, presence and
 * presence stats, history with limit / since / reverse, and each of them refused.
 */
import { perTransport } from "../scenario.ts";
import type { Session } from "../session.ts";
import { BIDI, type TransportName } from "../transports.ts";

/** Publishes `n` numbered publications through the API (offsets 1..n in a history channel). */
async function fill(s: Session, channel: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await s.api("publish", { channel, data: { n: i } });
}

// ---------------------------------------------------------------- publish

perTransport(BIDI, "publish: subscriber in a namespace that allows it, receives its own", async (s, t) => {
  const c = await s.connectAs(t, "alice", { info: { name: "A" } });
  await s.subscribe(c, 2, s.ch("open:room"));
  await c.call({ id: 3, publish: { channel: s.ch("open:room"), data: { text: "hi" } } });
  await c.next((m) => !!(m.push as { pub?: unknown })?.pub, "publication");
});

perTransport(BIDI, "publish: not subscribed where subscribers may", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, publish: { channel: s.ch("open:room"), data: { text: "hi" } } });
});

perTransport(BIDI, "publish: any client where allow_publish_for_client", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, publish: { channel: s.ch("pub:room"), data: { text: "hi" } } });
});

perTransport(BIDI, "publish: refused where nothing is allowed", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, publish: { channel: s.ch("closed:room"), data: { text: "hi" } } });
});

perTransport(BIDI, "publish: unknown namespace", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, publish: { channel: s.ch("nosuch:room"), data: 1 } });
});

perTransport(BIDI, "publish: anonymous where anonymous may", async (s, t) => {
  const c = await s.connect(t, { token: await s.token({}) });
  await c.call({ id: 2, publish: { channel: s.ch("anon:room"), data: { text: "anon" } } });
});

perTransport(BIDI, "publish: reaches another subscriber with the publisher's info", async (s, t) => {
  const a = await s.connectAs(t, "alice", { info: { name: "A" } });
  await s.subscribe(a, 2, s.ch("open:room"));
  const b = await s.connectAs(t, "bob");
  await s.subscribe(b, 2, s.ch("open:room"));
  await a.call({ id: 3, publish: { channel: s.ch("open:room"), data: { from: "alice" } } });
  await b.next((m) => !!(m.push as { pub?: unknown })?.pub, "publication");
});

perTransport(BIDI, "publish: empty channel name", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, publish: { channel: "", data: 1 } }]);
  await c.end(3000);
});

perTransport(BIDI, "publish: data of every JSON kind", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"));
  const values = ["text", 42, 1.5, true, null, [1, "two"], { nested: { deep: [1] } }, "üñí©ødé ✓"];
  let id = 3;
  for (const data of values) await c.call({ id: id++, publish: { channel: s.ch("open:room"), data } });
  await c.count(2 + values.length * 2);
});

perTransport(BIDI, "api publish: delivered with offset, tags and no info", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"));
  await s.api("publish", { channel: s.ch("open:room"), data: { x: 1 }, tags: { kind: "news" } });
  await c.next((m) => !!(m.push as { pub?: unknown })?.pub, "publication");
});

perTransport(BIDI, "api publish: into a channel without history (no offset)", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("pres:room"));
  await s.api("publish", { channel: s.ch("pres:room"), data: { x: 1 } });
  await c.next((m) => !!(m.push as { pub?: unknown })?.pub, "publication");
});

perTransport(BIDI, "api broadcast: each channel delivers", async (s, t) => {
  // one connection per channel: the order of a broadcast's deliveries across channels is not fixed
  const a = await s.connectAs(t, "alice");
  await s.subscribe(a, 2, s.ch("open:a"));
  const b = await s.connectAs(t, "bob");
  await s.subscribe(b, 2, s.ch("pub:b"));
  await s.api("broadcast", { channels: [s.ch("open:a"), s.ch("pub:b")], data: { all: true } });
  await a.count(3);
  await b.count(3);
});

// ---------------------------------------------------------------- presence

perTransport(BIDI, "presence: subscriber where allowed", async (s, t) => {
  const a = await s.connectAs(t, "alice", { info: { name: "A" } });
  await s.subscribe(a, 2, s.ch("open:room"));
  const b = await s.connectAs(t, "bob");
  await s.subscribe(b, 2, s.ch("open:room"));
  await a.call({ id: 3, presence: { channel: s.ch("open:room") } });
  await a.call({ id: 4, presence_stats: { channel: s.ch("open:room") } });
});

perTransport(BIDI, "presence: not subscribed where only subscribers may", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, presence: { channel: s.ch("open:room") } });
  await c.call({ id: 3, presence_stats: { channel: s.ch("open:room") } });
});

perTransport(BIDI, "presence: any client where allow_presence_for_client", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, presence: { channel: s.ch("pres:room") } });
  await c.call({ id: 3, presence_stats: { channel: s.ch("pres:room") } });
});

perTransport(BIDI, "presence: namespace without presence", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("hist:room"));
  await c.call({ id: 3, presence: { channel: s.ch("hist:room") } });
  await c.call({ id: 4, presence_stats: { channel: s.ch("hist:room") } });
});

perTransport(BIDI, "presence: refused where nothing is allowed", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, presence: { channel: s.ch("closed:room") } });
});

perTransport(BIDI, "presence: the same user twice counts one user", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  await s.subscribe(a, 2, s.ch("open:room"));
  const b = await s.connectAs(t, "alice");
  await s.subscribe(b, 2, s.ch("open:room"));
  await a.call({ id: 3, presence_stats: { channel: s.ch("open:room") } });
});

perTransport(BIDI, "presence: empty channel name", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, presence: { channel: "" } }]);
  await c.end(3000);
});

// ---------------------------------------------------------------- history

const historyCases: Array<[string, (s: Session) => Record<string, unknown>]> = [
  ["no limit (none returned)", () => ({})],
  ["limit 2", () => ({ limit: 2 })],
  ["limit -1 (all, capped by history_max_publication_limit)", () => ({ limit: -1 })],
  ["limit above the cap", () => ({ limit: 100 })],
  ["since offset 3", () => ({ limit: 10, since: { offset: 3 } })],
  ["since a wrong epoch", () => ({ limit: 10, since: { offset: 1, epoch: "nope" } })],
  ["reverse, limit 3", () => ({ limit: 3, reverse: true })],
  ["reverse since offset 5", () => ({ limit: 10, since: { offset: 5 }, reverse: true })],
  ["since the top offset", () => ({ limit: 10, since: { offset: 7 } })],
  ["since beyond the top", () => ({ limit: 10, since: { offset: 99 } })],
];

for (const [label, request] of historyCases) {
  perTransport(BIDI, `history: ${label}`, async (s, t: TransportName) => {
    const c = await s.connectAs(t, "alice");
    await fill(s, s.ch("open:room"), 7);
    await s.subscribe(c, 2, s.ch("open:room"));
    // its own join comes through the broker: waited for, so it cannot race the history reply
    await c.next((m) => !!(m.push as { join?: unknown } | undefined)?.join, "own join");
    const since = request(s).since as { offset: number; epoch?: string } | undefined;
    if (since && since.epoch === undefined && since.offset) {
      // the channel's epoch, as a client knows it
      const top = await c.call({ id: 3, history: { channel: s.ch("open:room") } });
      since.epoch = (top.history as { epoch: string }).epoch;
      await c.call({ id: 4, history: { channel: s.ch("open:room"), ...request(s), since } });
    } else {
      await c.call({ id: 4, history: { channel: s.ch("open:room"), ...request(s) } });
    }
  });
}

perTransport(BIDI, "history: a channel never published to", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, history: { channel: s.ch("hist:empty"), limit: 10 } });
});

perTransport(BIDI, "history: namespace without history", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("pres:room"));
  await c.call({ id: 3, history: { channel: s.ch("pres:room"), limit: 10 } });
});

perTransport(BIDI, "history: not subscribed where only subscribers may", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, history: { channel: s.ch("open:room"), limit: 10 } });
});

perTransport(BIDI, "history: any client where allow_history_for_client, size capped", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await fill(s, s.ch("hist:room"), 8);
  await c.call({ id: 2, history: { channel: s.ch("hist:room"), limit: -1 } });
});

perTransport(BIDI, "history: refused where nothing is allowed", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, history: { channel: s.ch("closed:room"), limit: 1 } });
});

perTransport(BIDI, "history: reverse from offset 0", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await fill(s, s.ch("hist:room"), 3);
  const top = await c.call({ id: 2, history: { channel: s.ch("hist:room") } });
  const epoch = (top.history as { epoch: string }).epoch;
  await c.call({
    id: 3,
    history: { channel: s.ch("hist:room"), limit: 2, reverse: true, since: { offset: 0, epoch } },
  });
});

perTransport(BIDI, "history: empty channel name", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, history: { channel: "" } }]);
  await c.end(3000);
});
