// Shared parts of the soak campaign (bench/soak/run.mjs): Sluice processes started as users start
// them (`mod.ts --config`, Bun or Deno), their resident memory from /proc, a keep-alive API client,
// connection tokens, a real redis-server (test/helpers/redis.mjs), and a raw uni_http_stream client
// that recovers.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRedis as startRedisServer } from "../../test/helpers/redis.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SECRET = "soak-secret-0123456789";
export const API_KEY = "soak-api-key";
const BIN = {
  bun: join(ROOT, "node_modules", ".bin", "bun"),
  deno: join(ROOT, "node_modules", ".bin", "deno"),
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes) => Math.round(bytes / 1048576);

/** Resident memory of a process, bytes. */
export function rss(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
  } catch {
    return 0;
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `mod.ts --config <file>` under `runtime` ("bun" | "deno"); resolves once it listens.
 * `maxFiles` runs it under `ulimit -n`. The process is killed when the campaign exits.
 */
export async function startSluice(runtime, config, { maxFiles, port = 0 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-soak-"));
  const file = join(dir, "config.json");
  writeFileSync(
    file,
    JSON.stringify({ api_key: API_KEY, token_hmac_secret_key: SECRET, port, ...config }),
  );
  const args = runtime === "deno"
    ? ["run", "-A", join(ROOT, "mod.ts"), "--config", file]
    : [join(ROOT, "mod.ts"), "--config", file];
  const child = maxFiles
    ? spawn("sh", ["-c", `ulimit -n ${maxFiles} && exec "$0" "$@"`, BIN[runtime], ...args], { cwd: ROOT })
    : spawn(BIN[runtime], args, { cwd: ROOT });
  let out = "";
  const counts = new Map(); // log messages counted as they stream by (the kept output is a tail)
  const keep = (d) => {
    const text = d.toString();
    for (const m of text.matchAll(/(?:INFO|WARN|ERROR)\s+([a-z][^=\n]*?)(?:\s+\w+=|\n)/g)) {
      counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    }
    out += text;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  const started = Date.now();
  let listenPort;
  while (!(listenPort = /address=[^\s:]+:(\d+)/.exec(out)?.[1])) {
    if (child.exitCode !== null || Date.now() - started > 20_000) {
      throw new Error(`sluice (${runtime}) did not start:\n${out.slice(-2000)}`);
    }
    await sleep(50);
  }
  const proc = {
    runtime,
    pid: child.pid,
    port: Number(listenPort),
    url: `http://127.0.0.1:${listenPort}`,
    exited,
    output: () => out,
    /** How often a log message was written (text format: `LEVEL  message key=…`). */
    logged: (msg) => counts.get(msg) ?? 0,
    rss: () => rss(child.pid),
    alive: () => child.exitCode === null && child.signalCode === null,
    kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  cleanups.push(() => {
    proc.kill();
    rmSync(dir, { recursive: true, force: true }); // the config file
  });
  return proc;
}

const cleanups = [];
export async function cleanupAll() {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // already gone
    }
  }
}
process.on("exit", () => {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // ignore
    }
  }
});

/** HS256 connection token. */
export function token(claims) {
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const head = enc({ alg: "HS256", typ: "JWT" });
  const body = enc({ exp: Math.floor(Date.now() / 1000) + 86_400, ...claims });
  return `${head}.${body}.${createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url")}`;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** POST /api/<method>; resolves {status, body} (body parsed when JSON), never rejects. */
export function api(baseUrl, method, params, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const body = JSON.stringify(params);
    const req = http.request(`${baseUrl}/api/${method}`, {
      method: "POST",
      agent,
      headers: {
        "X-API-Key": API_KEY,
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
      },
      timeout: timeoutMs,
    }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let parsed;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        resolve({ status: res.statusCode, body: parsed });
      });
      res.on("error", () => resolve({ status: 0, body: "response error" }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end(body);
  });
}

/** GET /health: the status and how long it took (status 0 = no answer within `timeoutMs`). */
export async function health(baseUrl, timeoutMs = 5_000) {
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { status: res.status, ms: Date.now() - started };
  } catch {
    return { status: 0, ms: Date.now() - started };
  }
}

/** A real redis-server with an append-only file fsynced on every write (kill -9 loses nothing acknowledged). */
export async function startRedis() {
  const redis = await startRedisServer({ persistent: true });
  cleanups.push(() => redis.kill());
  return redis;
}

/**
 * A uni_http_stream subscriber over a raw socket that comes back after every disconnect with the
 * position it reached (`subs: {ch: {recover, offset, epoch}}`), the way a careful client would:
 * `onPub(channel, pub)` sees every publication; `offsets` is the set received per channel.
 * `ports()` picks the node to (re)connect to.
 */
