/**
 * Proxies to the application backend (the `proxy` profile): what each server asks the backend
 * (the request bodies are compared too) and what it makes of each answer — connect results,
 * errors and disconnects, malformed answers and a broken backend; subscribe, publish and RPC
 * proxies. The backend answers what the client's data tells it to (proxy_backend.ts).
 */
import { perTransport } from "../scenario.ts";
import type { Session, Transcript } from "../session.ts";
import { ALL_TRANSPORTS, BIDI, type Conn, isUni, JSON_BIDI, type TransportName } from "../transports.ts";

const proxied = { profile: "proxy" };
/** An expiry ten minutes from when the suite started: the same in every target's run. */
const EXPIRE_AT = Math.floor(Date.now() / 1000) + 600;

/** Connects through the connect proxy with the backend told to answer `answer`. */
async function connectVia(s: Session, t: TransportName, answer: unknown) {
  const c = await s.connect(t, { data: { run: s.runId, answer } }, { wait: false });
  await c.until(() => c.received.length > 0 || c.closeInfo, "an answer", 4000);
  await c.settle(200);
  s.recordProxyRequests();
  return c;
}

perTransport(ALL_TRANSPORTS, "connect proxy: a user with info and data", async (s, t) => {
  await connectVia(s, t, {
    result: { user: s.user("alice"), info: { name: "Alice" }, data: { greeting: "hi" } },
  });
}, proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: server-side channels and expire_at", async (s, t) => {
  await connectVia(s, t, {
    result: {
      user: s.user("alice"),
      channels: [s.ch("open:feed"), s.ch("plain")],
      expire_at: EXPIRE_AT,
    },
  });
}, proxied);

perTransport(BIDI, "connect proxy: subs with options", async (s, t) => {
  await connectVia(s, t, {
    result: {
      user: s.user("alice"),
      subs: { [s.ch("open:feed")]: { override: { presence: { value: false } } } },
    },
  });
}, proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: an anonymous user", async (s, t) => {
  await connectVia(s, t, { result: { user: "" } });
}, proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: an error", async (s, t) => {
  await connectVia(s, t, { error: { code: 4000, message: "go away" } });
}, (t) => isUni(t) ? { ...proxied, differs: "uni-connect-error-terminal" } : proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: a temporary error of the application's own", async (s, t) => {
  await connectVia(s, t, { error: { code: 4000, message: "later", temporary: true } });
}, proxied);

perTransport(BIDI, "connect proxy: an error without a message", async (s, t) => {
  await connectVia(s, t, { error: { code: 4000 } });
}, proxied);

perTransport(JSON_BIDI, "connect proxy: an error whose code is not a code", async (s, t) => {
  await connectVia(s, t, { error: { code: -1, message: "negative" } });
}, proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: an error of Centrifugo's codes", async (s, t) => {
  await connectVia(s, t, { error: { code: 103, message: "permission denied" } });
}, proxied);

perTransport(ALL_TRANSPORTS, "connect proxy: a disconnect", async (s, t) => {
  await connectVia(s, t, { disconnect: { code: 4501, reason: "banned" } });
}, proxied);

perTransport(JSON_BIDI, "connect proxy: the backend is down (500)", async (s, t) => {
  await connectVia(s, t, "http 500");
}, proxied);

perTransport(JSON_BIDI, "connect proxy: an answer that is not JSON", async (s, t) => {
  await connectVia(s, t, "not json");
}, proxied);

perTransport(JSON_BIDI, "connect proxy: the backend is too slow", async (s, t) => {
  await connectVia(s, t, "slow");
}, proxied);

// No result: no credentials, as for a client without a token (3501 here, where anonymous
// connections are not allowed).
perTransport(
  ALL_TRANSPORTS,
  "connect proxy: an answer with none of result, error, disconnect",
  async (s, t) => {
    await connectVia(s, t, {});
  },
  proxied,
);

perTransport(JSON_BIDI, "connect proxy: a null result", async (s, t) => {
  await connectVia(s, t, { result: null });
}, proxied);

perTransport(BIDI, "connect proxy: a token still goes to the token check", async (s, t) => {
  await s.connect(t, { token: await s.userToken("alice"), data: { run: s.runId } });
  s.recordProxyRequests();
}, proxied);

