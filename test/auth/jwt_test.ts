/**
 * Unit tests of `TokenVerifier` (src/auth/jwt.ts) with keys configured inline: HMAC secrets,
 * RSA and ECDSA PEMs, the algorithm allowlist, time claims, audience/issuer, Centrifugo's claims
 * and garbage input. JWKS endpoints are covered in jwks_test.ts.
 */
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from "jose";
import type { CryptoKey, JWTPayload } from "jose";
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import {
  InvalidTokenError,
  type TokenConfig,
  TokenExpiredError,
  TokenVerifier,
  TokenVerifierUnavailableError,
} from "../../src/auth/jwt.ts";
import { tokenConfig } from "../helpers/tokens.ts";

const SECRET = "unit-test-hmac-secret-0123456789";
const enc = new TextEncoder();

const cfg = tokenConfig;

const hmacVerifier = (over: Partial<TokenConfig> = {}) =>
  new TokenVerifier(cfg({ token_hmac_secret_key: SECRET, ...over }));
const nowSec = () => Math.floor(Date.now() / 1000);

function sign(
  claims: Record<string, unknown>,
  key: CryptoKey | Uint8Array,
  alg: string,
  kid?: string,
): Promise<string> {
  return new SignJWT(claims as JWTPayload).setProtectedHeader(kid ? { alg, kid } : { alg }).sign(key);
}

/** An HMAC-signed token; `ttl` in seconds from now (omitted = no exp). */
function hs(
  claims: Record<string, unknown>,
  opts: { alg?: string; secret?: string; ttl?: number } = {},
): Promise<string> {
  const c: Record<string, unknown> = { ...claims };
  if (opts.ttl !== undefined) c.exp = nowSec() + opts.ttl;
  return sign(c, enc.encode(opts.secret ?? SECRET), opts.alg ?? "HS256");
}

function b64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

const b64std = (text: string) => btoa(String.fromCharCode(...enc.encode(text)));

/** HS256 over arbitrary header/payload text, for tokens SignJWT refuses to produce. */
async function rawHs256(headerText: string, payloadText: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(input)));
  return `${input}.${b64url(sig)}`;
}

/** An unsecured JWT (`alg: none`, empty signature). */
const unsecured = (claims: Record<string, unknown>, alg = "none") =>
  `${b64url(JSON.stringify({ alg }))}.${b64url(JSON.stringify(claims))}.`;

function lazy<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** One RSA key pair, usable for both RS256 and PS256 (the private key re-imported per algorithm). */
const rsa = lazy(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const pkcs8 = await exportPKCS8(pair.privateKey);
  return {
    pem: await exportSPKI(pair.publicKey),
    rs256: pair.privateKey,
    ps256: await importPKCS8(pkcs8, "PS256"),
    rs512: await importPKCS8(pkcs8, "RS512"),
  };
});
const p256 = lazy(async () => {
  const pair = await generateKeyPair("ES256");
  return { pem: await exportSPKI(pair.publicKey), key: pair.privateKey };
});
const p384 = lazy(async () => {
  const pair = await generateKeyPair("ES384");
  return { pem: await exportSPKI(pair.publicKey), key: pair.privateKey };
});

const isInvalid = (e: unknown) => e instanceof InvalidTokenError;
const isExpired = (e: unknown) => e instanceof TokenExpiredError;

async function expectInvalid(p: () => Promise<unknown>, what: string): Promise<void> {
  await assertRejects(p, isInvalid, what);
}

// ---------------------------------------------------------------------------------------------
// Algorithms and keys

for (const alg of ["HS256", "HS384", "HS512"]) {
  test(`${alg} token verifies with token_hmac_secret_key`, async () => {
    const v = hmacVerifier();
    assert(v.enabled, "verifier enabled with an HMAC secret");
    const claims = await v.verifyConnectToken(await hs({ sub: "alice" }, { alg, ttl: 3600 }));
    assertEquals(claims.user, "alice");
    const sub = await v.verifySubscriptionToken(await hs({ sub: "alice", channel: "$news" }, { alg }));
    assertMatch(sub, { user: "alice", channel: "$news" });
  });

  test(`${alg} token signed with the wrong secret is invalid`, async () => {
    const v = hmacVerifier();
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "alice" }, { alg, secret: SECRET + "x" })),
      "wrong secret",
    );
  });
}

test("HMAC verifier only allows HS algorithms", () => {
  assertEquals(hmacVerifier().algorithms.slice().sort(), ["HS256", "HS384", "HS512"]);
});

