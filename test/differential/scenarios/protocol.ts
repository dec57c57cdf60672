/**
 * The protocol's edges over every bidirectional transport: commands before connect, a second
 * connect, malformed frames, unknown or empty commands, ping, send, rpc without a handler, pongs,
 * and connection token refresh (valid, expired, invalid, for another user).
 */
import { perTransport } from "../scenario.ts";
import { BIDI, JSON_BIDI } from "../transports.ts";

perTransport(["websocket", "websocket_protobuf"], "protocol: a command before connect", async (s, t) => {
  const c = await s.connect(t, undefined, { noConnect: true });
  c.send([{ id: 1, subscribe: { channel: s.ch("open:room") } }]);
  await c.end(3000);
});

perTransport(
  ["http_stream", "http_stream_protobuf", "sse"],
  "protocol: a stream opened with a command other than connect",
  async (s, t) => {
    const c = await s.connect(t, undefined, {
      rawConnect: t === "http_stream_protobuf"
        ? undefined
        : JSON.stringify({ id: 1, subscribe: { channel: "x" } }),
    });
    await c.end(3000).catch(() => {});
  },
);

perTransport(BIDI, "protocol: a second connect", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, connect: { token: await s.userToken("alice") } }]);
  await c.end(3000);
});

perTransport(["websocket"], "protocol: a frame that is not JSON", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.sendRaw("this is not json");
  await c.end(3000);
});

perTransport(["websocket"], "protocol: a JSON frame that is not an object", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.sendRaw("[1,2,3]");
  await c.end(3000);
});

perTransport(["websocket_protobuf"], "protocol: bytes that are not protobuf", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  // a whole frame: length 3, then bytes that are no Command (field 31, a wire type that does not exist)
  c.sendRaw(new Uint8Array([0x03, 0xff, 0x01, 0x07]));
  await c.end(3000);
});

perTransport(["websocket"], "protocol: a binary frame on the JSON protocol", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.sendRaw(new TextEncoder().encode(JSON.stringify({ id: 2, presence: { channel: s.ch("open:x") } })));
  await c.settle(500);
});

perTransport(BIDI, "protocol: a command with an id and no method", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2 }]);
  await c.end(3000).catch(() => {});
});

perTransport(BIDI, "protocol: an unsolicited pong", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{}]);
  await c.settle(500);
});

perTransport(BIDI, "protocol: ping command", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, ping: {} }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "protocol: send without a handler", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ send: { data: { hello: 1 } } }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000).catch(() => {});
  await c.settle(300);
});

perTransport(BIDI, "protocol: rpc without a handler", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, rpc: { method: "anything", data: { a: 1 } } });
});

perTransport(BIDI, "protocol: duplicate command ids", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([
    { id: 2, presence_stats: { channel: s.ch("pres:a") } },
    { id: 2, presence_stats: { channel: s.ch("pres:b") } },
  ]);
  await c.count(3);
});

perTransport(JSON_BIDI, "protocol: unknown fields are ignored", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, subscribe: { channel: s.ch("open:room"), future_field: { x: 1 } }, also_unknown: 1 });
});

perTransport(BIDI, "protocol: commands in one frame run in order", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const ch = s.ch("open:room");
  c.send([
    { id: 2, subscribe: { channel: ch } },
    { id: 3, publish: { channel: ch, data: { step: 1 } } },
    { id: 4, presence_stats: { channel: ch } },
    { id: 5, history: { channel: ch, limit: 5 } },
    { id: 6, unsubscribe: { channel: ch } },
  ]);
  await c.reply(6);
  await c.settle(300);
});

// ---------------------------------------------------------------- connection refresh

perTransport(BIDI, "refresh: a new valid token", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: 600 }) });
  await c.call({ id: 2, refresh: { token: await s.userToken("alice", {}, { ttl: 1200 }) } });
});

perTransport(BIDI, "refresh: an expired token", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, refresh: { token: await s.userToken("alice", {}, { ttl: -10 }) } }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "refresh: a token for another user", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, refresh: { token: await s.userToken("bob") } }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "refresh: a token with a bad signature", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, refresh: { token: await s.userToken("alice", {}, { secret: "wrong" }) } }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "refresh: an empty token", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.send([{ id: 2, refresh: { token: "" } }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "refresh: a token that never expires", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, refresh: { token: await s.userToken("alice", {}, { ttl: null }) } });
});

perTransport(BIDI, "sub_refresh: a new subscription token", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const ch = s.ch("tok:room");
  await s.subscribe(c, 2, ch, { token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: 300 }) });
  await c.call({
    id: 3,
    sub_refresh: { channel: ch, token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: 900 }) },
  });
});

perTransport(BIDI, "sub_refresh: a channel not subscribed", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const ch = s.ch("tok:room");
  c.send([{
    id: 2,
    sub_refresh: { channel: ch, token: await s.token({ sub: s.user("alice"), channel: ch }) },
  }]);
  await c.until(() => c.received.length > 1 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});

perTransport(BIDI, "sub_refresh: an expired subscription token", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const ch = s.ch("tok:room");
  await s.subscribe(c, 2, ch, { token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: 300 }) });
  c.send([{
    id: 3,
    sub_refresh: { channel: ch, token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: -5 }) },
  }]);
  await c.until(() => c.received.length > 3 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
}, { differs: "sub-refresh-expired" });

perTransport(BIDI, "sub_refresh: a token for another channel", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  const ch = s.ch("tok:room");
  await s.subscribe(c, 2, ch, { token: await s.token({ sub: s.user("alice"), channel: ch }, { ttl: 300 }) });
  c.send([{
    id: 3,
    sub_refresh: { channel: ch, token: await s.token({ sub: s.user("alice"), channel: s.ch("tok:x") }) },
  }]);
  await c.until(() => c.received.length > 2 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
});
