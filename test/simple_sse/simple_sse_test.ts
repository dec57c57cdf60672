/**
 * Drop-in mode for the "Simple SSE Server": `/events/` on the client listener, `/token/` and
 * `/emit/` on the control listener, routing by (channel, userId) with `*` for everyone — read by
 * real HTTP clients (fetch streams and the `eventsource` package).
 */
import { afterAll, test, type TestContext } from "../harness.ts";
import { assert, assertEquals, sleep, waitFor } from "../assert.ts";
import { loadConfig } from "../../src/config.ts";
import { createServer } from "../../src/server.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import { createLogger } from "../../src/log.ts";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { type RedisServer, startRedis } from "../helpers/redis.ts";
import { startServer } from "../helpers/server.ts";
import { connected, sdk, subscribed } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import redisBroker from "../../plugins/redis_broker.ts";
import type { Plugin } from "../../src/plugins/types.ts";

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

/** Reads an `/events/` stream's text as it arrives. */
async function openEvents(t: TestContext, url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  let text = "";
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
      } catch {
        // aborted
      }
    })();
  }
  t.cleanup(() => ac.abort());
  return { res, text: () => text, close: () => ac.abort() };
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
  await waitFor(() => u42.text().includes("everyone") && u7.text().includes("only7"), "deliveries");
  await sleep(100);
  assertEquals(
    u42.text(),
    ': ok\n\nevent: message\ndata: {"to":42}\n\ndata: everyone\n\n',
    "payload verbatim + newline",
  );
  assertEquals(u7.text(), ": ok\n\ndata: everyone\n\ndata: only7\n\n");
  assertEquals(other.text(), ": ok\n\n", "another channel hears nothing");
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

test("exp as a string is accepted; expired, missing and forged tokens are 401 with a reason", async (t) => {
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
    [{ Authorization: `Bearer ${await sign({ userId: "1", channel: "c", exp: "soon" })}` }, /not a date/],
  ];
  for (const [headers, reason] of cases) {
    const res = await fetch(`${s.client}/events/`, { headers });
    assertEquals(res.status, 401, JSON.stringify(headers));
    assert(reason.test(await res.text()), `reason for ${JSON.stringify(headers)}`);
  }
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
