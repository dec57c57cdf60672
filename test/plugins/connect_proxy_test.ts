/**
 * The shipped `connect_proxy` plugin against a real HTTP backend speaking Centrifugo's proxy
 * protocol: connect (SDK, raw bidirectional and unidirectional streams), refresh, subscribe,
 * publish, rpc and sub refresh; header forwarding; and every way a backend can fail (each one is
 * 100 for the client and a log line naming the plugin and the hook).
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertRejects, waitFor } from "../assert.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { connectProxyOptions, loadConfig } from "../../src/config/mod.ts";
import { loadPlugins, pluginEntries } from "../../src/plugin_api/loader.ts";
import { collect, connected, fence, once, sdk, subscribed } from "../helpers/sdk.ts";
import { ManualClock } from "../helpers/clock.ts";
import { emulate, openHttpStream, openRaw, type RawStream } from "../helpers/raw.ts";
import { token, userToken } from "../helpers/tokens.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import { createTestServer, TestConnectError } from "../../src/testing.ts";
import { ClientError } from "../../src/errors.ts";
import type { Client } from "../../src/core/client.ts";
import connectProxy from "../../plugins/connect_proxy/plugin.ts";
import { shippedPlugins } from "../../plugins/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

interface ProxyCall {
  path: string;
  body: Json;
  headers: Headers;
}

interface Backend {
  url: string;
  calls: ProxyCall[];
  to(path: string): ProxyCall[];
}

/** A backend on a loopback port; `answer` returns a JSON body (sent with 200) or a Response. */
async function startBackend(
  t: TestContext,
  answer: (call: ProxyCall) => unknown | Promise<unknown>,
): Promise<Backend> {
  const runtime = await getRuntime();
  const calls: ProxyCall[] = [];
  const listener = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: async (req) => {
      const text = await req.text();
      let body: Json;
      try {
        body = JSON.parse(text);
      } catch {
        body = { unparsed: text };
      }
      const call = { path: new URL(req.url).pathname, body, headers: req.headers };
      calls.push(call);
      const a = await answer(call);
      return a instanceof Response ? a : Response.json(a);
    },
  });
  t.cleanup(() => listener.close(true));
  return { url: `http://127.0.0.1:${listener.port}`, calls, to: (p) => calls.filter((c) => c.path === p) };
}

/** A URL nothing listens on (a port that was just released). */
async function deadEndpoint(): Promise<string> {
  const runtime = await getRuntime();
  const l = await runtime.listen({ port: 0, hostname: "127.0.0.1", handler: () => new Response("") });
  const url = `http://127.0.0.1:${l.port}/connect`;
  await l.close(true);
  return url;
}

/** "plugin hook failed" lines logged for connect_proxy's `hook`. */
function hookFailures(logs: string[], hook: string): Json[] {
  return logs.map((l) => JSON.parse(l)).filter((e) =>
    e.msg === "plugin hook failed" && e.plugin === "connect_proxy" && e.hook === hook
  );
}

const nowS = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => btoa(JSON.stringify(v));
const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e) => (e as { code: number }).code);

/** Opens a raw http_stream with a connect command; resolves with the stream and its first message. */
async function rawConnect(
  s: TestServer,
  connect: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ stream: RawStream; reply: Json }> {
  const stream = await openHttpStream(s.url, JSON.stringify({ id: 1, connect }), headers);
  return { stream, reply: await stream.next() };
}

/** Sends commands through `/emulation` for the http_stream whose connect reply is `reply`. */
async function emulateCommands(s: TestServer, reply: Json, commands: unknown[]): Promise<void> {
  const res = await emulate(s.url, reply.connect.session, reply.connect.node, commands);
  await res.body?.cancel();
  assertEquals(res.status, 204);
}

// ------------------------------------------------------------------ connect

test("connect proxy: user, info and data reach the client; channels become server-side subscriptions", async (t) => {
  const backend = await startBackend(t, (c) => ({
    result: {
      user: "42",
      info: { name: "Alice" },
      data: { welcome: c.body.data },
      channels: ["news"],
      meta: { plan: "gold" },
    },
  }));
  const s = await startServer(t, { presence: true, proxy_connect_endpoint: `${backend.url}/connect` });
  const client = sdk(t, s, "http_stream", { data: { hello: 1 } });
  const onConnected = once<Json>(client, "connected");
  const onSubscribed = once<Json>(client, "subscribed");
  const pubs = collect<Json>(client, "publication");
  client.connect();
  const ctx = await onConnected;
  assertEquals(ctx.data, { welcome: { hello: 1 } });
  assertEquals((await onSubscribed).channel, "news");
  assertEquals(backend.calls.length, 1);
  assertEquals(backend.calls[0].path, "/connect");
  assertEquals(backend.calls[0].body, {
    client: ctx.client,
    transport: "http_stream",
    protocol: "json",
    encoding: "json",
    name: "js",
    data: { hello: 1 },
  });
  assertEquals(backend.calls[0].headers.get("content-type"), "application/json");
  const presence: Json = await s.apiJson("presence", { channel: "news" });
  assertEquals(Object.values(presence.result.presence), [{
    client: ctx.client,
    user: "42",
    conn_info: { name: "Alice" },
  }]);
  await s.apiJson("publish", { channel: "news", data: { n: 1 } });
  await waitFor(
    () => pubs.some((p) => p.channel === "news" && p.data.n === 1),
    "the server-side publication",
  );
});

