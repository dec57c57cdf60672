/**
 * Limits (the `limits` profile): channels per connection, connections per user, queued bytes,
 * WebSocket message size, request body sizes, channel name length.
 */
import { perTransport } from "../scenario.ts";
import { BIDI, UNI } from "../transports.ts";
import { dropOverflow } from "../differences.ts";

const limits = { profile: "limits" };

perTransport(BIDI, "limits: one subscription over the channel limit", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  for (let i = 0; i < 3; i++) await s.subscribe(c, 2 + i, s.ch(`open:c${i}`));
  c.send([{ id: 9, subscribe: { channel: s.ch("open:c3") } }]);
  await c.until(() => c.received.length > 4 || c.closeInfo, "an answer", 3000);
  await c.settle(300);
}, limits);

perTransport(BIDI, "limits: server-side channels over the channel limit", async (s, t) => {
  const channels = [0, 1, 2, 3].map((i) => s.ch(`open:s${i}`));
  const c = await s.connect(t, { token: await s.userToken("alice", { channels }) });
  await c.settle(300);
}, limits);

perTransport([...BIDI, ...UNI], "limits: a user's third connection", async (s, t) => {
  await s.connectAs(t, "alice");
  await s.connectAs(t, "alice");
  const third = await s.connectAs(t, "alice");
  await third.settle(300);
}, limits);

perTransport(BIDI, "limits: a channel name over channel.max_length", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:" + "x".repeat(60)));
}, limits);

/** A publication over the queue limit; what reaches the client before the close is not compared. */
perTransport([...BIDI, ...UNI], "limits: a publication bigger than the client queue", async (s, t) => {
  const ch = s.ch("open:big");
  const c = BIDI.includes(t) ? await s.connectAs(t, "alice") : await s.connect(t, {
    token: await s.userToken("alice", { channels: [ch] }),
  });
  if (BIDI.includes(t)) await s.subscribe(c, 2, ch);
  await s.api("publish", { channel: ch, data: { pad: "x".repeat(10_000) } });
  await c.end(3000);
}, (t) => ({
  ...limits,
  normalize: dropOverflow,
  differs: t.includes("websocket") ? undefined : "slow-consumer-cut",
}));

perTransport(
  ["websocket", "websocket_protobuf"],
  "limits: a message over websocket.message_size_limit",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    c.send([{ id: 2, publish: { channel: s.ch("open:x"), data: { pad: "x".repeat(5000) } } }]);
    await c.end(3000);
  },
  { ...limits, differs: "bun-message-too-big" },
);

perTransport(["websocket"], "limits: a message just under websocket.message_size_limit", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("open:x"));
  await c.call({ id: 3, publish: { channel: s.ch("open:x"), data: { pad: "x".repeat(3900) } } });
}, limits);

perTransport(
  ["uni_websocket"],
  "limits: a connect message over uni_websocket.message_size_limit",
  async (s, t) => {
    const c = await s.connect(t, { token: await s.userToken("alice"), data: { pad: "x".repeat(3000) } }, {
      connectAsMessage: true,
    });
    await c.end(3000);
  },
  limits,
);

perTransport(
  ["http_stream", "http_stream_protobuf", "uni_http_stream", "uni_sse"],
  "limits: a connect body over max_request_body_size",
  async (s, t) => {
    const token = await s.userToken("alice");
    const c = await s.connect(
      t,
      { token, data: { pad: "x".repeat(3000) } },
      t === "uni_sse" ? { method: "POST" } : {},
    );
    await c.end(3000);
  },
  limits,
);

perTransport(
  ["http_stream", "sse"],
  "limits: an emulation body over emulation.max_request_body_size",
  async (s, t) => {
    const c = await s.connectAs(t, "alice");
    c.send([{ id: 2, publish: { channel: s.ch("open:x"), data: { pad: "x".repeat(3000) } } }]);
    await c.settle(500);
  },
  limits,
);

perTransport(["sse"], "limits: a long cf_connect (body limits are for bodies)", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice"), data: { pad: "x".repeat(3000) } });
}, limits);