for (const alg of ["RS256", "PS256", "RS512"] as const) {
  test(`${alg} token verifies with token_rsa_public_key (PEM)`, async () => {
    const k = await rsa();
    const v = new TokenVerifier(cfg({ token_rsa_public_key: k.pem }));
    const key = alg === "RS256" ? k.rs256 : alg === "PS256" ? k.ps256 : k.rs512;
    const claims = await v.verifyConnectToken(await sign({ sub: "rsa-user", exp: nowSec() + 60 }, key, alg));
    assertEquals(claims.user, "rsa-user");
    const sub = await v.verifySubscriptionToken(await sign({ sub: "rsa-user", channel: "c" }, key, alg));
    assertEquals(sub.channel, "c");
  });
}

test("RS256 and PS256 tokens alternate on one verifier (per-algorithm key import)", async () => {
  const k = await rsa();
  const v = new TokenVerifier(cfg({ token_rsa_public_key: k.pem }));
  for (let i = 0; i < 3; i++) {
    assertEquals((await v.verifyConnectToken(await sign({ sub: `r${i}` }, k.rs256, "RS256"))).user, `r${i}`);
    assertEquals((await v.verifyConnectToken(await sign({ sub: `p${i}` }, k.ps256, "PS256"))).user, `p${i}`);
  }
});

test("RSA token signed by another key is invalid", async () => {
  const k = await rsa();
  const other = await generateKeyPair("RS256");
  const v = new TokenVerifier(cfg({ token_rsa_public_key: k.pem }));
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, other.privateKey, "RS256")),
    "foreign RSA key",
  );
});

test("ES256 token verifies with a P-256 token_ecdsa_public_key", async () => {
  const k = await p256();
  const v = new TokenVerifier(cfg({ token_ecdsa_public_key: k.pem }));
  assertEquals(v.algorithms.slice().sort(), ["ES256", "ES384", "ES512"]);
  const claims = await v.verifyConnectToken(
    await sign({ sub: "ec-user", exp: nowSec() + 60 }, k.key, "ES256"),
  );
  assertEquals(claims.user, "ec-user");
  const sub = await v.verifySubscriptionToken(await sign({ sub: "ec-user", channel: "ec" }, k.key, "ES256"));
  assertEquals(sub.channel, "ec");
});

test("ES384 token verifies with a P-384 token_ecdsa_public_key", async () => {
  const k = await p384();
  const v = new TokenVerifier(cfg({ token_ecdsa_public_key: k.pem }));
  const claims = await v.verifyConnectToken(await sign({ sub: "ec384" }, k.key, "ES384"));
  assertEquals(claims.user, "ec384");
});

test("ECDSA curve/algorithm mismatch is invalid and does not poison the key cache", async () => {
  const k256 = await p256();
  const k384 = await p384();
  const v = new TokenVerifier(cfg({ token_ecdsa_public_key: k256.pem }));
  // ES384 token while the configured key is P-256: the PEM cannot be imported for ES384.
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, k384.key, "ES384")),
    "ES384 vs P-256 key",
  );
  await expectInvalid(async () => v.verifyConnectToken(await sign({ sub: "x" }, k384.key, "ES384")), "again");
  // The right algorithm still works afterwards.
  assertEquals((await v.verifyConnectToken(await sign({ sub: "ok" }, k256.key, "ES256"))).user, "ok");
  // An ES256 token signed by a different P-256 key is invalid.
  const other = await generateKeyPair("ES256");
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, other.privateKey, "ES256")),
    "foreign EC key",
  );
});

test("an RSA PEM configured as token_ecdsa_public_key verifies nothing", async () => {
  const k = await rsa();
  const ec = await p256();
  const v = new TokenVerifier(cfg({ token_ecdsa_public_key: k.pem }));
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, ec.key, "ES256")),
    "ES256 with an RSA PEM",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, k.rs256, "RS256")),
    "RS256 not allowed",
  );
});

test("HMAC and RSA configured together accept both families", async () => {
  const k = await rsa();
  const v = new TokenVerifier(cfg({ token_hmac_secret_key: SECRET, token_rsa_public_key: k.pem }));
  assertEquals((await v.verifyConnectToken(await hs({ sub: "h" }))).user, "h");
  assertEquals((await v.verifyConnectToken(await sign({ sub: "r" }, k.rs256, "RS256"))).user, "r");
  const ec = await p256();
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "e" }, ec.key, "ES256")),
    "ES256 not configured",
  );
});

// ---------------------------------------------------------------------------------------------
// Algorithm allowlist

