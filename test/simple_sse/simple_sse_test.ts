/**
 * Drop-in mode for the "Simple SSE Server": `/events/` on the client listener, `/token/` and
 * `/emit/` on the control listener, routing by (channel, userId) with `*` for everyone — read by
 * real HTTP clients (fetch streams and the `eventsource` package).
 */
import { afterAll, test, type TestContext } from "../harness.ts";
import { assert, assertEquals, sleep, waitFor } from "../assert.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { createServer } from "../../src/server.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import { createLogger } from "../../src/log.ts";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { type RedisServer, startRedis } from "../helpers/redis.mjs";
import { startServer } from "../helpers/server.ts";
import { connected, sdk, subscribed } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { rawSocket } from "../helpers/raw.ts";
import redisBroker from "../../plugins/redis_broker/plugin.ts";
import type { Plugin } from "../../src/plugin_api/types.ts";

const SECRET = "MySuperPassword42";

interface SimpleNode {
  client: string;
  control: string;
  logs: string[];
  token(userId: string, channel: string, exp?: string | number): Promise<Response>;
  emit(fields: Record<string, string>): Promise<Response>;
}

async function startSimple(
  t: TestContext,
  extra: Record<string, unknown> = {},
  plugins: Plugin[] = [],
): Promise<SimpleNode> {
  const runtime = await getRuntime();
  const { config } = loadConfig({ file: { simple_sse: true, simple_sse_secret: SECRET, ...extra } });
  const logs: string[] = [];
  const server = createServer(config, {
    logger: createLogger({ level: "debug", format: "json", write: (l) => logs.push(l) }),
    plugins,
  });
  await server.start();
  const main = await runtime.listen({ port: 0, hostname: "127.0.0.1", handler: server.fetch });
  const ctl = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: (req) => server.controlFetch!(req),
  });
  t.cleanup(async () => {
    await server.close();
    await Promise.all([main.close(true), ctl.close(true)]);
  });
  const control = `http://127.0.0.1:${ctl.port}`;
  const form = (fields: Record<string, string>) => ({
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  return {
    client: `http://127.0.0.1:${main.port}`,
    control,
    logs,
    token: (userId, channel, exp = 3600) =>
      fetch(`${control}/token/`, form({ userId, channel, exp: String(exp) })),
    emit: (fields) => fetch(`${control}/emit/`, form(fields)),
  };
}

/** Reads an `/events/` stream's text as it arrives; `ended()` turns true when the server ends it. */
async function openEvents(t: TestContext, url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  let text = "";
  let ended = false;
  if (res.status === 200) {
    (async () => {
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += dec.decode(value, { stream: true });
        }
        ended = true;
      } catch {
        // aborted
      }
    })();
  }
  t.cleanup(() => ac.abort());
  return { res, text: () => text, ended: () => ended, close: () => ac.abort() };
}

test("token from /token/, events to the matching user, * to everyone, other channels untouched", async (t) => {
  const s = await startSimple(t);
  const tokenRes = await s.token("42", "chat");
  assertEquals(tokenRes.status, 200);
  const tok42 = await tokenRes.text();
  const tok7 = await (await s.token("7", "chat")).text();
  const tokOther = await (await s.token("42", "other")).text();
  const u42 = await openEvents(t, `${s.client}/events/`, { Authorization: `Bearer ${tok42}` });
  const u7 = await openEvents(t, `${s.client}/events/`, { Authorization: `bearer ${tok7}` });
  const other = await openEvents(t, `${s.client}/events/`, { Authorization: `Bearer ${tokOther}` });
  assertEquals(u42.res.status, 200);
  assertEquals(u42.res.headers.get("content-type"), "text/event-stream");
  await waitFor(
    () => u42.text().includes(": ok") && u7.text().includes(": ok") && other.text().includes(": ok"),
    "streams open",
  );
  assertEquals(
    (await s.emit({ userId: "42", channel: "chat", payload: 'event: message\ndata: {"to":42}\n' })).status,
    200,
  );
  assertEquals(
    await (await s.emit({ userId: "*", channel: "chat", payload: "data: everyone\n" })).text(),
    "OK",
  );
  await s.emit({ userId: "7", channel: "chat", payload: "data: only7\n" });
  // A fence on each channel: anything else for these streams would have come before it.
  await s.emit({ userId: "*", channel: "chat", payload: "data: fence\n" });
  await s.emit({ userId: "*", channel: "other", payload: "data: fence\n" });
  await waitFor(() => [u42, u7, other].every((u) => u.text().includes("fence")), "the fences");
  assertEquals(
    u42.text(),
    ': ok\n\nevent: message\ndata: {"to":42}\n\ndata: everyone\n\ndata: fence\n\n',
    "payload verbatim + newline",
  );
  assertEquals(u7.text(), ": ok\n\ndata: everyone\n\ndata: only7\n\ndata: fence\n\n");
  assertEquals(other.text(), ": ok\n\ndata: fence\n\n", "another channel hears nothing");
});

