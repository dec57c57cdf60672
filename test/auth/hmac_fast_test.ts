/**
 * The fast path for HS* tokens against jose on generated tokens (fast-check), with node:crypto's
 * HMAC and with the runtime's own (`Runtime.hmac`): whatever the fast path accepts, jose accepts
 * with the same payload; it accepts every well-formed valid token (so it is used, not bypassed);
 * everything else goes to jose, whose verdict stands. Headers with other algorithms, `crit`, `b64`;
 * claims of wrong types; times around now; audience and issuer options; tampered signatures, wrong
 * secrets, non-canonical base64, broken JSON.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import fc from "fast-check";
import { jwtVerify } from "jose";
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import { FastHmacVerifier, type Hmac, nodeHmac } from "../../src/auth/hmac_fast.ts";
import { TokenVerifier } from "../../src/auth/jwt.ts";
import { tokenConfig } from "../helpers/tokens.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const runtime = await getRuntime();
const HMACS: Array<[string, Hmac]> = [
  ["node:crypto", nodeHmac],
  [`${runtime.name}'s Runtime.hmac`, runtime.hmac],
];

const SECRET = "fast-path-secret-0123456789";
const HS = ["HS256", "HS384", "HS512"];
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url");

function sign(header: unknown, claims: unknown, secret: string, hashAlg: string): string {
  const h = typeof header === "string" ? b64(header) : b64(JSON.stringify(header));
  const p = typeof claims === "string" ? b64(claims) : b64(JSON.stringify(claims));
  const hash = ({ HS256: "sha256", HS384: "sha384", HS512: "sha512" } as Record<string, string>)[hashAlg] ??
    "sha256";
  const s = createHmac(hash, secret).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${s}`;
}

const weird = fc.constantFrom("soon", null, true);
const between = (min: number, max: number) =>
  fc.oneof(fc.integer({ min, max }), fc.double({ min, max, noNaN: true }));
/** Mostly valid times, sometimes just past the edge, sometimes not a number. */
const time = (now: number, valid: [number, number], invalid: [number, number]) =>
  fc.oneof(
    { weight: 6, arbitrary: between(...valid) },
    { weight: 2, arbitrary: between(...invalid) },
    { weight: 1, arbitrary: fc.constant(now) },
    { weight: 1, arbitrary: weird },
  );
/** Claims around `now` (the property pins the clock: both verifiers see the same second). */
const claimsAround = (now: number) =>
  fc.record({
    sub: fc.oneof(fc.constant("u1"), fc.string(), fc.integer()),
    iss: fc.constantFrom("me", "you", 7, ["me"]),
    aud: fc.oneof(fc.constantFrom("app", "other", ["app", "x"], ["x"], 1, [1])),
    iat: time(now, [now - 100, now + 100], [now - 100, now + 100]),
    nbf: time(now, [now - 100, now - 1], [now + 1, now + 100]),
    exp: time(now, [now + 1, now + 100], [now - 100, now - 1]),
    channels: fc.constantFrom(["a"], "a"),
  }, { requiredKeys: [] });
const alg = fc.constantFrom(...HS, ...HS, "RS256", "none", "", 5);
// Mostly plain headers; sometimes the rare members jose treats specially.
const header = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ alg, typ: fc.constantFrom("JWT", "at+jwt"), kid: fc.string() }, {
      requiredKeys: ["alg"],
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      alg,
      crit: fc.constantFrom(["b64"], [], ["exp"]),
      b64: fc.constantFrom(false, true),
    }, { requiredKeys: ["alg"] }),
  },
);
type Tamper =
  | "none"
  | "signature"
  | "secret"
  | "noncanonical"
  | "noncanonical_payload"
  | "noncanonical_signature"
  | "parts"
  | "header_text"
  | "payload_text";
const tamper = fc.constantFrom<Tamper>(
  "none",
  "none",
  "none",
  "signature",
  "secret",
  "noncanonical",
  "noncanonical_payload",
  "noncanonical_signature",
  "parts",
  "header_text",
  "payload_text",
);

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/**
 * The same bytes in a non-canonical text: a data-less bit of the last character set (base64url
 * decoders ignore those bits). A part whose length leaves no such bits is returned unchanged.
 */
function spoilLast(part: string): string {
  const rest = part.length % 4;
  if (rest === 0) return part;
  const v = ALPHABET.indexOf(part.at(-1)!);
  return part.slice(0, -1) + ALPHABET[v | (rest === 2 ? 0x08 : 0x02)];
}

