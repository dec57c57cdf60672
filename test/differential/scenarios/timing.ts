/**
 * Clocks (the `timing` profile: pings every 2 s, pong timeout 1 s, expired connections and
 * subscriptions closed 1 s after expiry): pings and pongs, a client that stops answering, a
 * connection and a subscription that expire without refresh.
 */
import { perTransport } from "../scenario.ts";
import type { Message } from "../transports.ts";
import { BIDI, UNI } from "../transports.ts";

const timing = { profile: "timing" };
/** A server ping: `{}` (JSON) or an empty Reply (protobuf). */
const isPing = (m: Message) => Object.keys(m).length === 0;

perTransport(BIDI, "timing: pings answered with pongs keep the connection", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  for (let i = 1; i <= 2; i++) {
    await c.until(() => c.received.filter(isPing).length >= i || undefined, `ping ${i}`, 5000);
    c.send([{}]);
  }
}, timing);

perTransport(BIDI, "timing: no pong closes the connection", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.until(() => c.received.some(isPing) || undefined, "a ping", 5000);
  await c.end(4000);
}, timing);

perTransport(
  ["uni_websocket", "uni_http_stream"],
  "timing: unidirectional pings need no answer",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    await c.until(() => c.received.filter(isPing).length >= 2 || undefined, "two pings", 7000);
  },
  timing,
);

perTransport(["uni_sse"], "timing: unidirectional pings need no answer", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  // a ping is `data: {}` (Centrifugo) or `event: ping` (Sluice)
  const pings = () =>
    c.events.filter((e) => (e.msg && isPing(e.msg as Message)) || /^event: ping/.test(String(e.sse)));
  await c.until(() => pings().length >= 2 || undefined, "two pings", 7000);
}, { ...timing, differs: "uni-sse-ping-event" });

perTransport(BIDI, "timing: a connection that expires without refresh", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 2 }) }, { autoPong: true });
  await c.end(6000);
}, { ...timing, normalize: (t) => dropPings(t) });

perTransport(UNI, "timing: a unidirectional connection that expires", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 2 }) });
  await c.end(6000);
}, { ...timing, normalize: (t) => dropPings(t) });

perTransport(BIDI, "timing: a refreshed connection lives on", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 2 }) }, { autoPong: true });
  await c.call({ id: 2, refresh: { token: await s.userToken("alice", {}, { ttl: 600 }) } });
  await new Promise((r) => setTimeout(r, 3500));
  // still there: a command is answered
  await c.call({ id: 3, presence_stats: { channel: s.ch("pres:x") } });
}, { ...timing, normalize: (t) => dropPings(t) });

perTransport(BIDI, "timing: a subscription that expires without refresh", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice") }, { autoPong: true });
  const ch = s.ch("tok:room");
  await s.subscribe(c, 2, ch, { token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: 2 }) });
  await c.until(
    () =>
      c.received.some((m) => !!(m.push as { unsubscribe?: unknown } | undefined)?.unsubscribe) || c.closeInfo,
    "the subscription's end",
    6000,
  );
}, { ...timing, normalize: (t) => dropPings(t) });

/** Pings left out where the scenario is about something else that takes seconds. */
function dropPings(t: Record<string, unknown>): Record<string, unknown> {
  for (const v of Object.values(t)) {
    const events = (v as { events?: Array<Record<string, unknown>> }).events;
    if (!events) continue;
    (v as { events: unknown[] }).events = events.filter((e) =>
      !(e.msg && isPing(e.msg as Message)) && !/^event: ping/.test(String(e.sse))
    );
  }
  return t;
}
