/**
 * The HTTP around the protocol: methods each endpoint takes, CORS preflight, Origin checks (allowed,
 * foreign, any), malformed connect requests, the emulation endpoint's own errors, WebSocket
 * subprotocols and the protobuf query parameter.
 */
import { perTransport, scenario } from "../scenario.ts";
import { ALLOWED_ORIGIN } from "../profiles.ts";
import type { Session } from "../session.ts";
import { ALL_TRANSPORTS, type TransportName } from "../transports.ts";

const PATHS: Record<string, string> = {
  http_stream: "/connection/http_stream",
  sse: "/connection/sse",
  uni_sse: "/connection/uni_sse",
  uni_http_stream: "/connection/uni_http_stream",
  emulation: "/emulation",
  api: "/api/publish",
};

// ---------------------------------------------------------------- methods and preflight

for (const [name, path] of Object.entries(PATHS)) {
  for (const method of ["GET", "PUT", "DELETE"]) {
    if ((name === "sse" || name === "uni_sse") && method === "GET") continue;
    scenario(`http: ${method} ${name}`, async (s) => {
      await s.http(path, { method, body: method === "GET" ? undefined : "{}" });
    });
  }
  scenario(`http: CORS preflight from an allowed origin on ${name}`, async (s) => {
    await s.http(path, {
      method: "OPTIONS",
      headers: {
        Origin: ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-custom",
      },
    });
  });
  scenario(`http: CORS preflight from a foreign origin on ${name}`, async (s) => {
    await s.http(path, {
      method: "OPTIONS",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" },
    });
  }, { differs: name === "api" ? undefined : "foreign-origin-refused" });
}

// ---------------------------------------------------------------- Origin on connections

const origin = (o: string) => ({ headers: { Origin: o } });

perTransport(ALL_TRANSPORTS, "origin: an allowed Origin", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice") }, origin(ALLOWED_ORIGIN));
});

perTransport(ALL_TRANSPORTS, "origin: a foreign Origin", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice") }, {
    ...origin("http://evil.example"),
    wait: false,
  });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
}, (t: TransportName) => ({ differs: t.includes("websocket") ? undefined : "foreign-origin-refused" }));

perTransport(ALL_TRANSPORTS, "origin: any Origin where allowed_origins is *", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice") }, origin("http://anywhere.example"));
}, (t: TransportName) => ({
  profile: "any_origin",
  differs: t.includes("websocket") ? undefined : "any-origin-no-credentials",
}));

// ---------------------------------------------------------------- malformed connect requests

perTransport(
  ["sse", "uni_sse", "uni_websocket"],
  "connect request: cf_connect that is not JSON",
  async (s, t) => {
    const c = await s.connect(t, undefined, { rawConnect: "{not json", wait: false });
    await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
  },
);

perTransport(["http_stream", "uni_http_stream"], "connect request: a body that is not JSON", async (s, t) => {
  const c = await s.connect(t, undefined, { rawConnect: "{not json", wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["http_stream", "http_stream_protobuf"], "connect request: an empty body", async (s, t) => {
  const c = await s.connect(t, undefined, { rawConnect: "", wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["uni_http_stream"], "connect request: an empty body", async (s, t) => {
  const c = await s.connect(t, undefined, { rawConnect: "", wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["sse"], "connect request: no cf_connect", async (s, t) => {
  const c = await s.connect(t, undefined, { noConnect: true, wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["uni_sse"], "connect request: no cf_connect (an empty request)", async (s, t) => {
  const c = await s.connect(t, undefined, { noConnect: true, wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["uni_sse"], "connect request: POST with the request in the body", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice") }, { method: "POST" });
});

perTransport(["sse"], "connect request: POST with the commands in the body", async (s, t) => {
  const token = await s.userToken("alice");
  const c = await s.connect(t, undefined, {
    method: "POST",
    noConnect: true,
    wait: false,
  });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
  void token;
});

perTransport(["uni_websocket"], "connect request: as the first message", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice") }, { connectAsMessage: true });
});

perTransport(["uni_websocket"], "connect request: a first message that is not JSON", async (s, t) => {
  const c = await s.connect(t, undefined, { connectAsMessage: true, rawConnect: "hello", wait: false });
  await c.end(3000);
});

perTransport(["uni_websocket"], "connect request: a binary first message", async (s, t) => {
  const c = await s.connect(t, undefined, {
    connectAsMessage: true,
    rawConnect: new TextEncoder().encode(JSON.stringify({ token: await s.userToken("alice") })),
    wait: false,
  });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
});

perTransport(["uni_websocket"], "uni_websocket: a message after connect", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  c.sendRaw(JSON.stringify({ id: 2, presence: { channel: "x" } }));
  await c.settle(500);
});

// ---------------------------------------------------------------- the emulation endpoint

async function emulate(s: Session, body: unknown, contentType = "application/json"): Promise<void> {
  await s.http("/emulation", {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

scenario("emulation: an unknown session on this node", async (s) => {
  const c = await s.connectAs("http_stream", "alice");
  await emulate(s, { session: "no-such-session", node: c.node, data: JSON.stringify({ id: 2, ping: {} }) });
}, { differs: "emulation-unknown-session" });

scenario("emulation: an unknown node", async (s) => {
  await emulate(s, { session: "no-such-session", node: "no-such-node", data: "{}" });
});

scenario("emulation: a body that is not JSON", async (s) => {
  await emulate(s, "{not json");
});

scenario("emulation: data that is not a string", async (s) => {
  const c = await s.connectAs("http_stream", "alice");
  await emulate(s, { session: c.session, node: c.node, data: { id: 2, presence_stats: { channel: "x" } } });
  await c.settle(500);
}, { differs: "emulation-malformed" });

scenario("emulation: a unidirectional session", async (s) => {
  const uni = await s.connectAs("uni_http_stream", "alice");
  const bidi = await s.connectAs("http_stream", "bob"); // to learn the node's id
  await emulate(s, {
    session: uni.session,
    node: bidi.node,
    data: JSON.stringify({ id: 2, presence_stats: { channel: "x" } }),
  });
  await uni.settle(300);
}, { differs: "emulation-unidirectional" });

// ---------------------------------------------------------------- WebSocket protocols

scenario("websocket: subprotocol centrifuge-json", async (s) => {
  const c = await s.connect("websocket", undefined, {
    noConnect: true,
    wait: false,
    headers: { "Sec-WebSocket-Protocol": "centrifuge-json" },
  });
  c.send([{ id: 1, connect: { token: await s.userToken("alice") } }]);
  await c.reply(1);
});

scenario("websocket: ?format=protobuf", async (s) => {
  const c = await s.connect("websocket_protobuf", undefined, {
    noConnect: true,
    wait: false,
    query: { format: "protobuf" },
  });
  c.send([{ id: 1, connect: { token: await s.userToken("alice") } }]);
  await c.reply(1);
});

scenario("websocket: an unknown subprotocol", async (s) => {
  const c = await s.connect("websocket", undefined, {
    noConnect: true,
    wait: false,
    headers: { "Sec-WebSocket-Protocol": "graphql-ws" },
  });
  await c.until(() => c.events.length > 0, "open or close", 3000);
  if (!c.closeInfo) {
    c.send([{ id: 1, connect: { token: await s.userToken("alice") } }]);
    await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 3000);
  }
});

scenario("websocket: a plain GET without upgrade", async (s) => {
  await s.http("/connection/websocket");
});

scenario("uni_websocket: a plain GET without upgrade", async (s) => {
  await s.http("/connection/uni_websocket");
});

scenario("http: an unknown path", async (s) => {
  await s.http("/no/such/path");
});
