/**
 * Subscribing over every bidirectional transport: each permission option of the namespaces in
 * profiles.ts, subscription tokens, private and user-limited channels, the options a client asks
 * for (positioned, recoverable, join_leave), and unsubscribing.
 */
import { perTransport } from "../scenario.ts";
import { BIDI } from "../transports.ts";

perTransport(
  BIDI,
  "subscribe: allowed for clients (open namespace: presence, history, recovery)",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    await s.subscribe(c, 2, s.ch("open:room"));
  },
);

perTransport(BIDI, "subscribe: channel without namespace", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("plain"));
});

perTransport(BIDI, "subscribe: unknown namespace", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("nosuch:room"));
});

perTransport(BIDI, "subscribe: namespace that allows nothing", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("closed:room"));
});

perTransport(BIDI, "subscribe: twice to the same channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"));
  await s.subscribe(c, 3, s.ch("open:room"));
});

perTransport(BIDI, "subscribe: empty channel name", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, subscribe: { channel: "" } }]);
  await c.end(3000);
});

perTransport(BIDI, "subscribe: anonymous client where only authenticated may", async (s, t) => {
  const c = await s.connect(t, { token: await s.token({}) });
  await s.subscribe(c, 2, s.ch("open:room"));
});

perTransport(BIDI, "subscribe: anonymous client where anonymous may", async (s, t) => {
  const c = await s.connect(t, { token: await s.token({}) });
  await s.subscribe(c, 2, s.ch("anon:room"));
});

perTransport(BIDI, "subscribe: positioned on request", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("hist:room"), { positioned: true });
});

perTransport(BIDI, "subscribe: recoverable on request", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("hist:room"), { recoverable: true });
});

perTransport(BIDI, "subscribe: force_positioning namespace", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("pos:room"));
});

perTransport(BIDI, "subscribe: recoverable where the namespace has no history", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("pub:room"), { recoverable: true, positioned: true });
});

perTransport(BIDI, "subscribe: the SDK's flag and data fields", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"), { flag: 1, data: { hello: 1 } });
});

perTransport(BIDI, "subscribe: join_leave asked where the namespace offers it", async (s, t) => {
  const a = await s.connectAs(t, "alice", { info: { name: "A" } });
  await s.subscribe(a, 2, s.ch("pres:room"), { join_leave: true });
  const b = await s.connectAs(t, "bob", { info: { name: "B" } });
  await s.subscribe(b, 2, s.ch("pres:room"));
  await a.next((m) => !!(m.push as { join?: unknown })?.join, "join push");
  await b.close();
  await a.next((m) => !!(m.push as { leave?: unknown })?.leave, "leave push");
});

perTransport(BIDI, "subscribe: join/leave pushed by force_push_join_leave", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  await s.subscribe(a, 2, s.ch("open:room"));
  const b = await s.connectAs(t, "bob", { info: { name: "B" } });
  await s.subscribe(b, 2, s.ch("open:room"));
  await a.next((m) => !!(m.push as { join?: unknown })?.join, "join push");
  await b.call({ id: 3, unsubscribe: { channel: s.ch("open:room") } });
  await a.next((m) => !!(m.push as { leave?: unknown })?.leave, "leave push");
});

perTransport(BIDI, "subscribe: join_leave asked where the namespace has none", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  await s.subscribe(a, 2, s.ch("hist:room"), { join_leave: true });
  const b = await s.connectAs(t, "bob");
  await s.subscribe(b, 2, s.ch("hist:room"));
});

perTransport(BIDI, "subscribe: private channel without a token", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("$open:secret"));
});

perTransport(BIDI, "subscribe: user-limited channel of one's own", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, `${s.ch("user:inbox")}#${s.user("alice")}`);
});

perTransport(BIDI, "subscribe: user-limited channel of another user", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, `${s.ch("user:inbox")}#${s.user("bob")}`);
});

perTransport(BIDI, "subscribe: user-limited channel with several users", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, `${s.ch("user:dm")}#${s.user("bob")},${s.user("alice")}`);
});