test("connect proxy: a client with a token goes to JWT verification, not to the backend", async (t) => {
  const backend = await startBackend(t, () => ({ result: { user: "proxy" } }));
  const s = await startServer(t, { proxy_connect_endpoint: `${backend.url}/connect` });
  const client = sdk(t, s, "sse", { token: await userToken("jwt-user") });
  await connected(client);
  assertEquals(backend.calls.length, 0);
  assertEquals(s.node.hub.userConnections("jwt-user").length, 1);
});

test("connect proxy: allow-listed request headers, static headers, and no others", async (t) => {
  const backend = await startBackend(t, () => ({ result: { user: "h" } }));
  const clientHeaders = {
    Cookie: "session=abc",
    "X-Real-Ip": "10.1.2.3",
    Authorization: "Bearer from-client",
    "X-Other": "secret",
  };
  const withCookie = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_http_headers: ["cookie", "X-Real-Ip", "Authorization"],
    proxy_static_http_headers: { "X-Static": "s1", Authorization: "Basic static" },
  });
  const a = await rawConnect(withCookie, { name: "raw" }, clientHeaders);
  t.cleanup(() => a.stream.close());
  assertMatch(a.reply, { id: 1, connect: { client: a.reply.connect.client } });
  const h1 = backend.calls[0].headers;
  assertEquals(h1.get("cookie"), "session=abc");
  assertEquals(h1.get("x-real-ip"), "10.1.2.3");
  assertEquals(h1.get("authorization"), "Bearer from-client", "the client's header wins over a static one");
  assertEquals(h1.get("x-static"), "s1");
  assertEquals(h1.get("x-other"), null);
  assertEquals(h1.get("content-type"), "application/json");

  const withoutCookie = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_http_headers: ["X-Real-Ip"],
    proxy_static_http_headers: { Authorization: "Basic static" },
  });
  const b = await rawConnect(withoutCookie, { name: "raw" }, clientHeaders);
  t.cleanup(() => b.stream.close());
  assert(b.reply.connect, "connected");
  const h2 = backend.calls[1].headers;
  assertEquals(h2.get("cookie"), null);
  assertEquals(h2.get("x-real-ip"), "10.1.2.3");
  assertEquals(h2.get("authorization"), "Basic static");
});

test("connect proxy: emulated headers are forwarded only when listed in emulated_headers, also to later proxies", async (t) => {
  const backend = await startBackend(
    t,
    (c) => c.path === "/connect" ? { result: { user: "em" } } : { result: {} },
  );
  const s = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_rpc_endpoint: `${backend.url}/rpc`,
    proxy_emulated_headers: ["X-Emulated", "Authorization"],
    proxy_http_headers: ["X-Real-Ip"],
  });
  const client = sdk(t, s, "http_stream", {
    headers: {
      "X-Emulated": "e1",
      Authorization: "Bearer emulated",
      "X-Real-Ip": "1.2.3.4",
      "X-Not-Allowed": "no",
    },
  });
  await connected(client);
  await client.rpc("ping", {});
  for (const path of ["/connect", "/rpc"]) {
    const h = backend.to(path)[0].headers;
    assertEquals(h.get("x-emulated"), "e1", path);
    assertEquals(h.get("authorization"), "Bearer emulated", path);
    // As in Centrifugo ≥ 6.9: http_headers names request headers only, never the client's own
    // emulated values (a client could claim any X-Real-Ip).
    assertEquals(h.get("x-real-ip"), null, path);
    assertEquals(h.get("x-not-allowed"), null, path);
  }
  const hints = s.logs.map((l) => JSON.parse(l)).filter((e) => e.msg?.startsWith("emulated headers listed"));
  assertEquals(hints.length, 1, "one hint a minute");
  assertEquals(hints[0].headers, ["x-real-ip"]);
});

test("connect proxy: an error answer reaches the SDK (1000, terminal); a disconnect answer closes (4501)", async (t) => {
  const backend = await startBackend(
    t,
    (c) =>
      c.body.data?.ban
        ? { disconnect: { code: 4501, reason: "banned" } }
        : { error: { code: 1000, message: "who are you" } },
  );
  const s = await startServer(t, { proxy_connect_endpoint: `${backend.url}/connect` });
  const refused = sdk(t, s, "http_stream");
  const gone = once<Json>(refused, "disconnected");
  refused.connect();
  assertMatch(await gone, { code: 1000, reason: "who are you" });
  assertEquals(refused.state, "disconnected");
  assertEquals(backend.calls.length, 1, "a non-temporary error is not retried");

  const banned = sdk(t, s, "sse", { data: { ban: true } });
  const closed = once<Json>(banned, "disconnected");
  banned.connect();
  assertMatch(await closed, { code: 4501, reason: "banned" });
  assertEquals(banned.state, "disconnected");
  assertEquals(backend.calls.length, 2);
});

test("connect proxy: failures are 100 (temporary), logged with plugin and hook, and the SDK retries until it connects", async (t) => {
  let n = 0;
  const backend = await startBackend(t, () => {
    n++;
    if (n === 1) return new Response("oops", { status: 500 });
    if (n === 2) return new Response("{not json", { status: 200 });
    return { result: { user: "patient" } };
  });
  const s = await startServer(t, { proxy_connect_endpoint: `${backend.url}/connect` });
  const client = sdk(t, s, "http_stream");
  const errors = collect<Json>(client, "error");
  await connected(client);
  assertEquals(backend.calls.length, 3);
  assertEquals(errors.map((e) => [e.type, e.error.code, e.error.temporary]), [
    ["connect", 100, true],
    ["connect", 100, true],
  ]);
  const logged = hookFailures(s.logs, "onConnecting");
  assertEquals(logged.length, 2);
  assert(String(logged[0].err).includes("answered HTTP 500"), logged[0].err);
  assert(String(logged[1].err).includes("not JSON"), logged[1].err);
});