test("HS token is rejected when only an RSA key is configured", async () => {
  const k = await rsa();
  const v = new TokenVerifier(cfg({ token_rsa_public_key: k.pem }));
  assert(!v.algorithms.some((a) => a.startsWith("HS")), "no HS algorithm allowed");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "x" })), "HS256 with RSA only");
  // Classic key confusion: HMAC keyed with the public PEM text.
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "x" }, { secret: k.pem })),
    "HS256 keyed with the RSA public key",
  );
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ sub: "x", channel: "c" })),
    "subscription HS256",
  );
});

test("key confusion: HS256 keyed with the RSA PEM fails even when HMAC is also configured", async () => {
  const k = await rsa();
  const v = new TokenVerifier(cfg({ token_hmac_secret_key: SECRET, token_rsa_public_key: k.pem }));
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "x" }, { secret: k.pem })),
    "HS256 keyed with PEM",
  );
});

test("RS token is rejected when only an HMAC secret is configured", async () => {
  const k = await rsa();
  const v = hmacVerifier();
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, k.rs256, "RS256")),
    "RS256 with HMAC only",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, k.ps256, "PS256")),
    "PS256 with HMAC only",
  );
  const ec = await p256();
  await expectInvalid(
    async () => v.verifyConnectToken(await sign({ sub: "x" }, ec.key, "ES256")),
    "ES256 with HMAC only",
  );
});

test("EC token is rejected when only an RSA key is configured, and vice versa", async () => {
  const k = await rsa();
  const ec = await p256();
  const rsaOnly = new TokenVerifier(cfg({ token_rsa_public_key: k.pem }));
  await expectInvalid(
    async () => rsaOnly.verifyConnectToken(await sign({ sub: "x" }, ec.key, "ES256")),
    "ES256 with RSA only",
  );
  const ecOnly = new TokenVerifier(cfg({ token_ecdsa_public_key: ec.pem }));
  await expectInvalid(
    async () => ecOnly.verifyConnectToken(await sign({ sub: "x" }, k.rs256, "RS256")),
    "RS256 with EC only",
  );
});

test('alg "none" (unsecured JWT) is rejected whatever keys are configured', async () => {
  const k = await rsa();
  const ec = await p256();
  const verifiers = [
    hmacVerifier(),
    new TokenVerifier(cfg({ token_rsa_public_key: k.pem })),
    new TokenVerifier(cfg({ token_ecdsa_public_key: ec.pem })),
    new TokenVerifier(
      cfg({ token_hmac_secret_key: SECRET, token_rsa_public_key: k.pem, token_ecdsa_public_key: ec.pem }),
    ),
  ];
  const exp = nowSec() + 3600;
  for (const v of verifiers) {
    for (const alg of ["none", "None", "NONE", ""]) {
      await expectInvalid(() => v.verifyConnectToken(unsecured({ sub: "x", exp }, alg)), `alg ${alg}`);
      await expectInvalid(
        () => v.verifySubscriptionToken(unsecured({ sub: "x", channel: "c", exp }, alg)),
        `sub alg ${alg}`,
      );
    }
    // An unsecured token with a signature appended is still not acceptable.
    const t = unsecured({ sub: "x" }) + b64url("sig");
    await expectInvalid(() => v.verifyConnectToken(t), "none with a signature");
  }
});

test("a header without alg, or with an unknown alg, is invalid", async () => {
  const v = hmacVerifier();
  await expectInvalid(
    async () => v.verifyConnectToken(await rawHs256(JSON.stringify({ typ: "JWT" }), '{"sub":"x"}')),
    "no alg",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await rawHs256('{"alg":"HS1024"}', '{"sub":"x"}')),
    "unknown alg",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await rawHs256('{"alg":42}', '{"sub":"x"}')),
    "numeric alg",
  );
});

test("a tampered payload is invalid", async () => {
  const v = hmacVerifier();
  const [h, , s] = (await hs({ sub: "alice" })).split(".");
  const forged = `${h}.${b64url(JSON.stringify({ sub: "admin" }))}.${s}`;
  await expectInvalid(() => v.verifyConnectToken(forged), "payload swapped");
});

test("without any configured key the verifier is disabled and every token is invalid", async () => {
  const v = new TokenVerifier(cfg());
  assertEquals(v.enabled, false);
  assertEquals(v.algorithms, []);
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "x" })), "connect");
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ sub: "x", channel: "c" })),
    "subscribe",
  );
  await expectInvalid(() => v.verifyConnectToken(""), "empty");
});

// ---------------------------------------------------------------------------------------------
// Time claims

