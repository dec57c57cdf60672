/**
 * Proxies to the application backend (the `proxy` profile): what each server asks the backend
 * (the request bodies are compared too) and what it makes of each answer — connect results,
 * errors and disconnects, malformed answers and a broken backend; subscribe, publish and RPC
 * proxies. The backend answers what the client's data tells it to (proxy_backend.ts).
 */
import { perTransport } from "../scenario.ts";
import type { Session } from "../session.ts";
import { ALL_TRANSPORTS, BIDI, JSON_BIDI, type TransportName } from "../transports.ts";

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

perTransport(JSON_BIDI, "connect proxy: an answer with none of result, error, disconnect", async (s, t) => {
  await connectVia(s, t, {});
}, { ...proxied, differs: "proxy-empty-answer" });

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
