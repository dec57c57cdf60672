/**
 * Unit tests of `TokenVerifier` with `token_jwks_public_endpoint`: a real JWKS HTTP server on a
 * loopback port serves the key set (EdDSA, RS256, ES256 with `kid`s), rotates it, and goes down.
 *
 * The verifier re-fetches the set for an unknown `kid` at most once per cooldown (5 s). To keep
 * tests fast, rotation tests move `Date.now` (which the key-set cache reads) forward instead of
 * sleeping; `new Date()` (used for exp/nbf) is left alone.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { CryptoKey, JWK } from "jose";
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  InvalidTokenError,
  TokenExpiredError,
  TokenVerifier,
  TokenVerifierUnavailableError,
} from "../../src/auth/jwt.ts";
import { tokenConfig } from "../helpers/tokens.ts";
import { getRuntime, type Listener } from "../../src/runtime/serve.ts";

const cfg = tokenConfig;

const nowSec = () => Math.floor(Date.now() / 1000);
const JWKS_PATH = "/.well-known/jwks.json";

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: "EdDSA" | "RS256" | "ES256", kid: string): Promise<SigningKey> {
  const pair = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
  return { alg, kid, privateKey: pair.privateKey, jwk };
}

function lazy<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

const keys = lazy(async () => ({
  ed: await makeKey("EdDSA", "ed-1"),
  rsa: await makeKey("RS256", "rsa-1"),
  ec: await makeKey("ES256", "ec-1"),
  rsa2: await makeKey("RS256", "rsa-2"),
}));

function sign(
  claims: Record<string, unknown>,
  key: SigningKey,
  kid: string | null = key.kid,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(kid === null ? { alg: key.alg } : { alg: key.alg, kid }).sign(
    key.privateKey,
  );
}

type Mode = "ok" | "503" | "hang" | "html";

interface JwksServer {
  url: string;
  port: number;
  /** Requests the endpoint has answered (or is answering). */
  requests: number;
  keys: JWK[];
  mode: Mode;
  close(): Promise<void>;
}

async function listenJwks(t: TestContext, state: JwksServer, port = 0): Promise<Listener> {
  const runtime = await getRuntime();
  const releases: Array<() => void> = [];
  const listener = await runtime.listen({
    port,
    hostname: "127.0.0.1",
    handler: async (req) => {
      state.requests++;
      if (new URL(req.url).pathname !== JWKS_PATH) return new Response("not found", { status: 404 });
      switch (state.mode) {
        case "503":
          return new Response("service unavailable", { status: 503 });
        case "html":
          return new Response("<html><body>Bad Gateway</body></html>", {
            status: 200,
            headers: { "content-type": "text/html" },
          });
        case "hang":
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 1800);
            releases.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          return new Response("too late", { status: 503 });
        default:
          return Response.json({ keys: state.keys });
      }
    },
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const r of releases) r();
    await listener.close(true);
  };
  state.close = close;
  t.cleanup(close);
  return listener;
}

async function startJwks(t: TestContext, initial: JWK[]): Promise<JwksServer> {
  const state: JwksServer = {
    url: "",
    port: 0,
    requests: 0,
    keys: initial,
    mode: "ok",
    close: () => Promise.resolve(),
  };
  const listener = await listenJwks(t, state);
  state.port = listener.port;
  state.url = `http://127.0.0.1:${listener.port}${JWKS_PATH}`;
  return state;
}

/** A loopback port with nothing listening on it (bound once, then released). */
async function deadPort(): Promise<number> {
  const runtime = await getRuntime();
  const l = await runtime.listen({ port: 0, hostname: "127.0.0.1", handler: () => new Response("") });
  const port = l.port;
  await l.close(true);
  return port;
}

/** Moves `Date.now` forward by `ms` for the rest of the test. */
function advanceClock(t: TestContext, ms: number): void {
  const real = Date.now;
  Date.now = () => real.call(Date) + ms;
  t.cleanup(() => {
    Date.now = real;
  });
}

const isInvalid = (e: unknown) => e instanceof InvalidTokenError;
const isUnavailable = (e: unknown) => e instanceof TokenVerifierUnavailableError;

// ---------------------------------------------------------------------------------------------

test("JWKS: EdDSA, RS256 and ES256 tokens verify by kid; the set is fetched once", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.ed.jwk, k.rsa.jwk, k.ec.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  assert(v.enabled);
  const exp = nowSec() + 3600;
  for (const key of [k.ed, k.rsa, k.ec]) {
    const c = await v.verifyConnectToken(
      await sign({ sub: `user-${key.alg}`, exp, info: { alg: key.alg } }, key),
    );
    assertEquals(c.user, `user-${key.alg}`);
    assertEquals(c.expireAt, exp);
    assertEquals(JSON.parse(c.info!), { alg: key.alg });
    const sub = await v.verifySubscriptionToken(await sign({ sub: "u", channel: `ch-${key.alg}` }, key));
    assertEquals(sub.channel, `ch-${key.alg}`);
  }
  assertEquals(s.requests, 1, "one JWKS fetch serves every later token");
});