perTransport(BIDI, "subscribe: user-limited syntax where the namespace does not allow it", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, `${s.ch("open:inbox")}#${s.user("alice")}`);
});

// ---------------------------------------------------------------- subscription tokens

perTransport(BIDI, "subscribe token: valid", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("tok:room") });
  await s.subscribe(c, 2, s.ch("tok:room"), { token });
});

perTransport(BIDI, "subscribe token: with info, data and expire", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({
    sub: s.user("alice"),
    channel: s.ch("tok:room"),
    info: { role: "reader" },
    data: { welcome: "hi" },
  }, { ttl: 600 });
  await s.subscribe(c, 2, s.ch("tok:room"), { token });
});

perTransport(BIDI, "subscribe token: without exp", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("tok:room") }, { ttl: null });
  await s.subscribe(c, 2, s.ch("tok:room"), { token });
});

perTransport(BIDI, "subscribe token: expired", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("tok:room") }, { ttl: -60 });
  await s.subscribe(c, 2, s.ch("tok:room"), { token });
});

perTransport(BIDI, "subscribe token: for another channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("tok:other") });
  c.send([{ id: 2, subscribe: { channel: s.ch("tok:room"), token } }]);
  await c.settle(300);
});

perTransport(BIDI, "subscribe token: for another user", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("bob"), channel: s.ch("tok:room") });
  c.send([{ id: 2, subscribe: { channel: s.ch("tok:room"), token } }]);
  await c.settle(300);
});

perTransport(BIDI, "subscribe token: bad signature", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("tok:room") }, { secret: "wrong" });
  c.send([{ id: 2, subscribe: { channel: s.ch("tok:room"), token } }]);
  await c.settle(300);
});

perTransport(BIDI, "subscribe token: for a private channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const token = await s.token({ sub: s.user("alice"), channel: s.ch("$open:secret") });
  await s.subscribe(c, 2, s.ch("$open:secret"), { token });
});

perTransport(BIDI, "subscribe token: with override of presence and join_leave", async (s, t) => {
  const a = await s.connectAs(t, "alice");
  const token = await s.token({
    sub: s.user("alice"),
    channel: s.ch("tok:room"),
    override: { presence: { value: false }, join_leave: { value: false } },
  });
  await s.subscribe(a, 2, s.ch("tok:room"), { token });
  const b = await s.connectAs(t, "bob");
  const tokenB = await s.token({ sub: s.user("bob"), channel: s.ch("tok:room") });
  await s.subscribe(b, 2, s.ch("tok:room"), { token: tokenB });
  await a.call({ id: 3, presence: { channel: s.ch("tok:room") } });
});

// ---------------------------------------------------------------- unsubscribing

perTransport(BIDI, "unsubscribe: subscribed channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"));
  await c.call({ id: 3, unsubscribe: { channel: s.ch("open:room") } });
  await s.api("publish", { channel: s.ch("open:room"), data: { after: "unsubscribe" } });
});

perTransport(BIDI, "unsubscribe: a channel never subscribed", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, unsubscribe: { channel: s.ch("open:room") } });
});

perTransport(BIDI, "unsubscribe: empty channel name", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, unsubscribe: { channel: "" } }]);
  await c.end(3000);
});

perTransport(BIDI, "subscribe: again after unsubscribing", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"));
  await c.call({ id: 3, unsubscribe: { channel: s.ch("open:room") } });
  await s.subscribe(c, 4, s.ch("open:room"));
});

perTransport(BIDI, "subscribe: several in one frame", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([
    { id: 2, subscribe: { channel: s.ch("open:a") } },
    { id: 3, subscribe: { channel: s.ch("closed:b") } },
    { id: 4, subscribe: { channel: s.ch("plain") } },
  ]);
  await c.reply(2);
  await c.reply(3);
  await c.reply(4);
});

perTransport(BIDI, "subscribe: a tags filter where the namespace does not allow one", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:room"), { tf: { key: "kind", cmp: "eq", val: "news" } });
});