test("EventSource clients: token in the query string, or in a cookie", async (t) => {
  const s = await startSimple(t);
  const tok = await (await s.token("alice", "news")).text();
  const viaQuery = new EventSource(`${s.client}/events/?token=${encodeURIComponent(tok)}`);
  t.cleanup(() => viaQuery.close());
  const viaCookie = new EventSource(`${s.client}/events/`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init?.headers, Cookie: `sse_token=${tok}` } }),
  });
  t.cleanup(() => viaCookie.close());
  const got: Record<string, string[]> = { query: [], cookie: [] };
  viaQuery.addEventListener("headline", (e) => got.query.push((e as MessageEvent).data));
  viaCookie.addEventListener("headline", (e) => got.cookie.push((e as MessageEvent).data));
  await waitFor(() => viaQuery.readyState === 1 && viaCookie.readyState === 1, "both open");
  await s.emit({
    userId: "alice",
    channel: "news",
    payload: 'event: headline\ndata: {"title":"Sluice ships"}\n',
  });
  await waitFor(() => got.query.length === 1 && got.cookie.length === 1, "both deliveries");
  assertEquals(JSON.parse(got.query[0]), { title: "Sluice ships" });
  assert(!s.logs.some((l) => l.includes(tok)), "tokens never reach the logs");
});

test("exp as a string is accepted; expired, missing, exp-less and forged tokens are 401 with a reason", async (t) => {
  const s = await startSimple(t);
  const key = new TextEncoder().encode(SECRET);
  const sign = (claims: Record<string, unknown>, key2 = key) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(key2);
  const inAnHour = String(Math.floor(Date.now() / 1000) + 3600);
  const stringExp = await openEvents(t, `${s.client}/events/`, {
    Authorization: `Bearer ${await sign({ userId: "1", channel: "c", exp: inAnHour })}`,
  });
  assertEquals(stringExp.res.status, 200);
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /no token/],
    [{ Authorization: "Bearer not-a-jwt" }, /invalid token/],
    [{ Authorization: `Bearer ${await sign({ userId: "1", channel: "c", exp: "1000" })}` }, /expired/],
    [{
      Authorization: `Bearer ${await sign({ userId: "1", channel: "c" }, new TextEncoder().encode("wrong"))}`,
    }, /invalid token/],
    [{ Authorization: `Bearer ${await sign({ channel: "c" })}` }, /no userId/],
    [{ Authorization: `Bearer ${await sign({ userId: "1", channel: "c" })}` }, /no exp/],
    [{ Authorization: `Bearer ${await sign({ userId: "1", channel: "c", exp: "soon" })}` }, /not a date/],
  ];
  for (const [headers, reason] of cases) {
    const res = await fetch(`${s.client}/events/`, { headers });
    assertEquals(res.status, 401, JSON.stringify(headers));
    assert(reason.test(await res.text()), `reason for ${JSON.stringify(headers)}`);
  }
});