test("expired exp is TokenExpiredError for connection and subscription tokens", async () => {
  const v = hmacVerifier();
  const err = await assertRejects(
    async () => v.verifyConnectToken(await hs({ sub: "x" }, { ttl: -10 })),
    isExpired,
    "connect",
  );
  assert(!(err instanceof InvalidTokenError), "expired is not invalid");
  await assertRejects(
    async () => v.verifySubscriptionToken(await hs({ sub: "x", channel: "c" }, { ttl: -10 })),
    isExpired,
    "sub",
  );
  // exp exactly now counts as expired too (exp <= now).
  await assertRejects(
    async () => v.verifyConnectToken(await hs({ sub: "x", exp: nowSec() })),
    isExpired,
    "exp == now",
  );
});

test("a token expired for a long time is still TokenExpiredError, not invalid", async () => {
  const v = hmacVerifier();
  await assertRejects(async () => v.verifyConnectToken(await hs({ sub: "x", exp: 1 })), isExpired);
});

test("nbf in the future is TokenExpiredError; nbf in the past is fine", async () => {
  const v = hmacVerifier();
  await assertRejects(
    async () => v.verifyConnectToken(await hs({ sub: "x", nbf: nowSec() + 600 })),
    isExpired,
    "connect nbf",
  );
  await assertRejects(
    async () => v.verifySubscriptionToken(await hs({ sub: "x", channel: "c", nbf: nowSec() + 600 })),
    isExpired,
    "subscription nbf",
  );
  assertEquals((await v.verifyConnectToken(await hs({ sub: "x", nbf: nowSec() - 5 }))).user, "x");
});

test("a non-numeric nbf claim is an invalid token, not an expired one", async () => {
  // An expired-looking error (109) makes the SDK fetch a new token and retry; a malformed claim
  // never becomes valid, so it must be InvalidTokenError like a non-numeric exp.
  const v = hmacVerifier();
  for (const nbf of ["soon", true, { t: 1 }, [1]]) {
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "x", nbf })),
      `nbf ${JSON.stringify(nbf)}`,
    );
  }
});

test("non-numeric exp or iat claims are invalid", async () => {
  const v = hmacVerifier();
  for (const claims of [{ exp: "tomorrow" }, { exp: null }, { iat: "now" }, { exp: [1] }]) {
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "x", ...claims })),
      JSON.stringify(claims),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Audience and issuer

test("token_audience is enforced when set", async () => {
  const v = hmacVerifier({ token_audience: "sluice-aud" });
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", aud: "sluice-aud" }))).user, "a");
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", aud: ["other", "sluice-aud"] }))).user, "a");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a" })), "missing aud");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a", aud: "other" })), "wrong aud");
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", aud: ["other"] })),
    "wrong aud array",
  );
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a", aud: 5 })), "numeric aud");
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ sub: "a", channel: "c", aud: "x" })),
    "sub wrong aud",
  );
  assertEquals((await v.verifySubscriptionToken(await hs({ channel: "c", aud: "sluice-aud" }))).channel, "c");
});

test("without token_audience any aud is accepted", async () => {
  const v = hmacVerifier();
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", aud: "whatever" }))).user, "a");
});

test("token_issuer is enforced when set", async () => {
  const v = hmacVerifier({ token_issuer: "https://issuer.example" });
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", iss: "https://issuer.example" }))).user, "a");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a" })), "missing iss");
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", iss: "https://evil.example" })),
    "wrong iss",
  );
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a", iss: 1 })), "numeric iss");
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ sub: "a", channel: "c", iss: "x" })),
    "sub wrong iss",
  );
  const none = hmacVerifier();
  assertEquals((await none.verifyConnectToken(await hs({ sub: "a", iss: "any" }))).user, "a");
});

test("audience and issuer together must both match", async () => {
  const v = hmacVerifier({ token_audience: "aud", token_issuer: "iss" });
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", aud: "aud", iss: "iss" }))).user, "a");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a", aud: "aud" })), "no iss");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ sub: "a", iss: "iss" })), "no aud");
});

// ---------------------------------------------------------------------------------------------
// Connection token claims

test("connection claims: sub, defaults for absent claims", async () => {
  const v = hmacVerifier();
  const c = await v.verifyConnectToken(await hs({ sub: "alice" }));
  assertEquals(c.user, "alice");
  assertEquals(c.expireAt, 0);
  assertEquals(c.info, undefined);
  assertEquals(c.meta, undefined);
  assertEquals(c.channels, []);
  assertEquals(c.subs, {});
  // No sub at all is an anonymous connection (user "").
  assertEquals((await v.verifyConnectToken(await hs({}))).user, "");
  assertEquals((await v.verifyConnectToken(await hs({ sub: "" }))).user, "");
});

