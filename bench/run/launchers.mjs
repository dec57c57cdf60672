// Starting each kind of server on a fresh port with the same settings (Sluice, Centrifugo, nchan,
// the bare loops of bench/servers/bare_sse.ts), ready once /health answers (and, with workers,
// every worker is in `info`); what a scenario needs of a server: its subscribe path and token,
// its publish request, its batch. One redis-server serves the worker servers of the whole run.
import { execFileSync } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRedis } from "../../test/helpers/redis.mjs";
import { VERBOSE } from "./options.mjs";
import { BENCH, BIN, NCHAN_MODULE } from "./paths.mjs";
import {
  childrenOf,
  cpuSeconds,
  die,
  freePort,
  now,
  pinBench,
  rssKB,
  runDir,
  sleep,
  startProcess,
  stopProcess,
  treeOf,
} from "./processes.mjs";
import { CLIENT_CPU, parseServer, SERVER_CPU } from "./servers.mjs";

const SECRET = "bench-hmac-secret-" + Math.random().toString(36).slice(2);
const API_KEY = "bench-api-key-" + Math.random().toString(36).slice(2);

/** One redis-server for the bench run (for the worker servers), started on first use. */
let redis;
async function benchRedis() {
  if (redis) return redis.port;
  // It outlives each measurement (not in a process group killEverything kills); killed on the way out.
  redis = await startRedis({ port: await freePort() });
  process.on("exit", () => redis.kill());
  return redis.port;
}

function sluiceConfig(port) {
  return {
    address: "127.0.0.1",
    port,
    uni_sse: true,
    // no `retry:` block ahead of the connect push: a subscriber counts as ready at its first event
    uni_sse_retry: 0,
    uni_websocket: true,
    token_hmac_secret_key: SECRET,
    api_key: API_KEY,
    log_level: "warn",
    client_channel_limit: 128,
    // bidirectional SSE (/connection/sse) for the -sse servers; WebSocket is on by default
    sse: true,
    // top-level channels without history or presence: plain fan-out; ping_interval stays 25s
  };
}

/**
 * Centrifugo's v6 config with the same settings as sluiceConfig: the same transports, secret, API
 * key and log level, its defaults otherwise (channel limit 128, pings every 25 s, no history).
 * Usage statistics off: nothing leaves the machine.
 */
function centrifugoConfig(port) {
  return {
    http_server: { address: "127.0.0.1", port },
    client: { token: { hmac_secret_key: SECRET }, channel_limit: 128 },
    http_api: { key: API_KEY },
    uni_sse: { enabled: true },
    uni_websocket: { enabled: true },
    sse: { enabled: true },
    health: { enabled: true },
    log: { level: "warn" },
    usage_stats: { disabled: true },
  };
}

/**
 * Pings on bidirectional SSE (the -sse servers, both kinds): a client answers them through
 * /emulation, which the load client does not do, so at the default 25 s (+ 8 s pong timeout) a
 * server slow to finish a fan-out run cuts every subscriber mid-measurement. Rarer pings keep the
 * measurement about fan-out; both servers of the pair get the same.
 */
const SSE_PING_INTERVAL = "300s";

