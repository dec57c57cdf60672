/**
 * µs per HS256 connection token for each way of checking its signature, in one process and in
 * alternating rounds (a shared machine's noise then hits them alike): node:crypto `createHmac`,
 * `crypto.subtle.sign` / `.verify` awaited with a CryptoKey imported once, jose's `jwtVerify` with
 * that key, and the runtime's choice
 * (`Runtime.hmac`). Three token shapes: Centrifugo's smallest (`sub`, `exp`), the connect bench's
 * (two channels) and one with `iat` and connection `info`. Run on both runtimes:
 *
 *   npx bun bench/micro/hmac_primitives.ts [count]
 *   npx deno run -A bench/micro/hmac_primitives.ts [count]
 */
import { SignJWT } from "jose";
import { jwtVerify } from "jose";
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import { getRuntime } from "../../src/runtime/serve.ts";
import { constantTimeEqual } from "../../src/auth/constant_time.ts";

const argv: string[] = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const count = Number(argv.find((a) => /^\d+$/.test(a)) ?? 50000);
const ROUNDS = 5;
const runtime = await getRuntime();
const secret = "micro-secret-0123456789";
const keyBytes = new TextEncoder().encode(secret);
const cryptoKey = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
  "sign",
  "verify",
]);

const SHAPES: Record<string, (i: number) => Record<string, unknown>> = {
  minimal: (i) => ({ sub: `u${i}` }),
  bench: (i) => ({ sub: `u${i}`, channels: [`u${i}`, `g${i % 100}`] }),
  info: (i) => ({
    sub: crypto.randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    info: { name: `User ${i}`, avatar: `https://example.com/a/${i}.png`, role: "member" },
  }),
};

/** 1000 tokens of a shape, split at the last dot: what is signed, and the signature. */
async function tokensOf(
  shape: (i: number) => Record<string, unknown>,
): Promise<Array<[string, string, string]>> {
  const out: Array<[string, string, string]> = [];
  for (let i = 0; i < 1000; i++) {
    const t = await new SignJWT(shape(i)).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setExpirationTime(
      "1h",
    )
      .sign(keyBytes);
    const dot = t.lastIndexOf(".");
    out.push([t, t.slice(0, dot), t.slice(dot + 1)]);
  }
  return out;
}

type Check = (token: string, signed: string, signature: string) => boolean | Promise<boolean>;
const encoder = new TextEncoder();
const runtimeSign = runtime.hmac("sha256", keyBytes);
const CHECKS: Record<string, Check> = {
  "node:crypto createHmac": (_, d, s) =>
    constantTimeEqual(createHmac("sha256", keyBytes).update(d).digest("base64url"), s),
  "subtle.sign (cached key)": async (_, d, s) =>
    constantTimeEqual(
      Buffer.from(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(d))).toString("base64url"),
      s,
    ),
  "subtle.verify (cached key)": (_, d, s) =>
    crypto.subtle.verify("HMAC", cryptoKey, Buffer.from(s, "base64url"), encoder.encode(d)),
  "jose jwtVerify (cached key)": async (
    t,
  ) => (await jwtVerify(t, cryptoKey, { algorithms: ["HS256"] }), true),
  [`Runtime.hmac (${runtime.name})`]: (_, d, s) => constantTimeEqual(runtimeSign(d), s),
};

async function timeOne(check: Check, tokens: Array<[string, string, string]>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const [t, d, s] = tokens[i % tokens.length];
    let ok = check(t, d, s);
    if (ok instanceof Promise) ok = await ok;
    if (!ok) throw new Error("a valid token was refused");
  }
  return (performance.now() - t0) * 1000 / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${runtime.name} ${runtime.version}: µs per HS256 token, median of ${ROUNDS} rounds [min–max]`);
for (const [shapeName, shape] of Object.entries(SHAPES)) {
  const tokens = await tokensOf(shape);
  const lengths = tokens.map(([t]) => t.length).sort((a, b) => a - b);
  console.log(`${shapeName} tokens: ${lengths[0]}–${lengths.at(-1)} characters`);
  const times: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, check] of Object.entries(CHECKS)) {
      // jose and subtle are 10–50× slower: fewer tokens keep the run short.
      const n = name.startsWith("jose") || name.startsWith("subtle") ? count / 10 : count;
      if (r === 0) await timeOne(check, tokens, 2000); // warm-up
      (times[name] ??= []).push(await timeOne(check, tokens, n));
    }
  }
  for (const [name, xs] of Object.entries(times)) {
    console.log(
      `  ${name.padEnd(30)} ${median(xs).toFixed(2).padStart(7)}  [${Math.min(...xs).toFixed(2)}–${
        Math.max(...xs).toFixed(2)
      }]`,
    );
  }
}
