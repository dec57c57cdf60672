/**
 * The cookie_session example plugin: connections authenticated by the app's session cookie —
 * with createTestServer, and through a real server with the SDK over http_stream (a fetch that
 * adds the Cookie header) and sse (an EventSource whose fetch adds it).
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertRejects, waitFor } from "../assert.ts";
import { EventSource } from "eventsource";
import type { Centrifuge } from "centrifuge";
import {
  connected,
  EMULATION_TRANSPORTS,
  type EmulationTransport,
  once,
  sdk,
  subscribed,
} from "../helpers/sdk.ts";
import { token, userToken } from "../helpers/tokens.ts";
import type { TestServer as RealServer } from "../helpers/server.ts";
import { startServer } from "../helpers/server.ts";
import { getRuntime } from "../../src/runtime/serve.ts";
import { createTestServer, definePlugin, TestConnectError } from "../../mod.ts";
import type { ClientContext } from "../../mod.ts";
import cookieSession from "../../plugins/examples/cookie_session.ts";

const sessions = {
  abc: { user: "42", info: { name: "Ada" } },
  "Zm9v+L2Jhcg==": { user: "7" }, // base64: URI-encoded in the cookie
};
const testToken = (user: string) => token({ sub: user }, { secret: "test-secret" });
const connectCode = (err: unknown) =>
  err instanceof TestConnectError ? err.code : `not a connect error: ${err}`;

/** Records who connected, as a second plugin would see it. */
function spy() {
  const seen: ClientContext[] = [];
  return { seen, plugin: definePlugin({ name: "spy", onConnect: (e) => void seen.push(e.client) }) };
}

test("createTestServer: the session cookie picks the user; no cookie falls back to the token", async (t) => {
  const { seen, plugin } = spy();
  const server = await createTestServer({ plugins: [cookieSession({ sessions }), plugin] });
  t.cleanup(() => server.close());
  await server.connect({ headers: { cookie: "theme=dark; session=abc" } });
  await waitFor(() => seen.length === 1, "onConnect");
  assertMatch(seen[0], { user: "42", info: { name: "Ada" } });
  await server.connect({ headers: { cookie: `session=${encodeURIComponent("Zm9v+L2Jhcg==")}` } });
  await server.connect({ token: await testToken("from-token"), headers: { cookie: "other=1" } });
  await waitFor(() => seen.length === 3, "onConnect x3");
  assertEquals(seen.map((c) => c.user).sort(), ["42", "7", "from-token"]);
  // neither a cookie nor a token: the core's "no credentials" (3501)
  assertEquals(connectCode(await assertRejects(() => server.connect())), 3501);
});

test("createTestServer: unknown session 4501, malformed cookie 101, a failing lookup 100 + log", async (t) => {
  const server = await createTestServer({ plugins: [cookieSession({ sessions })] });
  t.cleanup(() => server.close());
  const unknown = await assertRejects(() => server.connect({ headers: { cookie: "session=nope" } }));
  assertEquals(connectCode(unknown), 4501);
  assert(String(unknown).includes("bad session"), String(unknown));
  const malformed = await assertRejects(() => server.connect({ headers: { cookie: "session=<script>" } }));
  assertEquals(connectCode(malformed), 101);
  const empty = await assertRejects(() => server.connect({ headers: { cookie: "session=" } }));
  assertEquals(connectCode(empty), 101);

  const down = await createTestServer({
    plugins: [cookieSession({ lookup: () => Promise.reject(new Error("sessions db down")) })],
  });
  t.cleanup(() => down.close());
  assertEquals(
    connectCode(await assertRejects(() => down.connect({ headers: { cookie: "session=abc" } }))),
    100,
  );
  const line = down.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "plugin hook failed");
  assertMatch(line, { plugin: "cookie_session", hook: "onConnecting" });
  assert(JSON.stringify(line).includes("sessions db down"), JSON.stringify(line));
});

test("lookup_url: the app answers who the session belongs to (404 = unknown)", async (t) => {
  const runtime = await getRuntime();
  const asked: string[] = [];
  const app = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: async (req) => {
      const { session } = await req.json() as { session: string };
      asked.push(session);
      return session === "abc"
        ? Response.json({ user: "42", info: { name: "Ada" } })
        : new Response("not found", { status: 404 });
    },
  });
  t.cleanup(() => app.close(true));
  const { seen, plugin } = spy();
  const server = await createTestServer({
    plugins: [cookieSession({ lookup_url: `http://127.0.0.1:${app.port}/sessions` }), plugin],
  });
  t.cleanup(() => server.close());
  await server.connect({ headers: { cookie: "session=abc" } });
  await waitFor(() => seen.length === 1, "onConnect");
  assertMatch(seen[0], { user: "42", info: { name: "Ada" } });
  assertEquals(
    connectCode(await assertRejects(() => server.connect({ headers: { cookie: "session=zzz" } }))),
    4501,
  );
  assertEquals(asked, ["abc", "zzz"]);
});

/** The SDK with a Cookie header on every request it makes (a browser would send it itself). */
function sdkWithCookie(
  t: TestContext,
  s: RealServer,
  transport: EmulationTransport,
  cookie: string,
): Centrifuge {
  const withCookie = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cookie", cookie);
    return fetch(input, { ...init, headers });
  };
  class CookieEventSource extends EventSource {
    constructor(url: string | URL, init?: Record<string, unknown>) {
      super(url, { ...init, fetch: withCookie });
    }
  }
  return sdk(t, s, transport, { fetch: withCookie, eventsource: CookieEventSource });
}

for (const transport of EMULATION_TRANSPORTS) {
  test(`${transport}: the SDK connects with a session cookie; a bad session stops it with 4501`, async (t) => {
    const s = await startServer(t, {
      namespaces: [{ name: "room", presence: true, allow_subscribe_for_client: true }],
      plugins: { "./plugins/examples/cookie_session.ts": { sessions } },
    });
    const client = sdkWithCookie(t, s, transport, "session=abc");
    await connected(client);
    await subscribed(client.newSubscription("room:1"));
    const presence = await s.apiJson("presence", { channel: "room:1" }) as {
      result: { presence: Record<string, { user: string; conn_info?: unknown }> };
    };
    assertMatch(Object.values(presence.result.presence)[0], { user: "42", conn_info: { name: "Ada" } });

    // tokens still work for clients without the cookie
    const tokenClient = sdk(t, s, transport, { token: await userToken("bob") });
    await connected(tokenClient);

    const bad = sdkWithCookie(t, s, transport, "session=stolen");
    const disconnected = once<{ code: number; reason: string }>(bad, "disconnected");
    bad.connect();
    assertMatch(await disconnected, { code: 4501, reason: "bad session" });
    // The SDK decides at the disconnect: one that will reconnect is "connecting" (and says so),
    // never "disconnected", which it leaves only when the app calls connect().
    assertEquals(bad.state, "disconnected", "4501 is terminal: no reconnect");
  });
}