perTransport(JSON_BIDI, "connect proxy: name, version and headers reach the backend", async (s, t) => {
  const c = await s.connect(t, {
    data: { run: s.runId, answer: { result: { user: s.user("alice") } } },
    name: "differential",
    version: "9.9.9",
    headers: { "x-custom": "from-sdk" },
  });
  await c.settle(200);
  s.recordProxyRequests();
}, proxied);

// ---------------------------------------------------------------- subscribe, publish, RPC

/** Connected through the proxy as alice. */
async function alice(s: Session, t: TransportName) {
  return await s.connect(t, { data: { run: s.runId, answer: { result: { user: s.user("alice") } } } });
}

perTransport(BIDI, "subscribe proxy: allowed with info and data", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    subscribe: {
      channel: s.ch("px:room"),
      data: { answer: { result: { info: { role: "guest" }, data: { welcome: true } } } },
    },
  });
  await c.call({ id: 3, presence: { channel: s.ch("px:room") } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "subscribe proxy: refused with an error", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    subscribe: {
      channel: s.ch("px:room"),
      data: { answer: { error: { code: 4003, message: "not yours" } } },
    },
  });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "subscribe proxy: a disconnect", async (s, t) => {
  const c = await alice(s, t);
  c.send([{
    id: 2,
    subscribe: { channel: s.ch("px:room"), data: { answer: { disconnect: { code: 4502, reason: "out" } } } },
  }]);
  await c.end(3000);
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "subscribe proxy: the backend is down", async (s, t) => {
  const c = await alice(s, t);
  await c.call({ id: 2, subscribe: { channel: s.ch("px:room"), data: { answer: "http 500" } } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "publish proxy: data replaced by the backend", async (s, t) => {
  const c = await alice(s, t);
  await c.call({ id: 2, subscribe: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.call({
    id: 3,
    publish: {
      channel: s.ch("px:room"),
      data: { text: "raw", answer: { result: { data: { text: "clean" } } } },
    },
  });
  await c.next((m) => !!(m.push as { pub?: unknown } | undefined)?.pub, "publication");
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "publish proxy: kept as sent", async (s, t) => {
  const c = await alice(s, t);
  await c.call({ id: 2, subscribe: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.call({
    id: 3,
    publish: { channel: s.ch("px:room"), data: { text: "as is", answer: { result: {} } } },
  });
  await c.next((m) => !!(m.push as { pub?: unknown } | undefined)?.pub, "publication");
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "publish proxy: refused", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    publish: { channel: s.ch("px:room"), data: { answer: { error: { code: 4004, message: "no" } } } },
  });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: an answer", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    rpc: { method: "echo", data: { run: s.runId, answer: { result: { data: { pong: 1 } } } } },
  });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: an error", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    rpc: { method: "fail", data: { run: s.runId, answer: { error: { code: 4005, message: "rpc no" } } } },
  });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: the backend is down", async (s, t) => {
  const c = await alice(s, t);
  await c.call({ id: 2, rpc: { method: "x", data: { run: s.runId, answer: "http 500" } } });
  s.recordProxyRequests();
}, proxied);

// ---------------------------------------------------------------- headers, meta, the user

/** Expiry times and TTLs depend on when each server ran: kept only as present. */
function timeless(t: Transcript): Transcript {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = (k === "expire_at" || k === "ttl") && typeof x === "number" ? `<${k}>` : walk(x);
    }
    return out;
  };
  return walk(t) as Transcript;
}

/** Unix seconds `n` from now. */
const inSeconds = (n: number) => Math.floor(Date.now() / 1000) + n;