/** The Centrifugo binary (bench/peers/centrifugo.sh builds it with Go on first use), or why not. */
let centrifugoBin;
export function centrifugoBinary() {
  if (centrifugoBin) return centrifugoBin;
  try {
    const out = execFileSync(join(BENCH, "peers", "centrifugo.sh"), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return (centrifugoBin = out.trim().split("\n").pop());
  } catch (err) {
    const why = String(err.stderr ?? "").trim().split("\n").pop() || err.message;
    die(`Centrifugo is not available: ${why} — or leave the centrifugo* servers out with --servers=`);
  }
}

async function startServer(name) {
  const { kind, rt, ws, protobuf, transport, workers, pinned } = parseServer(name);
  const port = await freePort();
  const dir = mkdtempSync(join(runDir(), `${name}-`));
  // A pinned server runs on SERVER_CPU only (and Go with one P); the bench moves itself off it.
  const launch = (cmd, args, env = {}) =>
    pinned
      ? startProcess("taskset", ["-c", SERVER_CPU, cmd, ...args], {
        env: { ...process.env, ...env, GOMAXPROCS: "1" },
      })
      : startProcess(cmd, args, { env: { ...process.env, ...env } });
  let proc;
  if (kind === "centrifugo") {
    const cfg = join(dir, "config.json");
    const config = centrifugoConfig(port);
    if (transport === "sse") config.client.ping_interval = SSE_PING_INTERVAL;
    writeFileSync(cfg, JSON.stringify(config, null, 2));
    proc = launch(centrifugoBinary(), ["--config", cfg]);
  } else if (kind === "sluice") {
    const cfg = join(dir, "config.json");
    const config = sluiceConfig(port);
    if (transport === "sse") config.ping_interval = SSE_PING_INTERVAL;
    if (workers > 1) {
      const redis = await benchRedis();
      config.plugins = { redis_broker: { address: `redis://127.0.0.1:${redis}`, prefix: `b${port}` } };
    }
    writeFileSync(cfg, JSON.stringify(config, null, 2));
    // BENCH_RUNTIME_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof": a profile of the server under load.
    const flags = (process.env.BENCH_RUNTIME_FLAGS ?? "").split(" ").filter(Boolean);
    const more = workers > 1 ? ["--workers", String(workers)] : [];
    const args = rt === "bun"
      ? [...flags, "mod.ts", "--config", cfg, ...more]
      : ["run", "-A", ...flags, "mod.ts", "--config", cfg, ...more];
    proc = launch(BIN[rt], args, { NO_COLOR: "1" });
  } else if (kind === "bare" || kind === "sink" || kind === "auth") {
    const script = join("bench", "servers", "bare_sse.ts");
    const loop = [
      script,
      "--port",
      String(port),
      ...(kind === "sink" ? ["--sink"] : []),
      ...(kind === "auth" ? ["--auth", SECRET, "--api-key", API_KEY] : []),
    ];
    const flags = (process.env.BENCH_RUNTIME_FLAGS ?? "").split(" ").filter(Boolean);
    const args = rt === "bun" ? [...flags, ...loop] : ["run", "-A", ...flags, ...loop];
    proc = startProcess(BIN[rt], args, { env: { ...process.env, NO_COLOR: "1" } });
  } else {
    const tpl = readFileSync(join(BENCH, "servers", "nchan.conf.template"), "utf8");
    const conf = tpl
      .replaceAll("{{PREFIX}}", dir)
      .replaceAll("{{PORT}}", String(port))
      .replaceAll("{{NOFILE}}", "20000")
      // nginx reclaims connections still reading their request once < 1/16 of the slots are free,
      // so 20000 refused ~250 of 19000 subscribers; file descriptors stay capped at 20000
      .replaceAll("{{WORKER_CONNECTIONS}}", "40000")
      .replaceAll("/usr/lib/nginx/modules/ngx_nchan_module.so", NCHAN_MODULE);
    writeFileSync(join(dir, "nginx.conf"), conf);
    proc = startProcess(BIN.nginx, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"]);
  }
  let tail = "";
  const keep = (d) => {
    tail = (tail + d).slice(-6000);
    if (VERBOSE) process.stderr.write(`[${name}] ${d}`);
  };
  proc.stdout.setEncoding("utf8");
  proc.stderr.setEncoding("utf8");
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);

  const server = {
    name,
    kind,
    runtime: rt,
    port,
    proc,
    pid: proc.pid,
    dead: () => proc.exitCode !== null || proc.signalCode !== null,
    tail: () => {
      let t = tail;
      if (kind === "nchan") {
        try {
          t += readFileSync(join(dir, "error.log"), "utf8").slice(-3000);
        } catch { /* none */ }
      }
      return t.trim().split("\n").slice(-15).join("\n");
    },
    async stop() {
      await stopProcess(proc);
    },
    // With workers: the supervisor and every worker (each a child of it). Their CPU includes the
    // Redis they share (the whole-box pairing counts everything the server side spends).
    rss: () => treeOf(server.pid).reduce((a, pid) => a + rssKB(pid), 0),
    cpu: () => treeOf(server.pid).reduce((a, pid) => a + cpuSeconds(pid), 0) + server.brokerCpu(),
    brokerCpu: () => (workers > 1 && redis ? cpuSeconds(redis.pid) : 0),
    /** The load client's path (and token) for one channel or personal + group. */
    sub(mode) {
      if (kind === "sluice" || kind === "auth" || kind === "centrifugo") {
        return {
          path: protobuf
            ? "/connection/websocket"
            : ws
            ? "/connection/uni_websocket?cf_connect={cf}"
            : transport === "sse"
            ? "/connection/sse?cf_connect={cmd}"
            : "/connection/uni_sse?cf_connect={cf}",
          token: { secret: SECRET, sub: "u{i}", channels: mode === "one" ? ["bench"] : ["u{i}", "g{g}"] },
          ws,
          protobuf,
        };
      }
      if (kind === "nchan" && ws) {
        // nchan sends nothing on a new WebSocket: the subscriber is ready with the 101.
        return { path: mode === "one" ? "/wsub?id=bench" : "/wmsub?a=u{i}&b=g{g}", ws, readyOnHead: true };
      }
      if (kind === "nchan") return { path: mode === "one" ? "/sub?id=bench" : "/msub?a=u{i}&b=g{g}" };
      return { path: mode === "one" ? "/sub?channel=bench" : "/sub?channel=u{i}&channel=g{g}" };
    },
    /** The HTTP request that publishes `payload` (a JSON text) to `channel`. */
    pub(channel, payload) {
      if (kind === "sluice" || kind === "auth" || kind === "centrifugo") {
        return {
          path: "/api/publish",
          headers: { "X-API-Key": API_KEY, "Content-Type": "application/json" },
          body: `{"channel":"${channel}","data":${payload}}`,
        };
      }
      if (kind === "nchan") return { path: `/pub?id=${channel}`, headers: {}, body: payload };
      return { path: `/pub?channel=${channel}`, headers: {}, body: payload };
    },
    /** The bulk path: one `POST /api/batch` of `size` publishes (channel i named by `channelOf(i)`). */
    batch: kind === "sluice" || kind === "centrifugo"
      ? (size, channelOf, payload) => ({
        path: "/api/batch",
        headers: { "X-API-Key": API_KEY, "Content-Type": "application/json" },
        body: `{"commands":[${
          Array.from(
            { length: size },
            (_, i) => `{"publish":{"channel":"${channelOf(i)}","data":${payload}}}`,
          )
            .join(",")
        }]}`,
      })
      : undefined,
  };

  // ready when /health answers
  const t0 = now();
  for (;;) {
    if (server.dead()) throw new Error(`${name} did not start: ${server.tail()}`);
    const ok = await new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
    });
    if (ok) break;
    if (now() - t0 > 30_000) throw new Error(`${name} not healthy after 30 s: ${server.tail()}`);
    await sleep(100);
  }
  if (workers > 1) {
    // ready when every worker answers for itself in `info`
    for (;;) {
      const nodes = await new Promise((resolve) => {
        const req = http.request(
          { host: "127.0.0.1", port, path: "/api/info", method: "POST", headers: { "X-API-Key": API_KEY } },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve(JSON.parse(body)?.result?.nodes?.length ?? 0));
          },
        );
        req.on("error", () => resolve(0));
        req.end("{}");
      });
      if (nodes === workers) break;
      if (now() - t0 > 30_000) throw new Error(`${name}: ${nodes} of ${workers} workers after 30 s`);
      await sleep(200);
    }
  }
  if (kind === "nchan") {
    // RSS and CPU are the worker's (with master_process on, the worker is the master's child)
    for (let i = 0; i < 50 && childrenOf(proc.pid).length === 0; i++) await sleep(50);
    server.pid = childrenOf(proc.pid)[0] ?? proc.pid;
  }
  await sleep(300);
  return server;
}

export async function withServer(name, fn) {
  // Pinned pairing: this process (the publisher) and everything it starts next go to CLIENT_CPU.
  const pinned = parseServer(name).pinned;
  if (pinned) pinBench(CLIENT_CPU);
  try {
    const server = await startServer(name);
    try {
      return await fn(server);
    } finally {
      await server.stop();
    }
  } finally {
    if (pinned) pinBench(null);
  }
}