/** Backend answers chosen by the connect `data.case`. */
const BAD_CONNECT: Record<string, { answer: (gate: Promise<void>) => unknown; log: string }> = {
  "status 500": { answer: () => new Response("boom", { status: 500 }), log: "answered HTTP 500" },
  "status 204": { answer: () => new Response(null, { status: 204 }), log: "answered HTTP 204" },
  "malformed JSON": { answer: () => new Response('{"result":', { status: 200 }), log: "not JSON" },
  "not an object": { answer: () => [1, 2], log: "not a JSON object" },
  "result not an object": { answer: () => ({ result: "yes" }), log: "result must be an object" },
  "user not a string": { answer: () => ({ result: { user: 42 } }), log: "user must be a string" },
  "expire_at not an integer": { answer: () => ({ result: { user: "u", expire_at: 1.5 } }), log: "expire_at" },
  "channels not an array": { answer: () => ({ result: { user: "u", channels: "news" } }), log: "channels" },
  "subs entry not an object": { answer: () => ({ result: { user: "u", subs: { news: 5 } } }), log: "subs[" },
  "override not a boolean": {
    answer: () => ({ result: { user: "u", subs: { news: { override: { presence: { value: "yes" } } } } } }),
    log: "override.presence",
  },
  "b64info not base64": { answer: () => ({ result: { user: "u", b64info: "%%%" } }), log: "b64info" },
  "b64data not JSON": {
    answer: () => ({ result: { user: "u", b64data: btoa("not json") } }),
    log: "b64data",
  },
  "error code not a number": { answer: () => ({ error: { code: "1000" } }), log: "error.code" },
  "error code negative": { answer: () => ({ error: { code: -1, message: "x" } }), log: "error.code" },
  "error code beyond 32 bits": { answer: () => ({ error: { code: 2 ** 32 } }), log: "error.code" },
  "disconnect code negative": { answer: () => ({ disconnect: { code: -1 } }), log: "disconnect.code" },
  "disconnect code beyond 32 bits": {
    answer: () => ({ disconnect: { code: 2 ** 32 } }),
    log: "disconnect.code",
  },
  // Answers only once the test is over, long after proxy_connect_timeout.
  "slow": { answer: (gate) => gate.then(() => ({ result: { user: "late" } })), log: "within 500 ms" },
};

test("connect proxy: every kind of backend failure is 100 temporary with a log line, and the server keeps going", async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const backend = await startBackend(t, (c) => {
    const bad = BAD_CONNECT[c.body.data?.case];
    return bad ? bad.answer(gate) : { result: { user: "fine" } };
  });
  t.cleanup(() => release());
  const s = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_connect_timeout: "500ms",
  });
  const streams = await Promise.all(
    Object.keys(BAD_CONNECT).map((name) => rawConnect(s, { data: { case: name } })),
  );
  t.cleanup(() => streams.forEach((x) => x.stream.close()));
  const logged = hookFailures(s.logs, "onConnecting");
  Object.keys(BAD_CONNECT).forEach((name, i) => {
    assertEquals(
      streams[i].reply,
      { id: 1, error: { code: 100, message: "internal server error", temporary: true } },
      name,
    );
  });
  assertEquals(logged.length, Object.keys(BAD_CONNECT).length);
  for (const [name, bad] of Object.entries(BAD_CONNECT)) {
    assert(logged.some((l) => String(l.err).includes(bad.log)), `${name}: no log line with "${bad.log}"`);
  }
  const ok = await rawConnect(s, { data: { case: "none" } });
  t.cleanup(() => ok.stream.close());
  assert(ok.reply.connect, "a good answer still connects");
});

test("connect proxy: backend down (connection refused) is 100 temporary with a log line", async (t) => {
  const s = await startServer(t, { proxy_connect_endpoint: await deadEndpoint() });
  const { stream, reply } = await rawConnect(s, {});
  t.cleanup(() => stream.close());
  assertEquals(reply, { id: 1, error: { code: 100, message: "internal server error", temporary: true } });
  const logged = hookFailures(s.logs, "onConnecting");
  assertEquals(logged.length, 1);
  assert(String(logged[0].err).includes("request to http://127.0.0.1:"), logged[0].err);
});