test("a stream ends when its token expires; its connection is released", async (t) => {
  const s = await startSimple(t);
  const tok = await (await s.token("5", "short", 2)).text();
  const events = await openEvents(t, `${s.client}/events/`, { Authorization: `Bearer ${tok}` });
  assertEquals(events.res.status, 200);
  await waitFor(() => events.text().includes(": ok"), "stream open");
  const opened = Date.now();
  await waitFor(() => events.ended(), "the stream to end at the token's exp", 6_000);
  assert(Date.now() - opened < 4_500, `ended ${Date.now() - opened} ms after opening`);
  // Reconnecting with the same token is refused now.
  assertEquals(
    (await fetch(`${s.client}/events/`, { headers: { Authorization: `Bearer ${tok}` } })).status,
    401,
  );
});

test("the control port stops reading a body at its 1 MB limit (413), also when chunked", async (t) => {
  const s = await startSimple(t);
  const { sock, received } = await rawSocket(t, Number(new URL(s.control).port));
  sock.write(
    "POST /emit/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
      "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
  );
  const chunk = "x".repeat(64 * 1024);
  let sent = 0;
  // Up to 30 MB, but only as fast as the server takes it: stop as soon as it answers. A full
  // buffer waits for the server to read on (drain), to answer (data) or to hang up (close).
  const progress = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ["drain", "data", "close"]) sock.off(event, done);
        resolve();
      };
      for (const event of ["drain", "data", "close"]) sock.on(event, done);
    });
  while (sent < 30 * 1024 * 1024 && received() === "" && !sock.destroyed) {
    const flushed = sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    sent += chunk.length;
    if (!flushed) await progress();
  }
  await waitFor(() => received().includes("\r\n"), "an answer");
  const answer = received();
  assert(/^HTTP\/1\.1 413/.test(answer), `status line: ${answer.split("\r\n")[0]}`);
  assert(sent < 12 * 1024 * 1024, `answered after ${sent} bytes, not after the whole body`);
});

test("the control port answers 408 to a body that trickles in past http_body_timeout", async (t) => {
  const s = await startSimple(t, { http_body_timeout: "1s" });
  const { sock, received } = await rawSocket(t, Number(new URL(s.control).port));
  const body = "userId=1&channel=c&payload=" + "y".repeat(100);
  sock.write(
    `POST /emit/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n` +
      "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
  );
  const started = Date.now();
  for (let i = 0; i < body.length && received() === "" && Date.now() - started < 5_000; i++) {
    sock.write(body[i]);
    await sleep(100); // trickles the body, a byte every 100 ms: the slowness is what is tested
  }
  const answer = received();
  assert(/^HTTP\/1\.1 408/.test(answer), `got: ${answer.split("\r\n")[0] || "nothing"}`);
  assert(Date.now() - started < 3_000, "answered at the deadline");
});

