/**
 * Connecting, on every transport: tokens valid and not (expired, bad signature, wrong algorithm,
 * unknown key id, malformed), claims that shape the connection (info, server-side channels, subs
 * with options, expire_at), connect requests with data, anonymous connects, and the pins of the
 * documented differences every stream shows.
 */
import { perTransport, scenario } from "../scenario.ts";
import { ALL_TRANSPORTS, BIDI } from "../transports.ts";

perTransport(ALL_TRANSPORTS, "connect: valid token", async (s, t) => {
  await s.connectAs(t, "alice");
});

perTransport(ALL_TRANSPORTS, "connect: expired token", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { ttl: -60 }) });
  await c.end(3000).catch(() => {}); // some transports keep the connection open after the error
});

perTransport(ALL_TRANSPORTS, "connect: bad signature", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { secret: "not-the-secret" }) });
  await c.end(3000);
});

perTransport(ALL_TRANSPORTS, "connect: RS256 token where only HMAC is configured", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { alg: "RS256" }) });
  await c.end(3000);
});

perTransport(ALL_TRANSPORTS, "connect: HS256 token with an unknown kid", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { kid: "no-such-key" }) });
  await c.settle();
});

perTransport(ALL_TRANSPORTS, "connect: alg none", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", {}, { alg: "none" }) });
  await c.end(3000);
});

perTransport(ALL_TRANSPORTS, "connect: malformed token", async (s, t) => {
  const c = await s.connect(t, { token: "not.a.jwt" });
  await c.end(3000);
});

perTransport(ALL_TRANSPORTS, "connect: no token, anonymous not allowed", async (s, t) => {
  const c = await s.connect(t, {});
  await c.end(3000);
});

perTransport(ALL_TRANSPORTS, "connect: token without sub (anonymous token)", async (s, t) => {
  await s.connect(t, { token: await s.token({}) });
});

perTransport(ALL_TRANSPORTS, "connect: token with exp and expire_at 0 (never expires)", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice", { expire_at: 0 }) });
});

perTransport(ALL_TRANSPORTS, "connect: token without exp", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice", {}, { ttl: null }) });
});

perTransport(ALL_TRANSPORTS, "connect: token with info and meta", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice", { info: { name: "Alice" }, meta: { secret: 1 } }) });
});

perTransport(ALL_TRANSPORTS, "connect: token with server-side channels", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice", { channels: [s.ch("open:a"), s.ch("plain")] }) });
});

perTransport(ALL_TRANSPORTS, "connect: token with subs and options", async (s, t) => {
  const subs = {
    [s.ch("closed:x")]: { data: { welcome: true }, override: { presence: { value: false } } },
    [s.ch("open:y")]: {},
  };
  await s.connect(t, { token: await s.userToken("alice", { subs }) });
});

perTransport(ALL_TRANSPORTS, "connect: a subscription token used to connect", async (s, t) => {
  const c = await s.connect(t, { token: await s.userToken("alice", { channel: s.ch("tok:x") }) });
  await c.end(3000);
});

perTransport(BIDI, "connect: data, name and version in the request", async (s, t) => {
  await s.connect(t, {
    token: await s.userToken("alice"),
    data: { hello: "world" },
    name: "differential",
    version: "1.2.3",
  });
});

perTransport(ALL_TRANSPORTS, "connect: anonymous allowed by config", async (s, t) => {
  await s.connect(t, {});
}, { profile: "anonymous" });

// Pins of the documented differences every stream shows
scenario("stream headers: no Origin, no CORS [http_stream]", async (s) => {
  await s.connectAs("http_stream", "alice");
}, { differs: "cors-without-origin" });
scenario("stream headers: Expires and Content-Type [uni_http_stream]", async (s) => {
  await s.connectAs("uni_http_stream", "alice");
}, { differs: "stream-labels" });
scenario("uni_sse: retry and event ids [uni_sse]", async (s) => {
  await s.connectAs("uni_sse", "alice");
}, { differs: "uni-sse-resume" });