test("connect proxy: b64info/b64data and subs with options and Centrifugo's override shape", async (t) => {
  const backend = await startBackend(t, () => ({
    result: {
      user: "b64",
      b64info: b64({ from: "b64" }),
      info: { ignored: true },
      b64data: b64({ hello: "b64" }),
      subs: {
        news: { b64data: b64({ sub: "data" }), info: { ch: 1 }, override: { presence: { value: true } } },
        "open:x": null,
      },
    },
  }));
  const server = await createTestServer({
    plugins: [[connectProxy, {}]],
    config: {
      presence: true,
      proxy_connect_endpoint: `${backend.url}/connect`,
      namespaces: [{ name: "open", allow_subscribe_for_client: true }],
    },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({});
  t.cleanup(() => client.close());
  assertEquals(client.connect.data, { hello: "b64" });
  assertMatch(client.connect.subs as Json, { news: { data: { sub: "data" } }, "open:x": {} });
  const presence = await server.api("presence", { channel: "news" });
  assertEquals(Object.values(presence.presence as Json), [
    { client: client.id, user: "b64", conn_info: { from: "b64" }, chan_info: { ch: 1 } },
  ]);
});

test("connect proxy: an error answer reaches the client as it is, whatever its code (as Centrifugo passes it)", async (t) => {
  const backend = await startBackend(t, (c) => c.body.data.answer);
  const s = await startServer(t, { uni_http_stream: true, proxy_connect_endpoint: `${backend.url}/connect` });
  const cases: Array<[unknown, unknown]> = [
    [{ error: { code: 4000, message: "go away" } }, { code: 4000, message: "go away" }],
    [{ error: { code: 99, message: "low" } }, { code: 99, message: "low" }],
    [{ error: { code: 4001, message: "later", temporary: true } }, {
      code: 4001,
      message: "later",
      temporary: true,
    }],
    // no message: none on the wire either, not Sluice's words for the code
    [{ error: { code: 103 } }, { code: 103 }],
  ];
  for (const [answer, error] of cases) {
    const { stream, reply } = await rawConnect(s, { data: { answer } });
    t.cleanup(() => stream.close());
    assertEquals(reply, { id: 1, error }, JSON.stringify(answer));
    assert(stream.text().includes(JSON.stringify({ id: 1, error })), "the exact bytes");
  }
  // A unidirectional client cannot read an error: a permanent one ends it for good (3501), a
  // temporary one is 3004, so it comes back.
  for (const [answer, code] of [[cases[0][0], 3501], [cases[2][0], 3004]] as const) {
    const uni = await openRaw(`${s.url}/connection/uni_http_stream`, {
      method: "POST",
      body: JSON.stringify({ data: { answer } }),
    }, "ndjson");
    t.cleanup(() => uni.close());
    assertMatch(await uni.next() as Json, { disconnect: { code } });
  }
  assertEquals(hookFailures(s.logs, "onConnecting"), [], "an error answer is no backend fault");
});

test("connect proxy: an answer with no result is no credentials: 3501, or an anonymous connection where allowed", async (t) => {
  const backend = await startBackend(t, (c) => c.path === "/connect" ? {} : { result: { data: "ok" } });
  const closed = await startServer(t, { proxy_connect_endpoint: `${backend.url}/connect` });
  const refused = await rawConnect(closed, {});
  t.cleanup(() => refused.stream.close());
  assertEquals(refused.reply, { push: { disconnect: { code: 3501, reason: "bad request" } } });
  assertEquals(hookFailures(closed.logs, "onConnecting"), [], "not a backend fault");

  const open = await startServer(t, {
    namespaces: [{ name: "open", allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true }],
    allow_anonymous_connect_without_token: true,
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_rpc_endpoint: `${backend.url}/rpc`,
  });
  // As for a client without a token: the channels it asks for are granted by the namespace rules.
  const anon = await rawConnect(open, { subs: { "open:news": {} } });
  t.cleanup(() => anon.stream.close());
  assertMatch(anon.reply, { id: 1, connect: { subs: { "open:news": {} } } });
  await emulateCommands(open, anon.reply, [{ id: 2, rpc: { method: "who" } }]);
  assertEquals(await anon.stream.next(), { id: 2, rpc: { data: "ok" } });
  // Centrifugo sends `user` to every proxy, "" for an anonymous connection.
  assertEquals(backend.to("/rpc")[0].body.user, "");
});

test("proxy requests name the connection's protocol: protobuf for the SDK's protobuf build", async (t) => {
  const backend = await startBackend(
    t,
    (c) => c.path === "/connect" ? { result: { user: "pb" } } : { result: { data: { pong: true } } },
  );
  const s = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_rpc_endpoint: `${backend.url}/rpc`,
  });
  const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
  const client = new ProtobufCentrifuge([{
    transport: "http_stream",
    endpoint: `${s.url}/connection/http_stream`,
  }], {
    emulationEndpoint: `${s.url}/emulation`,
    fetch: globalThis.fetch.bind(globalThis),
    readableStream: ReadableStream,
  });
  t.cleanup(() => client.disconnect());
  await connected(client as unknown as Parameters<typeof connected>[0]);
  await client.rpc("ping", new TextEncoder().encode('{"n":1}'));
  assertMatch(backend.to("/connect")[0].body, {
    protocol: "protobuf",
    encoding: "json",
    transport: "http_stream",
  });
  assertMatch(backend.to("/rpc")[0].body, { protocol: "protobuf", user: "pb", data: { n: 1 } });
});

test("per-proxy settings: each proxy forwards its own headers and meta (Centrifugo v6's sections)", async (t) => {
  const { config } = loadConfig({
    file: {
      client: {
        proxy: {
          connect: { enabled: true, endpoint: "http://127.0.0.1:1/connect", http_headers: ["Cookie"] },
        },
      },
      rpc: {
        proxy: {
          endpoint: "http://127.0.0.1:1/rpc",
          emulated_headers: ["X-Token"],
          http: { static_headers: { "X-Static": "rpc" } },
          include_connection_meta: true,
        },
      },
    },
  });
  const [[, options]] = pluginEntries(config);
  assertMatch(options as Json, {
    http_headers: [],
    connect_http_headers: ["Cookie"],
    rpc_emulated_headers: ["X-Token"],
    rpc_static_http_headers: { "X-Static": "rpc" },
    rpc_include_connection_meta: true,
  });
  assertEquals((options as Json).connect_include_connection_meta, undefined);
  let refused: unknown;
  try {
    loadConfig({ file: { proxy_rpc_static_http_headers: { "X-N": 1 } } });
  } catch (e) {
    refused = e;
  }
  assert(/proxy_rpc_static_http_headers.*"X-N" must be a string/.test(String(refused)), String(refused));

  const backend = await startBackend(
    t,
    (c) => c.path === "/connect" ? { result: { user: "pp", meta: { m: 1 } } } : { result: {} },
  );
  const s = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_rpc_endpoint: `${backend.url}/rpc`,
    proxy_connect_http_headers: ["Cookie"],
    proxy_rpc_emulated_headers: ["X-Token"],
    proxy_rpc_static_http_headers: { "X-Static": "rpc" },
    proxy_rpc_include_connection_meta: true,
  });
  const c = await rawConnect(s, { headers: { "X-Token": "t1" } }, { Cookie: "a=b" });
  t.cleanup(() => c.stream.close());
  await emulateCommands(s, c.reply, [{ id: 2, rpc: { method: "m" } }]);
  await c.stream.next();
  const [connect, rpc] = [backend.to("/connect")[0], backend.to("/rpc")[0]];
  assertEquals([connect.headers.get("cookie"), connect.headers.get("x-token")], ["a=b", null]);
  assertEquals(connect.headers.get("x-static"), null);
  assertEquals([rpc.headers.get("cookie"), rpc.headers.get("x-token")], [null, "t1"]);
  assertEquals(rpc.headers.get("x-static"), "rpc");
  assertEquals(rpc.body.meta, { m: 1 });
});