test("/events/ follows allowed_origins: foreign origins 403, listed ones get CORS", async (t) => {
  const s = await startSimple(t, { allowed_origins: ["https://app.example"] });
  const tok = await (await s.token("1", "c")).text();
  const foreign = await fetch(`${s.client}/events/`, {
    headers: { Authorization: `Bearer ${tok}`, Origin: "https://evil.example" },
  });
  assertEquals(foreign.status, 403);
  await foreign.body?.cancel();
  const preflight = await fetch(`${s.client}/events/`, {
    method: "OPTIONS",
    headers: {
      Origin: "https://app.example",
      "Access-Control-Request-Method": "GET",
      "Access-Control-Request-Headers": "authorization",
    },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-origin"), "https://app.example");
  const listed = await openEvents(t, `${s.client}/events/`, {
    Authorization: `Bearer ${tok}`,
    Origin: "https://app.example",
  });
  assertEquals(listed.res.status, 200);
  assertEquals(listed.res.headers.get("access-control-allow-origin"), "https://app.example");
});

test("wrong methods 405, missing fields 400, and each listener answers only its own paths", async (t) => {
  const s = await startSimple(t);
  const post = (url: string, body: string) =>
    fetch(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
  assertEquals((await fetch(`${s.client}/events/`, { method: "POST" })).status, 405);
  assertEquals((await fetch(`${s.control}/emit/`)).status, 405);
  assertEquals((await fetch(`${s.control}/token/`)).status, 405);
  const missing = await post(`${s.control}/emit/`, "userId=1&channel=c");
  assertEquals(missing.status, 400);
  assert((await missing.text()).includes("payload"));
  assertEquals((await post(`${s.control}/token/`, "userId=1&exp=10")).status, 400);
  assertEquals((await post(`${s.control}/token/`, "userId=1&channel=c&exp=soon")).status, 400);
  assertEquals((await post(`${s.control}/token/`, "userId=1&channel=c&exp=-10")).status, 400);
  assertEquals((await post(`${s.control}/token/`, "userId=1&channel=c&exp=0")).status, 400);
  assertEquals((await post(`${s.control}/token/`, "channel=c&exp=10")).status, 400);
  // multipart forms work like urlencoded ones
  const fd = new FormData();
  for (const [k, v] of Object.entries({ userId: "1", channel: "c", exp: "60" })) fd.set(k, v);
  assertEquals((await fetch(`${s.control}/token/`, { method: "POST", body: fd })).status, 200);
  // the control listener never answers client paths, nor the client listener control paths
  assertEquals((await fetch(`${s.control}/events/`)).status, 404);
  assertEquals((await post(`${s.client}/token/`, "userId=1&channel=c&exp=10")).status, 404);
  assertEquals((await post(`${s.client}/emit/`, "userId=1&channel=c&payload=x")).status, 404);
});

test("one process serves the Simple SSE endpoints and Centrifugo's side by side", async (t) => {
  const s = await startServer(t, {
    simple_sse: true,
    simple_sse_secret: SECRET,
    allow_subscribe_for_client: true,
  });
  const runtime = await getRuntime();
  const ctl = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: (r) => s.server.controlFetch!(r),
  });
  t.cleanup(() => ctl.close(true));
  const control = `http://127.0.0.1:${ctl.port}`;
  const tok = await (await fetch(`${control}/token/`, {
    method: "POST",
    body: new URLSearchParams({ userId: "u", channel: "c", exp: "60" }),
  })).text();
  const events = await openEvents(t, `${s.url}/events/`, { Authorization: `Bearer ${tok}` });
  const client = sdk(t, s, "http_stream", { token: await userToken("sdk-user") });
  await connected(client);
  const pubs: unknown[] = [];
  const sub = client.newSubscription("news");
  sub.on("publication", (ctx) => pubs.push(ctx.data));
  await subscribed(sub);
  await fetch(`${control}/emit/`, {
    method: "POST",
    body: new URLSearchParams({ userId: "*", channel: "c", payload: "data: simple\n" }),
  });
  await s.apiJson("publish", { channel: "news", data: { centrifugo: true } });
  await waitFor(() => events.text().includes("data: simple") && pubs.length === 1, "both kinds of delivery");
});

let redis: Promise<RedisServer> | undefined;
afterAll(async () => await (await redis)?.stop());

test("on Redis, an event emitted through node B reaches a client of node A", async (t) => {
  const server = await (redis ??= startRedis());
  const prefix = `ss${crypto.randomUUID().slice(0, 8)}`;
  const a = await startSimple(t, {}, [redisBroker({ address: server.url, prefix })]);
  const b = await startSimple(t, {}, [redisBroker({ address: server.url, prefix })]);
  const tok = await (await a.token("9", "room")).text();
  const stream = await openEvents(t, `${a.client}/events/`, { Authorization: `Bearer ${tok}` });
  await waitFor(() => stream.text().includes(": ok"), "stream open");
  await b.emit({ userId: "9", channel: "room", payload: "data: via-b\n" });
  await waitFor(() => stream.text().includes("data: via-b"), "cross-node delivery");
});
