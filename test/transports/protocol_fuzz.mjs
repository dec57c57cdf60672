/**
 * @module
 * The protocol fuzzer, shared by the test suite (a few hundred cases per run) and the soak
 * campaign (`npm run soak -- --only=fuzz`, many thousands against a server process): fast-check
 * arbitraries for every way a client or a backend talks to Sluice, and the oracle every answer
 * must satisfy. Plain JavaScript so that Node (the soak), Deno and Bun (the suite) all import it.
 *
 * The oracle: no 5xx ever; a refusal is an HTTP 4xx; a stream carries only well-formed JSON
 * messages whose error codes are Centrifugo's (100–199 or an app's 400–1999) and whose disconnect
 * codes are 3000–4999; an API answer is `{result}` or `{error: {code}}` with such a code.
 */
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";

const b64url = (s) => Buffer.from(s).toString("base64url");

/** An HS256 JWT over arbitrary claims, signed with the server's secret (so claims get checked). */
export function signedToken(claims, secret, alg = "HS256") {
  const head = b64url(JSON.stringify({ alg, typ: "JWT" }));
  const body = b64url(typeof claims === "string" ? claims : JSON.stringify(claims));
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg] ?? "sha256";
  const sig = createHmac(hash, secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** JSON values of every shape, small. */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Strings a channel name could be: ordinary, namespaced, private, user-limited, hostile. */
export const channelName = fc.oneof(
  fc.constantFrom("news", "chat:1", "feed:a", "$private", "dialog#1,2", "unknown:x", "", ":", "#"),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.constant("x".repeat(300)),
);

/** Token claims: right and wrong types for every claim Sluice reads. */
const claims = fc.record({
  sub: fc.oneof(fc.string({ maxLength: 12 }), anyJson),
  exp: fc.oneof(
    fc.constant(Math.floor(Date.now() / 1000) + 3600),
    fc.integer({ min: -2e9, max: 4e9 }),
    fc.double(),
    fc.string({ maxLength: 12 }),
  ),
  channels: fc.oneof(fc.array(channelName, { maxLength: 4 }), anyJson),
  subs: fc.oneof(fc.dictionary(channelName, anyJson, { maxKeys: 3 }), anyJson),
  info: anyJson,
  b64info: fc.oneof(fc.base64String({ maxLength: 24 }), anyJson),
  meta: anyJson,
  expire_at: fc.oneof(fc.integer(), anyJson),
  channel: channelName,
  aud: anyJson,
  iss: anyJson,
}, { requiredKeys: [] });

/** Tokens: signed with arbitrary claims, forged, alg "none", wrong algorithm, or garbage. */
export function tokenArb(secret) {
  return fc.oneof(
    { weight: 4, arbitrary: claims.map((c) => signedToken(c, secret)) },
    claims.map((c) => signedToken(c, "wrong-secret")),
    claims.map((c) => `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(c))}.`),
    claims.map((c) => signedToken(c, secret, "RS256")),
    fc.string({ maxLength: 60 }),
    fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((p) => p.join(".")),
  );
}

const commandNames = [
  "connect",
  "subscribe",
  "unsubscribe",
  "publish",
  "presence",
  "presence_stats",
  "history",
  "ping",
  "send",
  "rpc",
  "refresh",
  "sub_refresh",
  "bogus",
];

/** One protocol command: right and wrong ids, methods and field types. */
export function commandArb(secret) {
  const body = fc.record({
    token: fc.oneof(tokenArb(secret), anyJson),
    channel: channelName,
    data: anyJson,
    recover: fc.oneof(fc.boolean(), anyJson),
    offset: fc.oneof(fc.integer({ min: -5, max: 2 ** 53 }), anyJson),
    epoch: fc.oneof(fc.string({ maxLength: 10 }), anyJson),
    limit: fc.oneof(fc.integer({ min: -2, max: 1e6 }), anyJson),
    since: anyJson,
    subs: fc.oneof(fc.dictionary(channelName, anyJson, { maxKeys: 3 }), anyJson),
    method: fc.string({ maxLength: 10 }),
    flag: fc.oneof(fc.integer(), anyJson),
  }, { requiredKeys: [] });
  return fc.record({
    id: fc.oneof(fc.nat(1000), fc.integer(), fc.constant(0), anyJson),
    method: fc.constantFrom(...commandNames),
    body: fc.oneof(body, anyJson),
    extra: fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 2 }),
  }, { requiredKeys: ["method", "body"] }).map((c) => ({ ...c.extra, id: c.id, [c.method]: c.body }));
}

/** A frame of newline-delimited commands, or bytes that are not JSON at all. */
function framesArb(secret) {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.array(commandArb(secret), { minLength: 1, maxLength: 4 }).map((cs) =>
        cs.map((c) => JSON.stringify(c)).join("\n")
      ),
    },
    fc.string({ maxLength: 200 }),
    fc.string({ unit: "binary", maxLength: 200 }),
    anyJson.map((v) => JSON.stringify(v)),
  );
}