test("token_user_id_claim selects the claim holding the user id", async () => {
  const v = hmacVerifier({ token_user_id_claim: "user_id" });
  assertEquals((await v.verifyConnectToken(await hs({ user_id: "u42", sub: "ignored" }))).user, "u42");
  assertEquals((await v.verifyConnectToken(await hs({ sub: "only-sub" }))).user, "", "sub is not a fallback");
  assertEquals((await v.verifySubscriptionToken(await hs({ user_id: "u42", channel: "c" }))).user, "u42");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ user_id: 42 })), "numeric user_id");
  await expectInvalid(async () => v.verifyConnectToken(await hs({ user_id: { id: "x" } })), "object user_id");
});

test("sub must be a string", async () => {
  const v = hmacVerifier();
  for (const sub of [42, true, ["a"], { id: "a" }]) {
    await expectInvalid(async () => v.verifyConnectToken(await hs({ sub })), `sub ${JSON.stringify(sub)}`);
    await expectInvalid(
      async () => v.verifySubscriptionToken(await hs({ sub, channel: "c" })),
      `subscription sub ${JSON.stringify(sub)}`,
    );
  }
});

test("info is returned as JSON text", async () => {
  const v = hmacVerifier();
  const info = { name: "Alice", tags: ["a", "b"], n: 1.5, nested: { ok: true } };
  const c = await v.verifyConnectToken(await hs({ sub: "a", info }));
  assertEquals(typeof c.info, "string");
  assertEquals(JSON.parse(c.info!), info);
  assertEquals(JSON.parse((await v.verifyConnectToken(await hs({ sub: "a", info: "text" }))).info!), "text");
  assertEquals(JSON.parse((await v.verifyConnectToken(await hs({ sub: "a", info: 7 }))).info!), 7);
});

test("b64info is decoded, must be JSON, and wins over info", async () => {
  const v = hmacVerifier();
  const c = await v.verifyConnectToken(await hs({ sub: "a", b64info: b64std('{"from":"b64","ü":"ö"}') }));
  assertEquals(JSON.parse(c.info!), { from: "b64", "ü": "ö" });
  const both = await v.verifyConnectToken(
    await hs({ sub: "a", info: { from: "info" }, b64info: b64std('{"from":"b64"}') }),
  );
  assertEquals(JSON.parse(both.info!), { from: "b64" });
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", b64info: b64std("not json") })),
    "non-JSON b64info",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", b64info: "%%%not-base64%%%" })),
    "not base64",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", b64info: 12 })),
    "numeric b64info",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", b64info: { a: 1 } })),
    "object b64info",
  );
  // Not UTF-8 once decoded.
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", b64info: btoa('\xff\xfe"x"') })),
    "invalid UTF-8",
  );
});

test("channels must be an array of strings", async () => {
  const v = hmacVerifier();
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", channels: ["news", "chat:1"] }))).channels, [
    "news",
    "chat:1",
  ]);
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", channels: [] }))).channels, []);
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", channels: null }))).channels, []);
  for (const channels of ["news", 1, { news: true }, ["news", 2], [null], [["nested"]]]) {
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "a", channels })),
      `channels ${JSON.stringify(channels)}`,
    );
  }
});

test("subs: per-channel info, data and override", async () => {
  const v = hmacVerifier();
  const c = await v.verifyConnectToken(
    await hs({
      sub: "a",
      subs: {
        "news": { override: { presence: { value: true }, join_leave: { value: false } } },
        "chat:1": { info: { role: "mod" }, data: { welcome: 1 } },
        "b64": { b64info: b64std('{"i":1}'), b64data: b64std('{"d":2}'), data: { ignored: true } },
        "plain": {},
        "nullish": null,
      },
    }),
  );
  assertEquals(Object.keys(c.subs).sort(), ["b64", "chat:1", "news", "nullish", "plain"]);
  assertEquals(c.subs.news.override, { presence: true, join_leave: false });
  assertEquals(JSON.parse(c.subs["chat:1"].info!), { role: "mod" });
  assertEquals(JSON.parse(c.subs["chat:1"].data!), { welcome: 1 });
  assertEquals(c.subs["chat:1"].override, undefined);
  assertEquals(JSON.parse(c.subs.b64.info!), { i: 1 });
  assertEquals(JSON.parse(c.subs.b64.data!), { d: 2 });
  assertEquals(c.subs.plain, { info: undefined, data: undefined, override: undefined });
  assertEquals(c.subs.nullish, { info: undefined, data: undefined, override: undefined });
});