// ------------------------------------------------------------------ unidirectional

for (const kind of ["uni_sse", "uni_http_stream"] as const) {
  test(`${kind}: connect via the proxy; a proxy failure is disconnect 3004`, async (t) => {
    const backend = await startBackend(
      t,
      (c) =>
        c.body.data?.fail
          ? new Response("down", { status: 503 })
          : { result: { user: "uni", data: { hi: c.body.transport }, channels: ["feed"] } },
    );
    const s = await startServer(t, {
      uni_sse: true,
      uni_http_stream: true,
      proxy_connect_endpoint: `${backend.url}/c`,
    });
    const open = (connect: unknown) =>
      kind === "uni_sse"
        ? openRaw(
          `${s.url}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify(connect))}`,
          {},
          "sse",
        )
        : openRaw(
          `${s.url}/connection/uni_http_stream`,
          { method: "POST", body: JSON.stringify(connect) },
          "ndjson",
        );
    const ok = await open({ name: "uni" });
    t.cleanup(() => ok.close());
    assertMatch(await ok.next() as Json, { connect: { data: { hi: kind }, subs: { feed: {} } } });
    assertEquals(backend.calls[0].body.transport, kind);
    await s.apiJson("publish", { channel: "feed", data: { n: 1 } });
    assertEquals(await ok.next(), { channel: "feed", pub: { data: { n: 1 } } });

    const failed = await open({ data: { fail: true } });
    t.cleanup(() => failed.close());
    assertMatch(await failed.next() as Json, { disconnect: { code: 3004 } });
    assertEquals(hookFailures(s.logs, "onConnecting").length, 1);
  });
}

// ------------------------------------------------------------------ refresh

test("refresh proxy: extends an expiring connection, then expired:true disconnects with 3005", async (t) => {
  let refreshes = 0;
  let connects = 0;
  let reconnectsBeforeSecondRefresh = -1;
  const connecting: Json[] = [];
  const backend = await startBackend(t, (c) => {
    if (c.path === "/connect") {
      connects++;
      // The first connection expires in 1–2 s; the one after the 3005 does not expire.
      return { result: { user: "r1", expire_at: connects === 1 ? nowS() + 2 : 0, meta: { plan: "gold" } } };
    }
    refreshes++;
    if (refreshes === 1) return { result: { expire_at: nowS() + 2, info: { refreshed: 1 } } };
    reconnectsBeforeSecondRefresh = connecting.length;
    return { result: { expired: true } };
  });
  const s = await startServer(t, {
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_refresh_endpoint: `${backend.url}/refresh`,
    proxy_include_connection_meta: true,
    client_expired_close_delay: "1s",
  });
  const client = sdk(t, s, "http_stream");
  const onConnected = once<Json>(client, "connected");
  client.connect();
  const ctx = await onConnected;
  client.on("connecting", (e: Json) => connecting.push(e));
  await waitFor(() => connecting.length > 0, "the 3005 reconnect", 8000);
  assertEquals(connecting[0].code, 3005);
  assertEquals(refreshes, 2);
  assertEquals(reconnectsBeforeSecondRefresh, 0, "the first refresh kept the connection past its expiry");
  assertEquals(backend.to("/refresh")[0].body, {
    client: ctx.client,
    transport: "http_stream",
    protocol: "json",
    encoding: "json",
    user: "r1",
    meta: { plan: "gold" },
  });
  await waitFor(() => client.state === "connected" && connects === 2, "the reconnect through the proxy");
});

test("refresh proxy: a backend that fails gives the connection one more minute (Centrifugo's), not a quick retry", async (t) => {
  // The server's clock moves when the test says: to the expiry, then past it and the close delay.
  const clock = new ManualClock();
  let refreshes = 0;
  const backend = await startBackend(t, (c) => {
    if (c.path === "/connect") return { result: { user: "r2", expire_at: clock.seconds() + 1 } };
    refreshes++;
    return new Response("backend down", { status: 500 });
  });
  const s = await startServer(
    t,
    {
      proxy_connect_endpoint: `${backend.url}/connect`,
      proxy_refresh_endpoint: `${backend.url}/refresh`,
      client_expired_close_delay: "1s",
    },
    [],
    { now: clock.now },
  );
  const client = sdk(t, s, "http_stream");
  const onConnected = once<Json>(client, "connected");
  client.connect();
  await onConnected;
  const disconnected = collect(client, "disconnected"), reconnecting = collect(client, "connecting");
  assertEquals(refreshes, 0, "not before the expiry");
  clock.advance(1000, s.node.timers);
  await waitFor(() => refreshes === 1, "the refresh call", 5000);
  await waitFor(
    () => ((s.node.hub.userConnections("r2")[0] as Client | undefined)?.expireAt ?? 0) > clock.seconds() + 30,
    "the connection's expiry moved on",
  );
  // Past the expiry and the close delay, well short of a minute (and of the next ping, which
  // the SDK could not answer in no time).
  clock.advance(3000, s.node.timers);
  await fence(s, client, "r2");
  assertEquals([disconnected, reconnecting], [[], []]);
  assertEquals(client.state, "connected", "the connection lives on");
  assertEquals(refreshes, 1, "asked again only after the minute");
  assert(
    s.logs.some((l) => l.includes("refresh proxy failed; the connection lives one more minute")),
    "the log says so",
  );
});