const API_METHODS = [
  "publish",
  "broadcast",
  "subscribe",
  "unsubscribe",
  "disconnect",
  "refresh",
  "presence",
  "presence_stats",
  "history",
  "history_remove",
  "channels",
  "info",
  "batch",
  "nonexistent",
];

/**
 * One HTTP request a hostile client or a buggy backend could send: `{method, path, headers, body,
 * kind}`. `kind` says which oracle applies ("stream", "api", "emulation", "plain").
 */
export function requestArb({ secret, apiKey }) {
  const frames = framesArb(secret);
  const connectBody = fc.oneof(
    { weight: 3, arbitrary: commandArb(secret).map((c) => JSON.stringify(c)) },
    fc.record({ token: tokenArb(secret) }).map((c) => JSON.stringify({ id: 1, connect: c })),
    frames,
  );
  const uniConnect = fc.oneof(
    fc.record({
      token: tokenArb(secret),
      subs: fc.oneof(fc.dictionary(channelName, anyJson, { maxKeys: 3 }), anyJson),
      data: anyJson,
    }, { requiredKeys: [] }).map((r) => JSON.stringify(r)),
    frames,
  );
  const apiBody = fc.oneof(
    fc.record({
      channel: channelName,
      channels: fc.oneof(fc.array(channelName, { maxLength: 3 }), anyJson),
      data: anyJson,
      b64data: fc.oneof(fc.base64String({ maxLength: 20 }), anyJson),
      user: fc.oneof(fc.string({ maxLength: 6 }), anyJson),
      client: anyJson,
      limit: fc.oneof(fc.integer({ min: -2, max: 1e9 }), anyJson),
      since: anyJson,
      disconnect: anyJson,
      commands: fc.oneof(
        fc.array(
          fc.dictionary(fc.constantFrom(...API_METHODS), anyJson, { maxKeys: 1, minKeys: 1 }),
          { maxLength: 4 },
        ),
        anyJson,
      ),
      idempotency_key: anyJson,
      tags: anyJson,
      expire_at: anyJson,
    }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
    fc.string({ maxLength: 100 }),
  );
  return fc.oneof(
    connectBody.map((body) => ({ kind: "stream", method: "POST", path: "/connection/http_stream", body })),
    connectBody.map((body) => ({
      kind: "stream",
      method: "GET",
      path: `/connection/sse?cf_connect=${encodeURIComponent(body)}`,
    })),
    uniConnect.map((body) => ({ kind: "stream", method: "POST", path: "/connection/uni_http_stream", body })),
    uniConnect.map((body) => ({
      kind: "stream",
      method: "GET",
      path: `/connection/uni_sse?cf_connect=${encodeURIComponent(body)}`,
    })),
    fc.record({
      session: fc.oneof(fc.uuid(), anyJson),
      node: anyJson,
      data: fc.oneof(frames, anyJson),
    }, { requiredKeys: [] }).map((b) => ({
      kind: "plain",
      method: "POST",
      path: "/emulation",
      body: JSON.stringify(b),
    })),
    fc.tuple(fc.constantFrom(...API_METHODS), apiBody).map(([m, body]) => ({
      kind: "api",
      method: "POST",
      path: `/api/${m}`,
      headers: { "X-API-Key": apiKey },
      body,
    })),
    fc.tuple(
      fc.constantFrom("GET", "PUT", "DELETE", "OPTIONS", "PATCH"),
      fc.constantFrom(
        "/connection/http_stream",
        "/connection/uni_http_stream",
        "/emulation",
        "/api/publish",
        "/health",
      ),
    ).map(([method, path]) => ({ kind: "plain", method, path })),
  );
}

const CENTRIFUGO_ERROR = (code) => Number.isInteger(code) && code >= 100 && code <= 1999;
const DISCONNECT = (code) => Number.isInteger(code) && code >= 3000 && code <= 4999;

/** Text a stream brings within `ms` (or until it ends). */
async function readFor(reader, dec, ms) {
  let text = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise((r) => setTimeout(() => r({ timeout: true }), Math.max(1, deadline - Date.now()))),
    ]);
    if (next.timeout || next.done) break;
    text += dec.decode(next.value, { stream: true });
  }
  return text;
}

/** Violations among a stream's message payloads (each must be JSON the oracle accepts). */
function checkMessages(payloads) {
  const problems = [];
  for (const p of payloads) {
    let m;
    try {
      m = JSON.parse(p);
    } catch {
      problems.push(`stream message is not JSON: ${p.slice(0, 80)}`);
      continue;
    }
    const wrong = checkMessage(m);
    if (wrong) problems.push(wrong);
  }
  return problems;
}

