/**
 * Connection tokens signed with asymmetric keys (RSA PEM, JWKS endpoint) and the richer claims
 * (`subs` with data/info/override, `b64info`, `expire_at`), end to end through the SDK; plus
 * custom endpoint prefixes.
 */
import { test } from "../harness.ts";
import { assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { collect, connected, once, sdk } from "../helpers/sdk.ts";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { getRuntime } from "../../src/runtime/serve.ts";
import { Centrifuge } from "centrifuge";
import { EventSource } from "eventsource";

test("RS256 tokens verified with token_rsa_public_key", async (t) => {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const s = await startServer(t, {
    token_hmac_secret_key: "",
    token_rsa_public_key: await exportSPKI(publicKey),
  });
  const tok = await new SignJWT({ sub: "rsa-user" }).setProtectedHeader({ alg: "RS256" }).setExpirationTime(
    "1h",
  )
    .sign(privateKey);
  const client = sdk(t, s, "http_stream", { token: tok });
  await connected(client);
  assertEquals(s.node.hub.userConnections("rsa-user").length, 1);
  // An HMAC token is refused when only RSA is configured (the algorithm comes from config).
  const hs = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" }).sign(
    new TextEncoder().encode("k"),
  );
  const bad = sdk(t, s, "http_stream", { token: hs });
  const gone = once<{ code: number }>(bad, "disconnected");
  bad.connect();
  assertEquals((await gone).code, 3500);
});

test("ES256 tokens from a JWKS endpoint", async (t) => {
  const runtime = await getRuntime();
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const jwks = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: () => Response.json({ keys: [jwk] }),
  });
  t.cleanup(() => jwks.close(true));
  const s = await startServer(t, {
    token_hmac_secret_key: "",
    token_jwks_public_endpoint: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
    token_audience: "sluice",
  });
  const sign = (aud: string) =>
    new SignJWT({ sub: "jwks-user" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setAudience(aud)
      .setExpirationTime("1h").sign(privateKey);
  const client = sdk(t, s, "sse", { token: await sign("sluice") });
  await connected(client);
  const wrongAud = sdk(t, s, "sse", { token: await sign("someone-else") });
  const gone = once<{ code: number }>(wrongAud, "disconnected");
  wrongAud.connect();
  assertEquals((await gone).code, 3500);
});

test("subs claim: server-side subscriptions with data, channel info and overrides", async (t) => {
  const s = await startServer(t, {
    namespaces: [{ name: "team", history_size: 10, history_ttl: "60s" }],
  });
  const b64info = btoa(JSON.stringify({ avatar: "cat.png" }));
  const tok = await new SignJWT({
    sub: "olga",
    b64info,
    expire_at: 0, // never expires, whatever exp says
    subs: {
      "team:red": {
        data: { welcome: true },
        info: { role: "lead" },
        override: { presence: { value: true } },
      },
    },
  }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h")
    .sign(new TextEncoder().encode("test-secret-key-0123456789"));
  const client = sdk(t, s, "http_stream", { token: tok });
  const subscribedCtx = once<Record<string, unknown>>(client, "subscribed");
  const connectedCtx = once<Record<string, unknown>>(client, "connected");
  const pubs = collect<{ channel: string; data: unknown; info?: unknown }>(client, "publication");
  client.connect();
  await connectedCtx;
  assertMatch(await subscribedCtx, { channel: "team:red", data: { welcome: true } });
  // presence was switched on by the override; it carries connection and channel info
  const presence = await s.node.presence("team:red");
  const entry = Object.values(presence)[0];
  assertEquals(JSON.parse(entry.connInfo!), { avatar: "cat.png" });
  assertEquals(JSON.parse(entry.chanInfo!), { role: "lead" });
  // the connection does not expire (expire_at 0)
  assertEquals(((s.node.hub.userConnections("olga")[0]) as unknown as { expireAt: number }).expireAt, 0);
  await s.apiJson("publish", { channel: "team:red", data: { go: 1 } });
  await waitFor(() => pubs.length === 1, "server-side publication");
  assertMatch(pubs[0] as unknown as Record<string, unknown>, { channel: "team:red", data: { go: 1 } });
});

test("custom *_handler_prefix paths are where the SDK connects", async (t) => {
  const s = await startServer(t, {
    allow_subscribe_for_client: true,
    http_stream_handler_prefix: "/rt/stream/",
    sse_handler_prefix: "/rt/events",
    emulation_handler_prefix: "/rt/emulation",
    api_handler_prefix: "/server-api",
    health_handler_prefix: "/ready",
  });
  for (const [transport, path] of [["http_stream", "/rt/stream"], ["sse", "/rt/events"]] as const) {
    const client = new Centrifuge([{ transport, endpoint: `${s.url}${path}` }], {
      emulationEndpoint: `${s.url}/rt/emulation`,
      fetch: globalThis.fetch.bind(globalThis),
      readableStream: ReadableStream,
      eventsource: EventSource,
      token: await new SignJWT({ sub: "p" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h")
        .sign(new TextEncoder().encode("test-secret-key-0123456789")),
    });
    t.cleanup(() => client.disconnect());
    const sub = client.newSubscription("news");
    const subscribed = once(sub, "subscribed");
    sub.subscribe();
    await connected(client);
    await subscribed;
  }
  assertEquals((await fetch(`${s.url}/connection/http_stream`, { method: "POST", body: "{}" })).status, 404);
  assertEquals((await fetch(`${s.url}/ready`)).status, 200);
  const res = await fetch(`${s.url}/server-api/publish`, {
    method: "POST",
    headers: { "X-API-Key": "test-api-key" },
    body: JSON.stringify({ channel: "news", data: 1 }),
  });
  assertEquals(await res.json(), { result: {} });
});