// Each proxy forwards what its own http_headers (the connection's request headers) and
// emulated_headers (the SDK's `headers` in connect) allow: connect takes Authorization from the
// request and X-Custom from emulation, RPC the other way round, subscribe X-Custom from the
// request only, publish neither.
perTransport(JSON_BIDI, "proxies: each forwards the headers it is configured for", async (s, t) => {
  const c = await s.connect(t, {
    data: { run: s.runId, answer: { result: { user: s.user("alice") } } },
    headers: { "X-Custom": "emulated", Authorization: "Bearer emulated" },
  }, { headers: { "X-Custom": "transport", Authorization: "Bearer transport" } });
  await c.call({ id: 2, rpc: { method: "m", data: { run: s.runId, answer: { result: {} } } } });
  await c.call({ id: 3, subscribe: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.call({ id: 4, publish: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.settle(200);
  s.recordProxyRequests();
}, proxied);

// The connect answer's meta reaches the proxies configured with include_connection_meta
// (refresh, subscribe, sub_refresh, RPC here), not the others (publish).
perTransport(BIDI, "connect proxy: the meta of the answer reaches later proxy requests", async (s, t) => {
  const c = await s.connect(t, {
    data: { run: s.runId, answer: { result: { user: s.user("alice"), meta: { plan: "gold" } } } },
  });
  await c.call({ id: 2, subscribe: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.call({ id: 3, publish: { channel: s.ch("px:room"), data: { answer: { result: {} } } } });
  await c.call({ id: 4, rpc: { method: "m", data: { run: s.runId, answer: { result: {} } } } });
  await c.settle(200);
  s.recordProxyRequests();
}, proxied);

// An anonymous connection's requests say `"user": ""` (except publish, which leaves it out).
perTransport(BIDI, "proxies: an anonymous connection's requests", async (s, t) => {
  const c = await connectVia(s, t, { result: { user: "" } });
  await c.call({ id: 2, rpc: { method: "m", data: { run: s.runId, answer: { result: {} } } } });
  await c.call({
    id: 3,
    subscribe: { channel: s.ch("px:room"), data: { run: s.runId, answer: { result: {} } } },
  });
  await c.call({
    id: 4,
    publish: { channel: s.ch("px:room"), data: { run: s.runId, answer: { result: {} } } },
  });
  await c.settle(200);
  s.recordProxyRequests();
}, proxied);

// ---------------------------------------------------------------- more subscribe, publish, RPC

/** Subscribes (command `id`) to `channel` with the backend told to answer `answer`. */
function subscribeVia(c: Conn, id: number, channel: string, answer: unknown) {
  return c.call({ id, subscribe: { channel, data: { answer } } });
}

perTransport(BIDI, "subscribe proxy: an answer with no result allows", async (s, t) => {
  const c = await alice(s, t);
  await subscribeVia(c, 2, s.ch("px:room"), {});
  await c.call({ id: 3, presence: { channel: s.ch("px:room") } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "subscribe proxy: expire_at and an override", async (s, t) => {
  const c = await alice(s, t);
  await subscribeVia(c, 2, s.ch("px:room"), {
    result: { expire_at: inSeconds(600), override: { presence: { value: false } } },
  });
  await c.call({ id: 3, presence_stats: { channel: s.ch("px:room") } });
  s.recordProxyRequests();
}, { ...proxied, normalize: timeless });

perTransport(BIDI, "subscribe proxy: b64info and b64data", async (s, t) => {
  const c = await alice(s, t);
  await subscribeVia(c, 2, s.ch("px:room"), {
    result: { b64info: btoa(JSON.stringify({ role: "b64" })), b64data: btoa(JSON.stringify({ hi: 64 })) },
  });
  await c.call({ id: 3, presence: { channel: s.ch("px:room") } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "subscribe proxy: a temporary error", async (s, t) => {
  const c = await alice(s, t);
  await subscribeVia(c, 2, s.ch("px:room"), { error: { code: 4003, message: "later", temporary: true } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "publish proxy: an answer with no result publishes as sent", async (s, t) => {
  const c = await alice(s, t);
  await subscribeVia(c, 2, s.ch("px:room"), { result: {} });
  await c.call({ id: 3, publish: { channel: s.ch("px:room"), data: { text: "as is", answer: {} } } });
  await c.next((m) => !!(m.push as { pub?: unknown } | undefined)?.pub, "publication");
  s.recordProxyRequests();
}, proxied);

// The publication with skip_history has no offset: it was not kept.
perTransport(BIDI, "publish proxy: skip_history, tags and b64data", async (s, t) => {
  const c = await alice(s, t);
  const channel = s.ch("pxh:room");
  await subscribeVia(c, 2, channel, { result: {} });
  await c.call({ id: 3, publish: { channel, data: { n: 1, answer: { result: { skip_history: true } } } } });
  await c.call({
    id: 4,
    publish: { channel, data: { n: 2, answer: { result: { tags: { kind: "second" } } } } },
  });
  await c.call({
    id: 5,
    publish: { channel, data: { n: 3, answer: { result: { b64data: btoa(JSON.stringify({ n: "b64" })) } } } },
  });
  await c.until(
    () => c.received.filter((m) => (m.push as { pub?: unknown } | undefined)?.pub).length >= 3,
    "3 pubs",
  );
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: an answer with no result", async (s, t) => {
  const c = await alice(s, t);
  await c.call({ id: 2, rpc: { method: "empty", data: { run: s.runId, answer: {} } } });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: b64data", async (s, t) => {
  const c = await alice(s, t);
  await c.call({
    id: 2,
    rpc: { method: "b64", data: { run: s.runId, answer: { result: { b64data: btoa('{"pong":64}') } } } },
  });
  s.recordProxyRequests();
}, proxied);

perTransport(BIDI, "rpc proxy: a disconnect", async (s, t) => {
  const c = await alice(s, t);
  c.send([{
    id: 2,
    rpc: { method: "bye", data: { run: s.runId, answer: { disconnect: { code: 4503, reason: "rpc bye" } } } },
  }]);
  await c.end(3000);
  s.recordProxyRequests();
}, proxied);

// ---------------------------------------------------------------- refresh

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connects through the proxy with a connection that expires in 1–2 s, whose meta tells the
 * backend what to answer the refresh proxy; waits past the refresh.
 */
async function refreshed(s: Session, t: TransportName, answer: unknown) {
  const c = await connectVia(s, t, {
    result: { user: s.user("alice"), expire_at: inSeconds(2), meta: { answer } },
  });
  await sleep(3000);
  await c.settle(200);
  s.recordProxyRequests();
}

perTransport(ALL_TRANSPORTS, "refresh proxy: a new expire_at and info", async (s, t) => {
  await refreshed(s, t, { result: { expire_at: inSeconds(600), info: { refreshed: true } } });
}, { ...proxied, normalize: timeless });

const SOME: TransportName[] = ["websocket", "uni_sse"];

perTransport(SOME, "refresh proxy: expired", async (s, t) => {
  await refreshed(s, t, { result: { expired: true } });
}, { ...proxied, normalize: timeless });

perTransport(SOME, "refresh proxy: a result without expire_at", async (s, t) => {
  await refreshed(s, t, { result: { info: { refreshed: true } } });
}, { ...proxied, normalize: timeless });

perTransport(SOME, "refresh proxy: an answer with no result", async (s, t) => {
  await refreshed(s, t, {});
}, { ...proxied, normalize: timeless });

perTransport(SOME, "refresh proxy: an error", async (s, t) => {
  await refreshed(s, t, { error: { code: 4000, message: "no" } });
}, { ...proxied, normalize: timeless });

// Centrifugo asks again in a minute, Sluice sooner: either way the connection stays.
perTransport(SOME, "refresh proxy: the backend is down", async (s, t) => {
  await refreshed(s, t, "http 500");
}, { ...proxied, normalize: timeless });

// ---------------------------------------------------------------- sub_refresh

/**
 * Subscribes to a `pxr` channel whose subscription expires in 1–2 s; the connection's meta tells
 * the backend what to answer the sub_refresh proxy. Waits past the refresh (Centrifugo asks on
 * its presence tick after expired_sub_close_delay).
 */
async function subRefreshed(s: Session, t: TransportName, answer: unknown) {
  const c = await s.connect(t, {
    data: { run: s.runId, answer: { result: { user: s.user("alice"), meta: { answer } } } },
  });
  await subscribeVia(c, 2, s.ch("pxr:room"), { result: { expire_at: inSeconds(2) } });
  await sleep(5000);
  await c.settle(200);
  s.recordProxyRequests();
}

perTransport(BIDI, "sub_refresh proxy: a new expire_at and info", async (s, t) => {
  await subRefreshed(s, t, { result: { expire_at: inSeconds(600), info: { refreshed: true } } });
}, { ...proxied, normalize: timeless });

perTransport(BIDI, "sub_refresh proxy: expired", async (s, t) => {
  await subRefreshed(s, t, { result: { expired: true } });
}, { ...proxied, normalize: timeless });

perTransport(["websocket"], "sub_refresh proxy: a result without expire_at", async (s, t) => {
  await subRefreshed(s, t, { result: {} });
}, { ...proxied, normalize: timeless });

perTransport(["websocket"], "sub_refresh proxy: an answer with no result", async (s, t) => {
  await subRefreshed(s, t, {});
}, { ...proxied, normalize: timeless });

perTransport(["websocket"], "sub_refresh proxy: an error", async (s, t) => {
  await subRefreshed(s, t, { error: { code: 4000, message: "no" } });
}, { ...proxied, normalize: timeless });

perTransport(["websocket"], "sub_refresh proxy: the backend is down", async (s, t) => {
  await subRefreshed(s, t, "http 500");
}, { ...proxied, normalize: timeless });