function build(h: Record<string, unknown>, c: Record<string, unknown>, t: Tamper): string {
  const alg = String(h.alg);
  switch (t) {
    case "secret":
      return sign(h, c, "another-secret", alg);
    case "header_text":
      return sign("{not json", c, SECRET, alg);
    case "payload_text":
      return sign(
        h,
        fc.sample(fc.constantFrom("[1,2]", '"str"', "null", "{bad", "\u00ff"), 1)[0],
        SECRET,
        alg,
      );
    default: {
      const token = sign(h, c, SECRET, alg);
      if (t === "signature") return token.slice(0, -2) + (token.endsWith("A") ? "BB" : "AA");
      if (t === "noncanonical") return token.replace(/^(.*\.)(.)(.*)\.(.*)$/, "$1$2$3.$4=");
      if (t === "parts") return `${token}.x`;
      const [h64, p64, s64] = token.split(".");
      if (t === "noncanonical_signature") return `${h64}.${p64}.${spoilLast(s64)}`;
      if (t === "noncanonical_payload") {
        // signed as sent: only the encoding of the payload is off
        const signingInput = `${h64}.${spoilLast(p64)}`;
        const hash = ({ HS256: "sha256", HS384: "sha384", HS512: "sha512" } as Record<string, string>)[alg] ??
          "sha256";
        return `${signingInput}.${createHmac(hash, SECRET).update(signingInput).digest("base64url")}`;
      }
      return token;
    }
  }
}

async function jose(token: string, opts: { audience?: string; issuer?: string }, now: number) {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      algorithms: HS,
      ...opts,
      currentDate: new Date(now * 1000),
    });
    return { ok: true as const, payload };
  } catch (err) {
    return { ok: false as const, error: (err as Error).name };
  }
}

for (const [name, hmac] of HMACS) {
  test(`HS fast path (${name}): accepts only what jose accepts (same payload), and every well-formed valid token`, async () => {
    let accepted = 0;
    let wellFormedValid = 0;
    const now = Math.floor(Date.now() / 1000);
    // One verifier per option set, shared by the runs: headers it learnt from earlier tokens must not
    // let a later (tampered) token through.
    const verifiers = new Map<string, FastHmacVerifier>();
    const verifierFor = (opts: { audience?: string; issuer?: string }) => {
      const key = `${opts.audience}|${opts.issuer}`;
      let v = verifiers.get(key);
      if (!v) verifiers.set(key, v = new FastHmacVerifier(SECRET, { algorithms: HS, ...opts, hmac }));
      return v;
    };
    await fc.assert(
      fc.asyncProperty(
        header,
        claimsAround(now),
        tamper,
        fc.constantFrom(undefined, "app"),
        fc.constantFrom(undefined, "me"),
        async (h, c, t, audience, issuer) => {
          const token = build(h, c, t);
          const opts = { audience, issuer };
          const fast = verifierFor(opts).verify(token, now);
          const reference = await jose(token, opts, now);
          if (fast) {
            accepted++;
            assert(
              reference.ok,
              `fast accepted what jose refused (${reference.ok || reference.error}): ${token}`,
            );
            assertEquals(fast, reference.payload);
          }
          // A tamper that had nothing to spoil (a part with no data-less bits) leaves the token as made.
          const untampered = t === "none" || token === build(h, c, "none");
          const plain = untampered && HS.includes(h.alg as string) && !("crit" in h) && !("b64" in h);
          if (plain && reference.ok) {
            wellFormedValid++;
            assert(fast !== undefined, `a plain valid token went to jose: ${token}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
    assert(
      accepted > 30 && wellFormedValid === accepted,
      `accepted ${accepted}, well-formed valid ${wellFormedValid}`,
    );
  });
}

for (const [name, hmac] of HMACS) {
  test(`TokenVerifier with the fast path (${name}) answers as jose: claims, expiry (109 path), not-yet-valid, wrong key`, async () => {
    const v = new TokenVerifier(tokenConfig({ token_hmac_secret_key: SECRET }), { hmac });
    const now = Math.floor(Date.now() / 1000);
    const ok = sign({ alg: "HS256" }, { sub: "42", exp: now + 60, channels: ["x"] }, SECRET, "HS256");
    assertEquals((await v.verifyConnectToken(ok)).user, "42");
    const expired = sign({ alg: "HS256" }, { sub: "42", exp: now - 1 }, SECRET, "HS256");
    assertEquals(await v.verifyConnectToken(expired).catch((e) => e.name), "TokenExpiredError");
    const early = sign({ alg: "HS512" }, { sub: "42", nbf: now + 60 }, SECRET, "HS512");
    assertEquals(await v.verifyConnectToken(early).catch((e) => e.name), "TokenExpiredError");
    const forged = sign({ alg: "HS256" }, { sub: "42" }, "not-the-secret", "HS256");
    assertEquals(await v.verifyConnectToken(forged).catch((e) => e.name), "InvalidTokenError");
    const badType = sign({ alg: "HS256" }, { sub: 42 }, SECRET, "HS256");
    assertEquals(await v.verifyConnectToken(badType).catch((e) => e.name), "InvalidTokenError");
  });
}