test("JWKS: concurrent first verifications share one fetch", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.ed.jwk, k.rsa.jwk, k.ec.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const tokens = await Promise.all(
    [k.ed, k.rsa, k.ec, k.ed, k.rsa].map((key, i) => sign({ sub: `u${i}` }, key)),
  );
  const users = (await Promise.all(tokens.map((tok) => v.verifyConnectToken(tok)))).map((c) => c.user);
  assertEquals(users, ["u0", "u1", "u2", "u3", "u4"]);
  assertEquals(s.requests, 1);
});

test("JWKS: only asymmetric algorithms are allowed; HS and none are invalid", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk, { kty: "oct", k: "c2VjcmV0", kid: "hmac-1", alg: "HS256" }]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  assert(!v.algorithms.some((a) => a.startsWith("HS")), "no HS algorithm in the JWKS allowlist");
  assert(v.algorithms.includes("EdDSA") && v.algorithms.includes("RS256") && v.algorithms.includes("ES256"));
  const hsToken = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256", kid: "hmac-1" }).sign(
    new TextEncoder().encode("secret"),
  );
  await assertRejects(() => v.verifyConnectToken(hsToken), isInvalid, "HS256 via JWKS");
  const none = `${btoa('{"alg":"none","kid":"rsa-1"}').replace(/=+$/, "")}.${
    btoa('{"sub":"x"}').replace(/=+$/, "")
  }.`;
  await assertRejects(() => v.verifyConnectToken(none), isInvalid, "alg none via JWKS");
  // The RSA key in the same set still works.
  assertEquals((await v.verifyConnectToken(await sign({ sub: "r" }, k.rsa))).user, "r");
});

test("JWKS: a token signed by a foreign key under a known kid is invalid", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk, k.ed.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  // rsa-2's private key, but claiming kid rsa-1.
  await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "x" }, k.rsa2, "rsa-1")), isInvalid);
  // An EdDSA token claiming the RSA kid does not match any key.
  await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "x" }, k.ed, "rsa-1")), isInvalid);
});

test("JWKS: a token without kid that matches several keys is invalid, not an outage", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk, k.rsa2.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa, null)), isInvalid);
});

test("JWKS: a kid that never appears is invalid after a re-fetch", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  assertEquals((await v.verifyConnectToken(await sign({ sub: "a" }, k.rsa))).user, "a");
  assertEquals(s.requests, 1);
  advanceClock(t, 6_000); // past the re-fetch cooldown
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa2)),
    isInvalid,
    "unknown kid",
  );
  assertEquals(s.requests, 2, "the unknown kid triggered one re-fetch");
});

test("JWKS: key rotation — a kid that appears later is picked up, a removed one stops verifying", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const oldToken = await sign({ sub: "old" }, k.rsa);
  assertEquals((await v.verifyConnectToken(oldToken)).user, "old");
  // The issuer rotates: rsa-1 is retired, rsa-2 and an EdDSA key are published.
  s.keys = [k.rsa2.jwk, k.ed.jwk];
  advanceClock(t, 6_000);
  assertEquals((await v.verifyConnectToken(await sign({ sub: "new" }, k.rsa2))).user, "new");
  assertEquals(s.requests, 2);
  assertEquals(
    (await v.verifyConnectToken(await sign({ sub: "ed" }, k.ed))).user,
    "ed",
    "other new key cached",
  );
  assertEquals(s.requests, 2);
  await assertRejects(() => v.verifyConnectToken(oldToken), isInvalid, "retired kid");
});

test("JWKS: unknown kids within the cooldown do not flood the endpoint", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  await v.verifyConnectToken(await sign({ sub: "a" }, k.rsa));
  for (let i = 0; i < 20; i++) {
    await assertRejects(
      async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa2, `random-${i}`)),
      isInvalid,
    );
  }
  assert(s.requests <= 2, `expected at most 2 JWKS fetches, got ${s.requests}`);
});

test("JWKS: endpoint down (connection refused) is TokenVerifierUnavailableError", async () => {
  const k = await keys();
  const port = await deadPort();
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: `http://127.0.0.1:${port}${JWKS_PATH}` }));
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa)),
    isUnavailable,
    "connect",
  );
  await assertRejects(
    async () => v.verifySubscriptionToken(await sign({ sub: "a", channel: "c" }, k.ec)),
    isUnavailable,
    "subscribe",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ sub: "a" }, k.ed)),
    isUnavailable,
    "EdDSA",
  );
});

test("JWKS: garbage and disallowed algorithms are invalid even while the endpoint is down", async () => {
  const port = await deadPort();
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: `http://127.0.0.1:${port}${JWKS_PATH}` }));
  for (const g of ["", "garbage", "a.b.c", "a.b", "é.é.é"]) {
    await assertRejects(() => v.verifyConnectToken(g), isInvalid, JSON.stringify(g));
    await assertRejects(() => v.verifySubscriptionToken(g), isInvalid, JSON.stringify(g));
  }
  const hsToken = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).sign(
    new TextEncoder().encode("secret"),
  );
  await assertRejects(
    () => v.verifyConnectToken(hsToken),
    isInvalid,
    "HS256 needs no key fetch to be refused",
  );
});