export class RecoveringSubscriber {
  constructor({ ports, user, channels, reconnectMs = 200 }) {
    this.ports = ports;
    this.user = user;
    this.channels = channels;
    this.reconnectMs = reconnectMs;
    this.positions = new Map(); // channel -> {offset, epoch}
    this.received = new Map(channels.map((c) => [c, new Set()]));
    this.duplicates = 0;
    this.unrecovered = 0;
    this.connects = 0;
    this.disconnects = new Map(); // code -> count
    this.stopped = false;
    /** Connected and subscribed right now. */
    this.live = false;
    /** What happened to this subscriber, for a report on what it missed. */
    this.history = [];
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    this.sock?.destroy();
  }

  connect() {
    if (this.stopped) return;
    const subs = {};
    for (const [ch, p] of this.positions) subs[ch] = { recover: true, offset: p.offset, epoch: p.epoch };
    const body = JSON.stringify({ token: token({ sub: this.user, channels: this.channels }), subs });
    const port = this.ports();
    this.history.push(`${Date.now() % 100000} connect :${port} ${JSON.stringify(subs)}`);
    const sock = net.connect(port, "127.0.0.1");
    this.sock = sock;
    // An HTTP/1.1 chunked body of newline-delimited JSON, parsed in O(bytes): a reader must keep up
    // with 1 MB/s, or the server rightly cuts it as slow.
    let head = "";
    let headDone = false;
    let pending = Buffer.alloc(0); // undecoded chunked-encoding bytes
    let chunkLeft = -1; // bytes left in the current chunk; -1 = a size line comes next
    let partial = ""; // an incomplete line
    let ended = false;
    sock.on("connect", () => {
      sock.write(
        `POST /connection/uni_http_stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${
          Buffer.byteLength(body)
        }\r\n\r\n${body}`,
      );
    });
    sock.on("data", (d) => {
      if (!headDone) {
        head += d.toString("latin1");
        const at = head.indexOf("\r\n\r\n");
        if (at < 0) return;
        if (!head.startsWith("HTTP/1.1 200")) {
          sock.destroy();
          return;
        }
        headDone = true;
        d = Buffer.from(head.slice(at + 4), "latin1");
      }
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      const parts = [];
      let at = 0;
      while (at < pending.length) {
        if (chunkLeft < 0) {
          const eol = pending.indexOf("\r\n", at);
          if (eol < 0) break;
          chunkLeft = parseInt(pending.toString("latin1", at, eol), 16);
          at = eol + 2;
          if (chunkLeft === 0) {
            ended = true;
            break;
          }
        }
        const take = Math.min(chunkLeft, pending.length - at);
        parts.push(pending.subarray(at, at + take));
        at += take;
        chunkLeft -= take;
        if (chunkLeft > 0) break;
        if (pending.length - at < 2) {
          chunkLeft = 0; // the chunk's CRLF has not arrived yet
          break;
        }
        at += 2;
        chunkLeft = -1;
      }
      pending = pending.subarray(at);
      const lines = (partial + Buffer.concat(parts).toString("utf8")).split("\n");
      partial = lines.pop();
      for (const line of lines) if (line && line !== "{}") this.handle(JSON.parse(line));
      if (ended) sock.destroy();
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.live = false;
      if (!this.stopped) setTimeout(() => this.connect(), this.reconnectMs);
    });
  }

  handle(m) {
    if (m.connect) {
      this.connects++;
      this.live = true;
      this.history.push(`${Date.now() % 100000} connected ${JSON.stringify(m.connect.subs).slice(0, 300)}`);
      for (const [ch, s] of Object.entries(m.connect.subs ?? {})) {
        // Omitted when false, as in Centrifugo: asked to recover and not told "recovered".
        if (s.was_recovering && !s.recovered) this.unrecovered++;
        for (const pub of s.publications ?? []) this.pub(ch, pub);
        if (s.epoch !== undefined) {
          const prev = this.positions.get(ch);
          this.positions.set(ch, {
            offset: Math.max(prev?.epoch === s.epoch ? prev.offset : 0, s.offset ?? 0),
            epoch: s.epoch,
          });
        }
      }
    } else if (m.pub) {
      this.pub(m.channel, m.pub);
    } else if (m.disconnect) {
      this.history.push(
        `${Date.now() % 100000} disconnect ${m.disconnect.code} at ${JSON.stringify([...this.positions])}`,
      );
      this.disconnects.set(m.disconnect.code, (this.disconnects.get(m.disconnect.code) ?? 0) + 1);
    } else if (m.unsubscribe) {
      this.sock?.destroy(); // come back with the position: the server recovers what was missed
    }
  }

  pub(channel, pub) {
    const set = this.received.get(channel);
    if (!set) return;
    if (set.has(pub.offset)) this.duplicates++;
    set.add(pub.offset);
    const p = this.positions.get(channel);
    if (p && pub.offset > p.offset) p.offset = pub.offset;
  }
}