test("refresh proxy: no result, or a result without expire_at, expires the connection; no refresh push", async (t) => {
  const backend = await startBackend(t, (c) => {
    if (c.path === "/connect") {
      return { result: { user: "r", expire_at: nowS() + 1, meta: { answer: c.body.data.answer } } };
    }
    const answer = c.body.meta.answer;
    return answer === "extend" ? { result: { expire_at: nowS() + 600 } } : answer;
  });
  const s = await startServer(t, {
    uni_http_stream: true,
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_refresh_endpoint: `${backend.url}/refresh`,
    proxy_include_connection_meta: true,
  });
  const open = async (answer: unknown) => {
    const stream = await openRaw(`${s.url}/connection/uni_http_stream`, {
      method: "POST",
      body: JSON.stringify({ data: { answer } }),
    }, "ndjson");
    t.cleanup(() => stream.close());
    assert((await stream.next() as Json).connect, "connected");
    return stream;
  };
  const [none, bare, extended] = await Promise.all([
    open({}),
    open({ result: { info: { a: 1 } } }),
    open("extend"),
  ]);
  for (const [name, stream] of [["no result", none], ["no expire_at", bare]] as const) {
    assertEquals(await stream.next(4000), { disconnect: { code: 3005, reason: "connection expired" } }, name);
  }
  // Extended: the next message is the disconnect below, no refresh push before it (Centrifugo
  // sends one only for the server API's refresh).
  await waitFor(() => backend.to("/refresh").length === 3, "three refreshes", 4000);
  await s.apiJson("disconnect", { user: "r", disconnect: { code: 4999, reason: "done" } });
  assertEquals(await extended.next(), { disconnect: { code: 4999, reason: "done" } });
  assertEquals(hookFailures(s.logs, "onRefresh"), []);
});

// ------------------------------------------------------------------ subscribe, publish, rpc, sub refresh

const channelConfig = {
  namespaces: [
    { name: "sp", proxy_subscribe: true, presence: true },
    { name: "open", allow_subscribe_for_client: true },
    {
      name: "pp",
      proxy_publish: true,
      allow_subscribe_for_client: true,
      history_size: 10,
      history_ttl: "60s",
    },
    { name: "sr", proxy_subscribe: true, proxy_sub_refresh: true },
  ],
};

test("subscribe proxy: allows with data and info, denies with a custom error, skips other namespaces", async (t) => {
  const backend = await startBackend(
    t,
    (c) =>
      c.body.channel === "sp:no"
        ? { error: { code: 1003, message: "not for you" } }
        : { result: { data: { welcome: c.body.user, asked: c.body.data }, info: { role: "admin" } } },
  );
  const s = await startServer(t, { ...channelConfig, proxy_subscribe_endpoint: `${backend.url}/subscribe` });
  const client = sdk(t, s, "sse", { token: await userToken("u1") });
  await connected(client);
  const ok = client.newSubscription("sp:ok", { data: { want: 1 } });
  const ctx = await subscribed(ok) as Json;
  assertEquals(ctx.data, { welcome: "u1", asked: { want: 1 } });
  const call = backend.calls[0];
  assertMatch(call.body, {
    transport: "sse",
    protocol: "json",
    encoding: "json",
    user: "u1",
    channel: "sp:ok",
    data: { want: 1 },
  });
  assertEquals(call.body.meta, undefined, "meta only with proxy_include_connection_meta");
  const presence: Json = await s.apiJson("presence", { channel: "sp:ok" });
  assertMatch(Object.values(presence.result.presence)[0] as Json, {
    user: "u1",
    chan_info: { role: "admin" },
  });

  const no = client.newSubscription("sp:no");
  const unsubscribed = once<Json>(no, "unsubscribed");
  no.subscribe();
  assertMatch(await unsubscribed, { code: 1003, reason: "not for you" });

  await subscribed(client.newSubscription("open:x"));
  assertEquals(backend.calls.map((c) => c.body.channel), ["sp:ok", "sp:no"]);
});