test("subs replaces channels: a token with both subscribes to its subs only, as Centrifugo", async () => {
  const v = hmacVerifier();
  const both = await v.verifyConnectToken(await hs({ sub: "a", channels: ["news"], subs: { "chat:1": {} } }));
  assertEquals(both.channels, []);
  assertEquals(Object.keys(both.subs), ["chat:1"]);
  // An empty subs object leaves channels in charge.
  const empty = await v.verifyConnectToken(await hs({ sub: "a", channels: ["news"], subs: {} }));
  assertEquals(empty.channels, ["news"]);
});

test("subs: all override flags are read; unknown ones are ignored", async () => {
  const v = hmacVerifier();
  const override = {
    presence: { value: true },
    join_leave: { value: true },
    force_push_join_leave: { value: false },
    force_recovery: { value: true },
    force_positioning: { value: false },
    something_new: { value: 5 },
  };
  const c = await v.verifyConnectToken(await hs({ sub: "a", subs: { ch: { override } } }));
  assertEquals(c.subs.ch.override, {
    presence: true,
    join_leave: true,
    force_push_join_leave: false,
    force_recovery: true,
    force_positioning: false,
  });
});

test("subs with wrong shapes are invalid", async () => {
  const v = hmacVerifier();
  const bad: unknown[] = [
    ["news"],
    "news",
    5,
    { news: "yes" },
    { news: 1 },
    { news: ["x"] },
    { news: { override: { presence: true } } },
    { news: { override: { presence: { value: "true" } } } },
    { news: { override: { presence: null } } },
    { news: { override: ["presence"] } },
    { news: { override: "presence" } },
    { news: { b64info: "%%%" } },
    { news: { b64data: b64std("<xml/>") } },
  ];
  for (const subs of bad) {
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "a", subs })),
      `subs ${JSON.stringify(subs)}`,
    );
  }
});

test("meta is returned as JSON text and kept apart from info", async () => {
  const v = hmacVerifier();
  const c = await v.verifyConnectToken(
    await hs({ sub: "a", meta: { plan: "pro", limits: [1, 2] }, info: { n: 1 } }),
  );
  assertEquals(JSON.parse(c.meta!), { plan: "pro", limits: [1, 2] });
  assertEquals(JSON.parse(c.info!), { n: 1 });
  assertEquals(JSON.parse((await v.verifyConnectToken(await hs({ sub: "a", meta: "s" }))).meta!), "s");
});

test("expireAt comes from exp; expire_at overrides it; expire_at 0 means never", async () => {
  const v = hmacVerifier();
  const exp = nowSec() + 3600;
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", exp }))).expireAt, exp);
  assertEquals(
    (await v.verifyConnectToken(await hs({ sub: "a", exp, expire_at: exp + 100 }))).expireAt,
    exp + 100,
  );
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", exp, expire_at: 0 }))).expireAt, 0);
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", expire_at: exp }))).expireAt, exp);
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", expire_at: null }))).expireAt, 0);
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", expire_at: exp + 0.75 }))).expireAt, exp);
  // expire_at in the past does not fail verification itself (the connection layer handles it).
  assertEquals((await v.verifyConnectToken(await hs({ sub: "a", expire_at: 10 }))).expireAt, 10);
});

test("expire_at must be a non-negative number", async () => {
  const v = hmacVerifier();
  for (const expire_at of [-1, "123", true, { t: 1 }, [1]]) {
    await expectInvalid(
      async () => v.verifyConnectToken(await hs({ sub: "a", expire_at })),
      `expire_at ${JSON.stringify(expire_at)}`,
    );
    await expectInvalid(
      async () => v.verifySubscriptionToken(await hs({ sub: "a", channel: "c", expire_at })),
      `subscription expire_at ${JSON.stringify(expire_at)}`,
    );
  }
});

test("a connection token containing a channel claim is invalid", async () => {
  const v = hmacVerifier();
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", channel: "news" })),
    "channel claim",
  );
  await expectInvalid(
    async () => v.verifyConnectToken(await hs({ sub: "a", channel: "news" }, { ttl: 60 })),
    "with exp",
  );
});

// ---------------------------------------------------------------------------------------------
// Subscription token claims