/** Checks one message of a stream; returns a description of what is wrong, or undefined. */
function checkMessage(m) {
  if (m === null || typeof m !== "object" || Array.isArray(m)) return `not an object: ${JSON.stringify(m)}`;
  const disconnect = m.disconnect ?? m.push?.disconnect;
  if (disconnect && !DISCONNECT(disconnect.code)) return `disconnect code ${disconnect.code}`;
  if (m.error && !CENTRIFUGO_ERROR(m.error.code)) return `error code ${m.error.code}`;
  return undefined;
}

/**
 * Sends one request and checks the answer against the oracle. Streams are read for at most
 * `streamMs` (a connect that succeeds stays open). Resolves to a list of violations (empty = ok).
 */
export async function checkRequest(baseUrl, req, { streamMs = 300 } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), streamMs + 2000);
  const problems = [];
  try {
    const res = await fetch(baseUrl + req.path, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
      signal: ac.signal,
    });
    if (res.status >= 500) problems.push(`${req.method} ${req.path.slice(0, 60)}: HTTP ${res.status}`);
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel().catch(() => {});
      return problems;
    }
    if (req.kind === "api") {
      const text = await res.text();
      let v;
      try {
        v = JSON.parse(text);
      } catch {
        problems.push(`api answer is not JSON: ${text.slice(0, 80)}`);
        return problems;
      }
      const code = v?.error?.code;
      if (v?.error !== undefined && !CENTRIFUGO_ERROR(code)) problems.push(`api error code ${code}`);
      // (a batch with no commands answers `{}`, as Centrifugo's does)
      const emptyBatch = req.path.endsWith("/batch") && text.trim() === "{}";
      if (v?.error === undefined && v?.result === undefined && v?.replies === undefined && !emptyBatch) {
        problems.push(`api answer without result: ${text.slice(0, 80)}`);
      }
      return problems;
    }
    if (req.kind !== "stream") {
      await res.body.cancel().catch(() => {});
      return problems;
    }
    // Read what arrives within streamMs; check every complete message.
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    buf += await readFor(reader, dec, streamMs);
    ac.abort();
    const payloads = req.path.includes("sse")
      ? buf.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).filter(Boolean)
      : buf.split("\n").filter((l) => l.trim() !== "");
    problems.push(...checkMessages(payloads));
  } catch (err) {
    if (!ac.signal.aborted) problems.push(`${req.method} ${req.path.slice(0, 60)}: ${err?.message ?? err}`);
  } finally {
    clearTimeout(timer);
  }
  return problems;
}

/** Frames of fuzzed commands for one live session (see `checkSession`). */
export function sessionFramesArb(secret) {
  return fc.array(framesArb(secret), { minLength: 1, maxLength: 5 });
}

/**
 * Opens a real session (http_stream, a valid token for user "fuzz"), sends `frames` to it through
 * `/emulation`, reads its stream for `streamMs` and checks every message. Violations, or [].
 */
export async function checkSession(baseUrl, secret, frames, { streamMs = 300 } = {}) {
  const problems = [];
  const ac = new AbortController();
  const token = signedToken({ sub: "fuzz", exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
  try {
    const res = await fetch(`${baseUrl}/connection/http_stream`, {
      method: "POST",
      body: JSON.stringify({ id: 1, connect: { token } }),
      signal: ac.signal,
    });
    if (res.status !== 200) return [`session: HTTP ${res.status}`];
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    while (!buf.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) return ["session: stream ended before the connect reply"];
      buf += dec.decode(value, { stream: true });
    }
    const connect = JSON.parse(buf.slice(0, buf.indexOf("\n"))).connect;
    if (!connect?.session) return [`session: no connect reply: ${buf.slice(0, 120)}`];
    buf = buf.slice(buf.indexOf("\n") + 1);
    for (const data of frames) {
      const r = await fetch(`${baseUrl}/emulation`, {
        method: "POST",
        body: JSON.stringify({ session: connect.session, node: connect.node, data }),
      });
      await r.body?.cancel().catch(() => {});
      if (r.status >= 500) problems.push(`emulation: HTTP ${r.status}`);
    }
    buf += await readFor(reader, dec, streamMs);
    problems.push(...checkMessages(buf.split("\n").filter((l) => l.trim() !== "")));
  } catch (err) {
    if (!ac.signal.aborted) problems.push(`session: ${err?.message ?? err}`);
  } finally {
    ac.abort();
  }
  return problems;
}

/** The config a fuzzed server runs with: every transport and feature the fuzzer can reach. */
export const FUZZ_CONFIG = {
  http_stream: true,
  sse: true,
  uni_sse: true,
  uni_http_stream: true,
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
  allow_presence_for_subscriber: true,
  allow_history_for_subscriber: true,
  presence: true,
  history_size: 10,
  history_ttl: "60s",
  namespaces: [
    { name: "chat", allow_subscribe_for_client: true, allow_publish_for_client: true, join_leave: true },
    { name: "feed", history_size: 10, history_ttl: "60s", force_recovery: true },
  ],
  allow_user_limited_channels: true,
};

export { fc };