test("publish proxy: rewrites data, accepts {} unchanged, refuses with a custom error", async (t) => {
  const backend = await startBackend(t, (c) => {
    if (c.body.data?.bad) return { error: { code: 1001, message: "rejected" } };
    if (c.body.data?.keep) return { result: {} };
    return { result: { data: { text: String(c.body.data.text).toUpperCase(), by: c.body.user } } };
  });
  const s = await startServer(t, { ...channelConfig, proxy_publish_endpoint: `${backend.url}/publish` });
  const client = sdk(t, s, "http_stream", { token: await userToken("pub") });
  await connected(client);
  const sub = client.newSubscription("pp:chat");
  const pubs = collect<Json>(sub, "publication");
  await subscribed(sub);
  await sub.publish({ text: "hi" });
  await sub.publish({ keep: true });
  await waitFor(() => pubs.length === 2, "two publications");
  assertEquals(pubs.map((p) => p.data), [{ text: "HI", by: "pub" }, { keep: true }]);
  assertMatch(backend.calls[0].body, {
    user: "pub",
    channel: "pp:chat",
    data: { text: "hi" },
    transport: "http_stream",
  });
  const err = await assertRejects(() => sub.publish({ bad: true })) as Json;
  assertMatch(err, { code: 1001, message: "rejected" });
  assertEquals(pubs.length, 2);
  // A namespace without proxy_publish is not proxied (and here not publishable).
  await subscribed(client.newSubscription("open:y"));
  assertEquals(await codeOf(client.publish("open:y", { x: 1 })), 103);
  assertEquals(backend.calls.length, 3);
});

test("rpc proxy: returns the backend's data to client.rpc(), honours error answers", async (t) => {
  const backend = await startBackend(
    t,
    (c) =>
      c.body.method === "fail"
        ? { error: { code: 1002, message: "rpc refused", temporary: true } }
        : { result: { data: { method: c.body.method, got: c.body.data } } },
  );
  const s = await startServer(t, {
    proxy_rpc_endpoint: `${backend.url}/rpc`,
    proxy_include_connection_meta: true,
  });
  const client = sdk(t, s, "sse", { token: await userToken("caller", 3600, { meta: { tier: 2 } }) });
  await connected(client);
  const res = await client.rpc("getUser", { id: 7 });
  assertEquals(res.data, { method: "getUser", got: { id: 7 } });
  assertMatch(backend.calls[0].body, {
    transport: "sse",
    protocol: "json",
    encoding: "json",
    user: "caller",
    method: "getUser",
    data: { id: 7 },
    meta: { tier: 2 },
  });
  const err = await assertRejects(() => client.rpc("fail", {})) as Json;
  assertMatch(err, { code: 1002, message: "rpc refused", temporary: true });
});

test("sub refresh proxy: extends a subscription the subscribe proxy gave an expiry", async (t) => {
  let subRefreshes = 0;
  const backend = await startBackend(t, (c) => {
    if (c.path === "/subscribe") return { result: { expire_at: nowS() + 2 } };
    subRefreshes++;
    return { result: { expire_at: subRefreshes === 1 ? nowS() + 2 : 0, info: { n: subRefreshes } } };
  });
  const s = await startServer(t, {
    ...channelConfig,
    proxy_subscribe_endpoint: `${backend.url}/subscribe`,
    proxy_sub_refresh_endpoint: `${backend.url}/sub_refresh`,
  });
  const client = sdk(t, s, "http_stream", { token: await userToken("sr-user") });
  await connected(client);
  const sub = client.newSubscription("sr:room");
  const ctx = await subscribed(sub) as Json;
  const unsubscribed = collect<Json>(sub, "unsubscribed");
  const resubscribing = collect<Json>(sub, "subscribing");
  assert(!ctx.expires, "the server refreshes this subscription, not the SDK");
  await waitFor(() => subRefreshes === 2, "two sub refreshes", 8000);
  const call = backend.to("/sub_refresh")[0];
  assertMatch(call.body, { user: "sr-user", channel: "sr:room", transport: "http_stream", protocol: "json" });
  assertEquals(call.body.data, undefined);
  assertEquals(sub.state, "subscribed");
  assertEquals([unsubscribed.length, resubscribing.length], [0, 0]);
});

test("subscribe, publish and rpc: no result allows, publishes as sent, answers no data; any error code passes", async (t) => {
  const backend = await startBackend(t, (c) => c.body.data?.answer ?? {});
  const server = await createTestServer({
    plugins: [[connectProxy, {}]],
    config: {
      ...channelConfig,
      proxy_subscribe_endpoint: `${backend.url}/subscribe`,
      proxy_publish_endpoint: `${backend.url}/publish`,
      proxy_rpc_endpoint: `${backend.url}/rpc`,
    },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ token: await token({ sub: "e" }, { secret: "test-secret" }) });
  t.cleanup(() => client.close());
  await client.subscribe("sp:empty");
  await client.subscribe("pp:chat");
  await client.publish("pp:chat", { text: "as sent" });
  await client.waitForPush((p) => p.channel === "pp:chat");
  assertEquals(client.publications("pp:chat"), [{ text: "as sent" }]);
  assertEquals(await client.rpc("m", {}), undefined);
  const refused = (code: number) => (e: unknown) =>
    e instanceof ClientError && e.code === code && !e.temporary;
  const no = (code: number) => ({ answer: { error: { code, message: "no" } } });
  await assertRejects(() => client.subscribe("sp:x", { data: no(4403) }), refused(4403), "subscribe");
  await assertRejects(() => client.publish("pp:chat", no(4404)), refused(4404), "publish");
  await assertRejects(() => client.rpc("m", no(4405)), refused(4405), "rpc");
  for (const hook of ["onSubscribe", "onPublish", "onRpc"]) {
    assertEquals(hookFailures(server.logs, hook), [], hook);
  }
});

