// What the density scripts (bun_objects.mjs, deno_objects.mjs) share: a free port, Sluice's uni_sse
// config for them, waiting for the server's /health, and idle uni_sse connections opened the way the
// idle benchmark opens them (an HS256 token each; channels "one": "bench", "two": "u<i>", "g<i % 100>").
import http from "node:http";
import net from "node:net";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Writes the config both scripts serve with into `dir`; returns its path. */
export function writeDensityConfig(dir, port, secret) {
  const file = join(dir, "config.json");
  writeFileSync(
    file,
    JSON.stringify({
      address: "127.0.0.1",
      port,
      uni_sse: true,
      uni_sse_retry: 0,
      token_hmac_secret_key: secret,
      api_key: "density",
      log_level: "warn",
      client_channel_limit: 128,
    }),
  );
  return file;
}

/** Resolves once the server on `port` answers /health with 200. */
export async function waitForHealth(port) {
  for (;;) {
    const ok = await new Promise((res) => {
      const r = http.get({ host: "127.0.0.1", port, path: "/health" }, (x) => {
        x.resume();
        res(x.statusCode === 200);
      });
      r.on("error", () => res(false));
    });
    if (ok) return;
    await sleep(200);
  }
}

export const channelsOf = (i, channels) => channels === "one" ? ["bench"] : [`u${i}`, `g${i % 100}`];

const b64 = (s) => Buffer.from(s).toString("base64url");
const JWT_HEAD = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));

/** Sluice's uni_sse path for connection `i`, its token signed with `secret`. */
export function uniSsePath(i, channels, secret) {
  const body = `${JWT_HEAD}.${b64(JSON.stringify({ sub: `u${i}`, channels: channelsOf(i, channels) }))}`;
  const jwt = `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
  return `/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token: jwt }))}`;
}

/** An idle SSE connection to `path`; `ready` resolves once `readyText` has arrived. */
export function openIdle(port, path, readyText) {
  const s = net.connect({ host: "127.0.0.1", port });
  s.on("connect", () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`));
  s.on("error", () => {});
  let seen = "";
  const ready = new Promise((res) =>
    s.on("data", (d) => {
      seen += d;
      if (seen.includes(readyText)) res();
    })
  );
  return { s, ready };
}