test("subscription token: channel, client, info, data, expire_at, override", async () => {
  const v = hmacVerifier();
  const exp = nowSec() + 3600;
  const s = await v.verifySubscriptionToken(
    await hs({
      sub: "alice",
      channel: "$private:room",
      client: "client-id-1",
      info: { role: "viewer" },
      data: { hello: "world" },
      exp,
      override: { presence: { value: false }, force_recovery: { value: true } },
    }),
  );
  assertEquals(s.user, "alice");
  assertEquals(s.channel, "$private:room");
  assertEquals(s.client, "client-id-1");
  assertEquals(JSON.parse(s.info!), { role: "viewer" });
  assertEquals(JSON.parse(s.data!), { hello: "world" });
  assertEquals(s.expireAt, exp);
  assertEquals(s.override, { presence: false, force_recovery: true });

  const minimal = await v.verifySubscriptionToken(await hs({ channel: "c" }));
  assertEquals(minimal.user, "");
  assertEquals(minimal.client, undefined);
  assertEquals(minimal.info, undefined);
  assertEquals(minimal.data, undefined);
  assertEquals(minimal.override, undefined);
  assertEquals(minimal.expireAt, 0);
});

test("subscription token: b64data and b64info win and must decode to JSON", async () => {
  const v = hmacVerifier();
  const s = await v.verifySubscriptionToken(
    await hs({ channel: "c", data: { a: 1 }, b64data: b64std('{"b":2}'), b64info: b64std("[1,2]") }),
  );
  assertEquals(JSON.parse(s.data!), { b: 2 });
  assertEquals(JSON.parse(s.info!), [1, 2]);
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ channel: "c", b64data: b64std("nope") })),
    "b64data text",
  );
  await expectInvalid(
    async () => v.verifySubscriptionToken(await hs({ channel: "c", b64data: 1 })),
    "b64data number",
  );
});

test("subscription token: expire_at overrides exp and 0 means never", async () => {
  const v = hmacVerifier();
  const exp = nowSec() + 600;
  assertEquals(
    (await v.verifySubscriptionToken(await hs({ channel: "c", exp, expire_at: exp + 5 }))).expireAt,
    exp + 5,
  );
  assertEquals((await v.verifySubscriptionToken(await hs({ channel: "c", exp, expire_at: 0 }))).expireAt, 0);
});

test("subscription token requires a non-empty string channel", async () => {
  const v = hmacVerifier();
  await expectInvalid(async () => v.verifySubscriptionToken(await hs({ sub: "a" })), "no channel");
  for (const channel of ["", 5, null, ["c"], { c: 1 }, true]) {
    await expectInvalid(
      async () => v.verifySubscriptionToken(await hs({ sub: "a", channel })),
      `channel ${JSON.stringify(channel)}`,
    );
  }
});

test("subscription token: client must be a string; override must be well-formed", async () => {
  const v = hmacVerifier();
  for (const client of [1, true, ["id"], { id: 1 }]) {
    await expectInvalid(
      async () => v.verifySubscriptionToken(await hs({ channel: "c", client })),
      `client ${JSON.stringify(client)}`,
    );
  }
  for (const override of ["presence", [1], { presence: true }, { join_leave: { value: 1 } }]) {
    await expectInvalid(
      async () => v.verifySubscriptionToken(await hs({ channel: "c", override })),
      `override ${JSON.stringify(override)}`,
    );
  }
});

test("a connection token is not a subscription token (no channel)", async () => {
  const v = hmacVerifier();
  const connToken = await hs({ sub: "alice", info: { a: 1 } }, { ttl: 60 });
  await expectInvalid(() => v.verifySubscriptionToken(connToken), "connection token used to subscribe");
});

// ---------------------------------------------------------------------------------------------
// Garbage input

const GARBAGE = [
  "",
  " ",
  "random text",
  "abc",
  "a.b",
  "a.b.c",
  "a.b.c.d",
  "...",
  "..",
  ".",
  "eyJ",
  "eyJhbGciOiJIUzI1NiJ9..",
  "eyJhbGciOiJIUzI1NiJ9.e30.",
  "eyJhbGciOiJIUzI1NiJ9.e30.!!!",
  "eyJhbGciOiJIUzI1NiJ9.é.abc",
  "é.é.é",
  "\u0000.\u0000.\u0000",
  "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
  "x".repeat(20_000),
  `${"a".repeat(5000)}.${"b".repeat(5000)}.${"c".repeat(5000)}`,
  "😀.😀.😀",
  "null",
  "{}",
  '{"alg":"HS256"}',
];