test("subscribe proxy: an expiry in a namespace without proxy_sub_refresh is the SDK's to refresh", async (t) => {
  const backend = await startBackend(t, () => ({ result: { expire_at: nowS() + 600 } }));
  const server = await createTestServer({
    plugins: [[connectProxy, {}]],
    config: {
      ...channelConfig,
      proxy_subscribe_endpoint: `${backend.url}/subscribe`,
      proxy_sub_refresh_endpoint: `${backend.url}/sub_refresh`,
    },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ token: await token({ sub: "x" }, { secret: "test-secret" }) });
  t.cleanup(() => client.close());
  // sp: subscribe proxy only — the reply tells the SDK when to come with a token, as Centrifugo's
  const own = await client.subscribe("sp:a");
  assertEquals(own.expires, true);
  assert(Number(own.ttl) > 590 && Number(own.ttl) <= 600, `ttl ${own.ttl}`);
  // sr: the sub_refresh proxy refreshes it on the server: nothing for the SDK to do
  const server_refreshed = await client.subscribe("sr:a");
  assertEquals([server_refreshed.expires, server_refreshed.ttl], [undefined, undefined]);
});

// ------------------------------------------------------------------ garbage from the backend (no sockets)

test("subscribe, publish and rpc answers of the wrong shape are 100 with a log line", async (t) => {
  const backend = await startBackend(t, (c) => {
    switch (c.path) {
      case "/subscribe":
        return { result: { expire_at: "soon" } };
      case "/publish":
        return { result: { skip_history: "yes" } };
      default:
        return { result: [] };
    }
  });
  const server = await createTestServer({
    plugins: [[connectProxy, {}]],
    config: {
      ...channelConfig,
      proxy_subscribe_endpoint: `${backend.url}/subscribe`,
      proxy_publish_endpoint: `${backend.url}/publish`,
      proxy_rpc_endpoint: `${backend.url}/rpc`,
    },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ token: await token({ sub: "g" }, { secret: "test-secret" }) });
  t.cleanup(() => client.close());
  const internal = (e: unknown) => e instanceof ClientError && e.code === 100 && e.temporary;
  await assertRejects(() => client.subscribe("sp:x"), internal, "subscribe");
  await assertRejects(() => client.publish("pp:x", { a: 1 }), internal, "publish");
  await assertRejects(() => client.rpc("m", {}), internal, "rpc");
  for (
    const [hook, text] of [["onSubscribe", "expire_at"], ["onPublish", "skip_history"], ["onRpc", "result"]]
  ) {
    const logged = hookFailures(server.logs, hook);
    assertEquals(logged.length, 1, hook);
    assert(String(logged[0].err).includes(text), `${hook}: ${logged[0].err}`);
  }
});

test("a proxy_publish namespace without a publish endpoint refuses publishes (108)", async (t) => {
  const backend = await startBackend(t, () => ({ result: { user: "x" } }));
  const server = await createTestServer({
    plugins: [[connectProxy, {}]],
    config: { ...channelConfig, proxy_connect_endpoint: `${backend.url}/connect` },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({});
  t.cleanup(() => client.close());
  await assertRejects(() => client.publish("pp:x", { a: 1 }), (e) => (e as ClientError).code === 108);
  await assertRejects(() => client.subscribe("sp:x"), (e) => (e as ClientError).code === 108);
  assertEquals(backend.calls.length, 1);
});

// ------------------------------------------------------------------ loading

test("loading: proxy_* keys alone enable the plugin; options override them; unknown options fail", async (t) => {
  const { config } = loadConfig({ file: { proxy_rpc_endpoint: "http://127.0.0.1:1/rpc" } });
  const entries = pluginEntries(config);
  assertEquals(entries.map(([name]) => name), ["connect_proxy"]);
  assertMatch(entries[0][1] as Record<string, unknown>, {
    rpc_endpoint: "http://127.0.0.1:1/rpc",
    connect_endpoint: "",
    rpc_timeout: "1000ms",
  });
  const loaded = await loadPlugins(pluginEntries(config), {
    pluginsDir: config.plugins_dir,
    shipped: shippedPlugins,
  });
  assertEquals(loaded.map((l) => l.plugin.name), ["connect_proxy"]);
  await assertRejects(
    () =>
      loadPlugins([["connect_proxy", { conect_endpoint: "http://x" }]], {
        pluginsDir: "./plugins",
        shipped: shippedPlugins,
      }),
    (e) => String((e as Error).message).includes('unknown option "conect_endpoint"'),
  );
  await assertRejects(
    () =>
      loadPlugins([["connect_proxy", { timeout: "soon" }]], {
        pluginsDir: "./plugins",
        shipped: shippedPlugins,
      }),
    (e) => String((e as Error).message).includes("plugins.connect_proxy.timeout"),
  );

  // Options mapped from the keys: only configured proxies get hooks.
  const pruned = connectProxy(connectProxyOptions(config));
  assertEquals(typeof pruned.onRpc, "function");
  assertEquals(typeof pruned.onConnecting, "function");
  assertEquals([pruned.onSubscribe, pruned.onPublish], [undefined, undefined]);

  const fromConfig = await startBackend(t, () => ({ result: { user: "config" } }));
  const fromOptions = await startBackend(t, () => ({ result: { user: "options" } }));
  const server = await createTestServer({
    plugins: [[connectProxy, { endpoint: `${fromOptions.url}/connect`, timeout: "2s" }]],
    config: { proxy_connect_endpoint: `${fromConfig.url}/connect` },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ headers: { cookie: "a=b" } });
  t.cleanup(() => client.close());
  assertEquals(fromConfig.calls.length, 0);
  assertEquals(fromOptions.calls.length, 1);
  assertEquals(server.server.node.hub.userConnections("options").length, 1);
  await assertRejects(
    () => server.connect({ token: "not-a-jwt" }),
    (e) => e instanceof TestConnectError,
    "a token still goes to JWT verification",
  );
  assertEquals(fromOptions.calls.length, 1);
});