test("JWKS: endpoint timing out is TokenVerifierUnavailableError", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  s.mode = "hang";
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const started = performance.now();
  await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa)), isUnavailable);
  assert(performance.now() - started < 1900, "gave up on its own timeout");
});

test("JWKS: endpoint answering 503 is TokenVerifierUnavailableError (a retryable outage)", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  s.mode = "503";
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const err = await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa)));
  assert(
    err instanceof TokenVerifierUnavailableError,
    `a 503 from the key source is an outage, expected TokenVerifierUnavailableError, got ${err}`,
  );
});

test("JWKS: endpoint answering a non-JSON page (proxy error) is TokenVerifierUnavailableError", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  s.mode = "html";
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const err = await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa)));
  assert(err instanceof TokenVerifierUnavailableError, `expected TokenVerifierUnavailableError, got ${err}`);
});

test("JWKS: endpoint answering JSON that is not a key set is TokenVerifierUnavailableError", async (t) => {
  const k = await keys();
  const s = await startJwks(t, "not a list" as unknown as JWK[]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const err = await assertRejects(async () => v.verifyConnectToken(await sign({ sub: "a" }, k.rsa)));
  assert(err instanceof TokenVerifierUnavailableError, `expected TokenVerifierUnavailableError, got ${err}`);
  // Once it serves a proper set again, tokens verify.
  s.keys = [k.rsa.jwk];
  assertEquals((await v.verifyConnectToken(await sign({ sub: "a" }, k.rsa))).user, "a");
});

test("JWKS: verification recovers once the endpoint is back", async (t) => {
  const k = await keys();
  const port = await deadPort();
  const state: JwksServer = {
    url: `http://127.0.0.1:${port}${JWKS_PATH}`,
    port,
    requests: 0,
    keys: [k.rsa.jwk],
    mode: "ok",
    close: () => Promise.resolve(),
  };
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: state.url }));
  const tok = await sign({ sub: "back" }, k.rsa);
  await assertRejects(() => v.verifyConnectToken(tok), isUnavailable, "while down");
  await listenJwks(t, state, port);
  assertEquals((await v.verifyConnectToken(tok)).user, "back");
  assertEquals(state.requests, 1);
});

test("JWKS: a 503 outage does not stick once the endpoint recovers", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk]);
  s.mode = "503";
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  const tok = await sign({ sub: "a" }, k.rsa);
  await assertRejects(() => v.verifyConnectToken(tok));
  s.mode = "ok";
  assertEquals((await v.verifyConnectToken(tok)).user, "a");
});

test("JWKS: cached keys keep verifying while the endpoint is down", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk, k.ec.jwk]);
  const v = new TokenVerifier(cfg({ token_jwks_public_endpoint: s.url }));
  assertEquals((await v.verifyConnectToken(await sign({ sub: "a" }, k.rsa))).user, "a");
  await s.close();
  assertEquals((await v.verifyConnectToken(await sign({ sub: "b" }, k.rsa))).user, "b");
  assertEquals((await v.verifyConnectToken(await sign({ sub: "c" }, k.ec))).user, "c");
  assertEquals(s.requests, 1);
});

test("JWKS: exp, nbf, audience, issuer and claim checks apply as with inline keys", async (t) => {
  const k = await keys();
  const s = await startJwks(t, [k.rsa.jwk, k.ed.jwk]);
  const v = new TokenVerifier(
    cfg({ token_jwks_public_endpoint: s.url, token_audience: "aud", token_issuer: "iss" }),
  );
  const ok = { aud: "aud", iss: "iss" };
  assertEquals((await v.verifyConnectToken(await sign({ ...ok, sub: "a" }, k.ed))).user, "a");
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ ...ok, sub: "a", exp: nowSec() - 5 }, k.rsa)),
    (e) => e instanceof TokenExpiredError,
    "expired",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ ...ok, sub: "a", nbf: nowSec() + 600 }, k.ed)),
    (e) => e instanceof TokenExpiredError,
    "not yet valid",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ sub: "a", iss: "iss" }, k.rsa)),
    isInvalid,
    "aud",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ sub: "a", aud: "aud" }, k.rsa)),
    isInvalid,
    "iss",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ ...ok, sub: "a", channel: "c" }, k.rsa)),
    isInvalid,
    "channel in a connection token",
  );
  await assertRejects(
    async () => v.verifyConnectToken(await sign({ ...ok, sub: "a", channels: "c" }, k.rsa)),
    isInvalid,
    "channels not an array",
  );
  await assertRejects(
    async () => v.verifySubscriptionToken(await sign({ ...ok, sub: "a" }, k.rsa)),
    isInvalid,
    "no channel",
  );
});