test("garbage strings are InvalidTokenError, never another error", async () => {
  const k = await rsa();
  const ec = await p256();
  const v = new TokenVerifier(
    cfg({ token_hmac_secret_key: SECRET, token_rsa_public_key: k.pem, token_ecdsa_public_key: ec.pem }),
  );
  for (const g of GARBAGE) {
    await expectInvalid(() => v.verifyConnectToken(g), `connect ${JSON.stringify(g.slice(0, 40))}`);
    await expectInvalid(() => v.verifySubscriptionToken(g), `subscribe ${JSON.stringify(g.slice(0, 40))}`);
  }
});

test("non-string token values are InvalidTokenError", async () => {
  const v = hmacVerifier();
  for (const g of [undefined, null, 0, 42, true, {}, [], ["a.b.c"], new Uint8Array(3)]) {
    await expectInvalid(() => v.verifyConnectToken(g as unknown as string), `connect ${String(g)}`);
    await expectInvalid(() => v.verifySubscriptionToken(g as unknown as string), `subscribe ${String(g)}`);
  }
});

test("well-signed tokens with malformed headers or payloads are invalid", async () => {
  const v = hmacVerifier();
  const header = '{"alg":"HS256"}';
  const cases: Array<[string, string]> = [
    [header, "[]"],
    [header, '["sub","x"]'],
    [header, "null"],
    [header, "42"],
    [header, '"string"'],
    [header, "not json"],
    [header, ""],
    [header, '{"sub":"x"'],
    ["[]", '{"sub":"x"}'],
    ["null", '{"sub":"x"}'],
    ["not json", '{"sub":"x"}'],
    ['{"alg":"HS256","crit":["exp"]}', '{"sub":"x"}'],
    ['{"alg":"HS256","b64":false,"crit":["b64"]}', '{"sub":"x"}'],
  ];
  for (const [h, p] of cases) {
    const t = await rawHs256(h, p);
    await expectInvalid(() => v.verifyConnectToken(t), `header ${h} payload ${p}`);
    await expectInvalid(() => v.verifySubscriptionToken(t), `subscription: header ${h} payload ${p}`);
  }
  // Invalid UTF-8 inside a validly signed payload.
  const bad = await (async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      enc.encode(SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      [
        "sign",
      ],
    );
    const input = `${b64url(header)}.${b64url(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))}`;
    return `${input}.${b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(input))))}`;
  })();
  await expectInvalid(() => v.verifyConnectToken(bad), "invalid UTF-8 payload");
});

test("claims of the wrong type are InvalidTokenError (never TypeError or unavailable)", async () => {
  const v = hmacVerifier({ token_audience: "aud", token_issuer: "iss" });
  const ok = { aud: "aud", iss: "iss" };
  const bad: Array<Record<string, unknown>> = [
    { sub: 1 },
    { channels: "a" },
    { channels: [1] },
    { subs: [] },
    { subs: { a: 1 } },
    { expire_at: "x" },
    { b64info: 1 },
    { exp: "x" },
    { iat: {} },
    { aud: 1 },
    { aud: [1] },
    { aud: null },
    { iss: ["iss"] },
    { iss: null },
    { channel: "x" },
  ];
  for (const extra of bad) {
    const t = await hs({ ...ok, ...extra });
    const err = await assertRejects(() => v.verifyConnectToken(t), undefined, JSON.stringify(extra));
    assert(
      err instanceof InvalidTokenError,
      `${JSON.stringify(extra)}: expected InvalidTokenError, got ${err}`,
    );
    assert(!(err instanceof TokenVerifierUnavailableError));
  }
});

/** Small deterministic PRNG so fuzz failures are reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("fuzz: random and mutated tokens are either accepted or InvalidTokenError", async () => {
  const v = hmacVerifier();
  const rand = prng(1234);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é{}"';
  const pick = () => alphabet[Math.floor(rand() * alphabet.length)];
  const valid = await hs({ sub: "fuzz", info: { a: 1 }, channels: ["x"] }, { ttl: 3600 });
  for (let i = 0; i < 300; i++) {
    let t: string;
    if (i % 2 === 0) {
      t = Array.from({ length: 1 + Math.floor(rand() * 80) }, pick).join("");
    } else {
      const chars = valid.split("");
      const n = 1 + Math.floor(rand() * 3);
      for (let j = 0; j < n; j++) chars[Math.floor(rand() * chars.length)] = pick();
      t = chars.join("");
    }
    try {
      await v.verifyConnectToken(t);
    } catch (err) {
      assert(
        err instanceof InvalidTokenError,
        `token ${JSON.stringify(t)}: expected InvalidTokenError, got ${err}`,
      );
    }
  }
});
