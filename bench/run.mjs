#!/usr/bin/env node
// Sluice benchmarks side by side with Centrifugo, nchan and a bare SSE loop — one command, one machine.
//
//   npm run bench                     # everything (≈ 50 min; redis-server for the -w2 servers, Go
//                                     # for Centrifugo: bench/peers/centrifugo.sh builds it)
//   node bench/run.mjs --quick        # small sizes, a smoke run (≈ 5 min)
//   node bench/run.mjs --only=fanout,idle --servers=sluice-bun,nchan --json=out.json
//   node bench/run.mjs --pairing=core # Sluice vs Centrifugo, one core each (also: box, or core,box)
//
// Scenarios: fanout, idle, connect, storm, many, publish (wrk). Servers: sluice-bun, sluice-deno, nchan, bare-bun,
// bare-deno, and (fanout and many only, unless named in --servers) sink-bun, sink-deno: the bare
// loop writing through Sluice's StreamWriter; (connect, storm and publish only) auth-bun, auth-deno:
// the bare loop with Sluice's HS256 token check and a connect push, and an API-key checked JSON
// publish; centrifugo* and the Sluice servers paired with them (PAIRINGS). Every server runs
// alone, one after another, fresh for every measurement; load comes
// from bench/load_client.mjs workers (raw TCP, ≤ 9000 connections each) and publishes from this
// process, all on 127.0.0.1. Figures are measured and reported, never asserted. See bench/README.md.
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH = join(ROOT, "bench");
const BIN = {
  bun: join(ROOT, "node_modules", ".bin", "bun"),
  deno: join(ROOT, "node_modules", ".bin", "deno"),
  nginx: ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"].find(existsSync) ??
    "nginx",
};
const NCHAN_MODULE = process.env.NCHAN_MODULE ?? "/usr/lib/nginx/modules/ngx_nchan_module.so";
const ALL_SERVERS = [
  "sluice-bun",
  "sluice-deno",
  "nchan",
  "bare-bun",
  "bare-deno",
  "sink-bun",
  "sink-deno",
  // The bare loop plus the least authentication does: Sluice's HS256 check and a connect push; an API key
  "auth-bun",
  "auth-deno",
  // WebSocket subscribers (uni_websocket; nchan_subscriber websocket). Sluice's Deno listener cannot
  // upgrade yet (README), so there is no sluice-deno-ws.
  "sluice-bun-ws",
  // The SDK's protobuf protocol: bidirectional /connection/websocket, a connect command, pongs.
  "sluice-bun-wspb",
  "nchan-ws",
  // `--workers 2` on a Redis the bench starts (redis-server): 1 vs 2 workers on this box.
  "sluice-deno-w2",
  // Deno serving through its node:http (deno_listener: "node_http")
  "sluice-deno-nh",
  // Beside Centrifugo (PAIRINGS below), each pair run back to back. Transports: uni_sse (no suffix),
  // uni_websocket (-ws), the SDK's protobuf over bidirectional WebSocket (-wspb), bidirectional SSE (-sse).
  ...["", "-ws", "-wspb", "-sse"].flatMap((t) => [`sluice-bun${t}-1core`, `centrifugo${t}-1core`]),
  ...["", "-ws", "-wspb", "-sse"].flatMap((t) => [`sluice-bun${t}-w2`, `centrifugo${t}`]),
];
/**
 * Sluice vs Centrifugo, two pairings of [Sluice, Centrifugo] per transport. "core": one process each
 * on one core (`taskset -c 1`; Go with GOMAXPROCS=1), the load clients, publisher and wrk on the
 * other core. "box": the whole machine, Centrifugo's default (GOMAXPROCS = cores) against Sluice's
 * `--workers 2` (on the bench's Redis, whose CPU is counted as the server's).
 */
const PAIRINGS = {
  core: ["", "-ws", "-wspb", "-sse"].map((t) => [`sluice-bun${t}-1core`, `centrifugo${t}-1core`]),
  box: ["", "-ws", "-wspb", "-sse"].map((t) => [`sluice-bun${t}-w2`, `centrifugo${t}`]),
};
/** The pinned pairing: server on this core, everything of the bench's own on the other. */
const SERVER_CPU = "1", CLIENT_CPU = "0";
/**
 * What a server name means: kind (sluice, bare, sink, auth, nchan, centrifugo), runtime, and the
 * modifiers after them — transport (ws: uni_websocket, wspb: protobuf /connection/websocket, sse:
 * bidirectional SSE; none: uni_sse), w2 (2 workers), nh (Deno's node:http), 1core (pinned).
 */
function parseServer(name) {
  const parts = name.split("-");
  const kind = parts[0];
  const rt = kind === "nchan" ? "nginx" : kind === "centrifugo" ? "go" : parts[1];
  const mods = parts.slice(kind === "nchan" || kind === "centrifugo" ? 1 : 2);
  const transport = mods.find((m) => ["ws", "wspb", "sse"].includes(m)) ?? "uni_sse";
  return {
    kind,
    rt,
    transport,
    ws: transport === "ws" || transport === "wspb",
    protobuf: transport === "wspb",
    workers: mods.includes("w2") ? 2 : 1,
    nodeHttp: mods.includes("nh"),
    pinned: mods.includes("1core"),
  };
}
/**
 * Which scenarios a server takes part in when it is not named in --servers. The Centrifugo
 * pairings' transport variants measure fan-out only (uni_sse covers the rest); bidirectional SSE
 * never goes further: its pongs go through /emulation, which the load client does not send, so
 * its servers ping rarely (SSE_PING_INTERVAL), and idle memory with rare pings would not compare.
 */
function scenariosOf(name, named) {
  const s = parseServer(name);
  if (s.transport === "sse") return ["fanout"];
  if (named) return ALL_SCENARIOS;
  if (s.kind === "sink") return WRITE_SCENARIOS;
  if (s.kind === "auth") return AUTH_SCENARIOS;
  const paired = Object.values(PAIRINGS).flat(2).includes(name);
  if (paired && s.transport !== "uni_sse") return ["fanout"];
  return ALL_SCENARIOS;
}
/** The sink-* loops differ from bare-* only in how they write: measured where writes dominate. */
const WRITE_SCENARIOS = ["fanout", "many"];
/** The auth-* loops add only the token or API key check (and a connect push): connects and API publishes. */
const AUTH_SCENARIOS = ["connect", "storm", "publish"];
const ALL_SCENARIOS = ["fanout", "idle", "connect", "storm", "many", "publish"];

// ---------------------------------------------------------------------------------------------
// Options
const argv = process.argv.slice(2);
const opt = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name) => argv.includes(`--${name}`);
if (flag("help") || flag("h")) {
  console.log(
    `usage: node bench/run.mjs [--quick] [--only=${ALL_SCENARIOS.join(",")}] [--servers=${
      ALL_SERVERS.join(",")
    }]
                         [--pairing=core,box] [--json=FILE] [--per-worker=N] [--payload=BYTES] [--verbose]`,
  );
  process.exit(0);
}
const QUICK = flag("quick");
const VERBOSE = flag("verbose");
const SCENARIOS = (opt("only") ?? ALL_SCENARIOS.join(",")).split(",").filter(Boolean);
// --pairing=core,box: the servers of those Sluice vs Centrifugo pairings, each in the scenarios it
// takes part in by default (scenariosOf); --servers names servers to run in every scenario.
const PAIRING = opt("pairing")?.split(",").filter(Boolean);
for (const p of PAIRING ?? []) if (!PAIRINGS[p]) die(`unknown pairing ${p} (core, box)`);
const SERVERS = opt("servers")
  ? opt("servers").split(",").filter(Boolean)
  : PAIRING
  ? PAIRING.flatMap((p) => PAIRINGS[p].flat())
  : ALL_SERVERS;
const serversFor = (scenario) => SERVERS.filter((s) => scenariosOf(s, !!opt("servers")).includes(scenario));
const JSON_FILE = opt("json");
const PER_WORKER = Math.min(9000, Number(opt("per-worker") ?? 5000));
const PAYLOAD = Number(opt("payload") ?? 64); // bytes of padding in every message, besides "t"
for (const s of SCENARIOS) if (!ALL_SCENARIOS.includes(s)) die(`unknown scenario ${s}`);
for (const s of SERVERS) if (!ALL_SERVERS.includes(s)) die(`unknown server ${s}`);

const P = QUICK
  ? {
    fanout: {
      sizes: [200, 1000],
      rate: 20,
      seconds: 2,
      drainMs: 5000,
      burstDeliveries: 50_000,
      burstConcurrency: 8,
    },
    idle: { steps: [200, 1000], settleMs: 1000, holdMs: 0 },
    connect: { count: 1000, concurrency: 100, workers: 2, warmUp: 1000 },
    storm: { count: 1000, concurrency: 1000, workers: 2 },
    many: { count: 1000, groupSize: 10, rate: 200, seconds: 2, drainMs: 5000, burstConcurrency: 32 },
    publish: { connections: 32, threads: 2, channels: 1000, warmUpSeconds: 1, seconds: 2, batchSize: 100 },
  }
  : {
    fanout: {
      sizes: [1000, 10000],
      rate: 20,
      seconds: 5,
      drainMs: 10_000,
      burstDeliveries: 300_000,
      burstConcurrency: 8,
    },
    // 19000 is the top: the server's own open-file limit is 20000 here.
    idle: { steps: [1000, 5000, 10000, 19000], settleMs: 2000, holdMs: 26_000 },
    // warm: a server that has run a while (the JIT has compiled the connect path); the storm is the cold case
    connect: { count: 10000, concurrency: 200, workers: 2, warmUp: 10000 },
    // a reconnect storm: every client of a restarted server at once
    storm: { count: 10000, concurrency: 10000, workers: 2 },
    many: { count: 10000, groupSize: 10, rate: 500, seconds: 5, drainMs: 10_000, burstConcurrency: 32 },
    // wrk posting into 1000 channels, no subscribers: the HTTP publish path alone
    publish: { connections: 32, threads: 2, channels: 1000, warmUpSeconds: 3, seconds: 6, batchSize: 100 },
  };

const SECRET = "bench-hmac-secret-" + Math.random().toString(36).slice(2);
const API_KEY = "bench-api-key-" + Math.random().toString(36).slice(2);
const PAD = "x".repeat(PAYLOAD);

// ---------------------------------------------------------------------------------------------
// Utilities
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
function log(...a) {
  process.stderr.write(a.join(" ") + "\n");
}

const CLK_TCK = 100;
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime (fields 14, 15)
  } catch {
    return 0;
  }
}
function rssKB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/** A process and all its descendants. */
function treeOf(pid) {
  return [pid, ...childrenOf(pid).flatMap(treeOf)];
}

/** One redis-server for the bench run (for the worker servers), started on first use. */
let redisPort, redisPid;
async function benchRedis() {
  if (redisPort) return redisPort;
  const port = await freePort();
  const proc = startProcess("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  redisPid = proc.pid;
  // It outlives each measurement (killEverything between them spares it); killed on the way out.
  groups.delete(proc.pid);
  process.on("exit", () => killGroup(proc.pid));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) return (redisPort = port);
    if (proc.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error("redis-server did not start (apt-get install redis-server)");
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(
      Number,
    );
  } catch {
    return [];
  }
}

// Every process we start is the leader of its own process group; all are killed on the way out.
const groups = new Set();
function startProcess(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["pipe", "pipe", "pipe"], ...opts });
  groups.add(child.pid);
  child.on("exit", () => groups.delete(child.pid));
  child.exitPromise = new Promise((r) => child.on("exit", (code, sig) => r({ code, sig })));
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  return child;
}
function killGroup(pid, sig = "SIGKILL") {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
}
function killEverything() {
  for (const pid of groups) killGroup(pid);
  groups.clear();
}
async function stopProcess(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child.pid, "SIGTERM");
  const done = await Promise.race([child.exitPromise.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) killGroup(child.pid, "SIGKILL");
  await Promise.race([child.exitPromise, sleep(2000)]);
  killGroup(child.pid, "SIGKILL"); // stragglers of the group (nginx worker)
  groups.delete(child.pid);
}
let tmpRoot;
process.on("exit", () => {
  killEverything();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`\nbench: ${sig}, stopping everything`);
    killEverything();
    process.exit(130);
  });
}
process.on("uncaughtException", (err) => {
  log("bench: " + (err?.stack ?? err));
  killEverything();
  process.exit(1);
});

let nextPort = 21000 + Math.floor(Math.random() * 5000);
async function freePort() {
  // Below the ephemeral range (32768+), so no client socket can be holding it; a new port per
  // server start keeps TIME_WAIT leftovers of the previous run out of the way.
  for (;;) {
    const port = nextPort++;
    if (nextPort > 32000) nextPort = 21000;
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

function versionOf(cmd, args, re) {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (re ? re.exec(out)?.[1] : out.trim().split("\n")[0]) ?? out.trim();
  } catch (err) {
    const out = String(err.stderr ?? "") + String(err.stdout ?? "");
    return (re ? re.exec(out)?.[1] : null) ?? "unavailable";
  }
}
function environment() {
  let nchan = "unavailable";
  try {
    const so = readFileSync(NCHAN_MODULE).toString("latin1");
    nchan = so.split("\0").find((x) => /^\d+\.\d+\.\d+$/.test(x)) ?? "present";
  } catch { /* missing */ }
  // `nginx -v` prints to stderr
  let nginx = "unavailable";
  try {
    const res = execFileSync("sh", ["-c", `"${BIN.nginx}" -v 2>&1`], { encoding: "utf8" });
    nginx = /nginx\/([\d.]+)/.exec(res)?.[1] ?? res.trim();
  } catch { /* missing */ }
  let sluice = "unknown";
  try {
    sluice = /VERSION\s*=\s*"([^"]+)"/.exec(readFileSync(join(ROOT, "src", "version.ts"), "utf8"))?.[1] ??
      sluice;
  } catch { /* ignore */ }
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "src", "plugins", "mod.ts"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    if (dirty) commit += "+uncommitted";
  } catch { /* not a repo */ }
  const cpu = os.cpus();
  return {
    date: new Date().toISOString(),
    sluice: `${sluice}${commit ? ` (${commit})` : ""}`,
    bun: versionOf(BIN.bun, ["--version"]),
    deno: versionOf(BIN.deno, ["--version"], /deno (\S+)/),
    node: process.versions.node,
    nginx,
    nchan,
    cpu: `${cpu[0]?.model ?? "?"} × ${os.availableParallelism?.() ?? cpu.length}`,
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    nofile: versionOf("sh", ["-c", "ulimit -n"]),
  };
}

// ---------------------------------------------------------------------------------------------
// Histograms (same buckets as load_client.mjs)
const H_MIN = 0.01, H_RATIO = 1.05, H_N = 340;
function mergeHist(hs) {
  const b = new Float64Array(H_N);
  let n = 0, sum = 0, max = 0;
  for (const h of hs) {
    if (!h) continue;
    n += h.n;
    sum += h.sum;
    if (h.max > max) max = h.max;
    for (let i = 0; i < h.b.length; i += 2) b[h.b[i]] += h.b[i + 1];
  }
  return { n, sum, max, b };
}
/**
 * The q-quantile of the histogram. `missing` counts deliveries that never arrived (within the
 * deadline): they rank above every recorded value, so a quantile landing among them is null.
 */
function quantile(h, q, missing = 0) {
  if (!h.n) return null;
  const target = q * (h.n + missing);
  if (target > h.n) return null;
  let acc = 0;
  for (let i = 0; i < H_N; i++) {
    acc += h.b[i];
    if (acc >= target) {
      if (i === 0) return H_MIN;
      const lo = H_MIN * H_RATIO ** (i - 1), hi = lo * H_RATIO;
      return Math.min(Math.sqrt(lo * hi), h.max);
    }
  }
  return h.max;
}
/** Latency summary; with `expected`, undelivered messages count as slower than everything. */
const latStats = (h, expected = h.n) => ({
  n: h.n,
  p50: round(quantile(h, 0.5, Math.max(0, expected - h.n))),
  p99: round(quantile(h, 0.99, Math.max(0, expected - h.n))),
  max: round(h.n ? h.max : null),
  mean: round(h.n ? h.sum / h.n : null),
});
function round(v, d = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

// ---------------------------------------------------------------------------------------------
// Load-client workers
class Worker {
  constructor(cfg) {
    this.cfg = cfg;
    this.last = null;
    this.waiters = [];
    this.proc = startProcess(
      ...onBenchCpus(process.execPath, [join(BENCH, "load_client.mjs"), JSON.stringify(cfg)]),
    );
    let buf = "";
    this.proc.stdout.setEncoding("utf8");
    this.proc.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        this.last = msg;
        if (msg.type === "opened") this.openedMsg = msg;
        for (const w of this.waiters.slice()) {
          if (w.match(msg)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(msg);
          }
        }
      }
    });
    this.stderr = "";
    this.proc.stderr.setEncoding("utf8");
    this.proc.stderr.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.exited = false;
    this.proc.exitPromise.then(() => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w.resolve(null);
    });
  }
  send(cmd) {
    if (!this.exited) this.proc.stdin.write(JSON.stringify(cmd) + "\n");
  }
  waitFor(match, timeoutMs = 30_000) {
    if (this.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w = { match, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(null);
        }
      }, timeoutMs);
    });
  }
}

let cmdId = 0;
class Fleet {
  /** count connections split over ⌈count / PER_WORKER⌉ workers, indices first … first+count-1. */
  constructor(base, count, first = 0, minWorkers = 1) {
    this.workers = [];
    const n = Math.max(minWorkers, Math.ceil(count / PER_WORKER));
    let at = first;
    for (let w = 0; w < n; w++) {
      const c = Math.floor(count / n) + (w < count % n ? 1 : 0);
      const concurrency = Math.max(1, Math.floor((base.concurrency ?? 200) / n));
      this.workers.push(new Worker({ ...base, concurrency, count: c, first: at, tag: `w${w}` }));
      at += c;
    }
  }
  static join(fleets) {
    const f = Object.create(Fleet.prototype);
    f.workers = fleets.flatMap((x) => x.workers);
    return f;
  }
  get pids() {
    return this.workers.map((w) => w.proc.pid);
  }
  /** Resolves when every worker built its requests (then "open" starts a clean timed window). */
  hello(timeoutMs = 60_000) {
    return Promise.all(
      this.workers.map((w) => w.last ? w.last : w.waitFor((m) => m.type === "hello", timeoutMs)),
    );
  }
  open() {
    for (const w of this.workers) w.send({ cmd: "open" });
  }
  async opened(timeoutMs) {
    const res = await Promise.all(
      this.workers.map((w) => w.openedMsg ?? w.waitFor((m) => m.type === "opened", timeoutMs)),
    );
    return this.totals(res);
  }
  totals(list = this.workers.map((w) => w.last)) {
    const t = {
      ready: 0,
      failed: 0,
      closed: 0,
      started: 0,
      events: 0,
      msgs: 0,
      beats: 0,
      open: 0,
      lastMsgAt: 0,
      lastReadyAt: 0,
      firstStartAt: Infinity,
      clientRssKB: 0,
    };
    for (const m of list) {
      if (!m) continue;
      for (const k of ["ready", "failed", "closed", "started", "events", "msgs", "beats", "open"]) {
        t[k] += m[k] ?? 0;
      }
      t.lastMsgAt = Math.max(t.lastMsgAt, m.lastMsgAt ?? 0);
      t.lastReadyAt = Math.max(t.lastReadyAt, m.lastReadyAt ?? 0);
      if (m.firstStartAt) t.firstStartAt = Math.min(t.firstStartAt, m.firstStartAt);
      t.clientRssKB += m.rssKB ?? 0;
    }
    return t;
  }
  interval(ms) {
    for (const w of this.workers) w.send({ cmd: "interval", ms });
  }
  async reset() {
    const id = ++cmdId;
    const p = this.workers.map((w) => w.waitFor((m) => m.type === "reset" && m.id === id, 10_000));
    for (const w of this.workers) w.send({ cmd: "reset", id });
    await Promise.all(p);
  }
  async report() {
    const id = ++cmdId;
    const p = this.workers.map((w) => w.waitFor((m) => m.type === "summary" && m.id === id, 15_000));
    for (const w of this.workers) w.send({ cmd: "report", id });
    const res = await Promise.all(p);
    const t = this.totals(res);
    t.lat = mergeHist(res.map((r) => r?.lat));
    t.connect = mergeHist(res.map((r) => r?.connect));
    t.head = mergeHist(res.map((r) => r?.head));
    t.errors = {};
    t.statuses = {};
    for (const r of res) {
      for (const [k, v] of Object.entries(r?.errors ?? {})) t.errors[k] = (t.errors[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r?.statuses ?? {})) t.statuses[k] = (t.statuses[k] ?? 0) + v;
    }
    return t;
  }
  cpu() {
    return this.pids.reduce((s, p) => s + cpuSeconds(p), 0);
  }
  async close() {
    for (const w of this.workers) w.send({ cmd: "close" });
    await Promise.race([Promise.all(this.workers.map((w) => w.proc.exitPromise)), sleep(5000)]);
    await Promise.all(this.workers.map((w) => stopProcess(w.proc, 500)));
  }
}

/** Waits until every connection is ready (or failed), polling progress. */
async function openAll(fleet, expected, timeoutMs, server) {
  const t0 = now();
  fleet.interval(250);
  const done = fleet.opened(timeoutMs);
  await fleet.hello();
  fleet.open();
  const t = await done;
  fleet.interval(1000);
  if (server.dead()) throw new Error(`${server.name} exited: ${server.tail()}`);
  return { ...t, seconds: round((now() - t0) / 1000), expected };
}

/** Waits until `expected` messages were delivered, or nothing arrives for stallMs after the publisher is done. */
async function waitDeliveries(
  fleet,
  expected,
  publishing,
  { stallMs = 3000, maxMs = 120_000, drainMs = Infinity } = {},
) {
  fleet.interval(100);
  const t0 = now();
  let pubDone = false;
  let pubDoneAt = Infinity;
  publishing.then(() => {
    pubDone = true;
    pubDoneAt = now();
  });
  let lastCount = -1, lastChange = now();
  for (;;) {
    await sleep(100);
    const t = fleet.totals();
    if (t.msgs !== lastCount) {
      lastCount = t.msgs;
      lastChange = now();
    }
    if (pubDone && t.msgs >= expected) break;
    if (pubDone && now() - lastChange > stallMs) break;
    if (now() - pubDoneAt > drainMs) break; // the deadline: what has not arrived by now counts as lost
    if (now() - t0 > maxMs) break;
  }
  fleet.interval(1000);
  await publishing;
}

// ---------------------------------------------------------------------------------------------
// Servers
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
function centrifugoBinary() {
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
  const { kind, rt, ws, protobuf, transport, workers, nodeHttp, pinned } = parseServer(name);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpRoot, `${name}-`));
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
    if (nodeHttp) config.deno_listener = "node_http";
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
    brokerCpu: () => (workers > 1 && redisPid ? cpuSeconds(redisPid) : 0),
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

// ---------------------------------------------------------------------------------------------
// Publisher (in this process; keep-alive HTTP/1.1; the timestamp is taken when the request is made)
/**
 * One keep-alive HTTP/1.1 connection on a raw socket, one request at a time. Node's `http` client
 * costs ~0.3 ms of CPU per request on this kind of machine and became the bottleneck; this is a few
 * times cheaper. Answers must carry Content-Length (or be chunked); that is true of all three servers.
 */
class RawHttpConn {
  constructor(port) {
    this.port = port;
    this.sock = null;
    this.buf = null;
    this.current = null; // { resolve, sentOnReused }
  }
  connect() {
    this.buf = null;
    this.sock = net.connect({ host: "127.0.0.1", port: this.port });
    this.sock.setNoDelay(true);
    this.sock.on("data", (d) => this.onData(d));
    const dead = (err) => {
      this.sock = null;
      const cur = this.current;
      this.current = null;
      cur?.resolve({
        status: 0,
        body: "",
        error: err?.message ?? "connection closed",
        retry: cur.reused && !this.buf,
      });
    };
    this.sock.on("error", dead);
    this.sock.on("close", () => dead());
  }
  request(text) {
    const reused = this.sock !== null;
    if (!reused) this.connect();
    return new Promise((resolve) => {
      this.current = { resolve, reused };
      this.sock.write(text);
    });
  }
  onData(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let bodyEnd, body;
    if (cl) {
      bodyEnd = end + 4 + Number(cl[1]);
      if (this.buf.length < bodyEnd) return;
      body = this.buf.toString("utf8", end + 4, bodyEnd);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const z = this.buf.indexOf("\r\n0\r\n\r\n", end + 2);
      if (z < 0) return;
      bodyEnd = z + 7;
      body = this.buf.toString("utf8", end + 4, z); // chunk sizes included; only used in error messages
    } else {
      bodyEnd = end + 4;
      body = "";
    }
    this.buf = this.buf.length > bodyEnd ? this.buf.subarray(bodyEnd) : null;
    const cur = this.current;
    this.current = null;
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.sock?.destroy();
      this.sock = null;
    }
    cur?.resolve({ status, body });
  }
  close() {
    this.sock?.destroy();
    this.sock = null;
  }
}

class Publisher {
  constructor(server, sockets = 8) {
    this.server = server;
    this.free = Array.from({ length: sockets }, () => new RawHttpConn(server.port));
    this.all = this.free.slice();
    this.queue = [];
    this.errors = 0;
    this.sent = 0;
    this.lastError = "";
  }
  /** Publishes one message stamped now (when it is scheduled, even if it waits for a free socket). */
  publish(channel) {
    const payload = `{"t":${now().toFixed(3)},"p":"${PAD}"}`;
    const r = this.server.pub(channel, payload);
    let text = `POST ${r.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.server.port}\r\nContent-Length: ${
      Buffer.byteLength(r.body)
    }\r\n`;
    for (const [k, v] of Object.entries(r.headers)) text += `${k}: ${v}\r\n`;
    text += `\r\n${r.body}`;
    this.sent++;
    return new Promise((resolve) => {
      this.queue.push({ text, resolve });
      this.pump();
    });
  }
  pump() {
    while (this.free.length && this.queue.length) {
      const conn = this.free.pop();
      const job = this.queue.shift();
      this.run(conn, job);
    }
  }
  async run(conn, job) {
    let res = await conn.request(job.text);
    if (res.retry) res = await conn.request(job.text); // the server closed an idle keep-alive socket
    const ok = res.status >= 200 && res.status < 300 && !res.body.startsWith('{"error"');
    if (!ok) {
      this.errors++;
      this.lastError = res.error ?? `${res.status} ${res.body.slice(0, 200)}`;
    }
    this.free.push(conn);
    this.pump();
    job.resolve(ok);
  }
  /** `rate` publishes per second for `seconds`, on a fixed schedule (late answers do not delay the next). */
  async atRate(rate, seconds, pick) {
    const total = Math.round(rate * seconds);
    const gap = 1000 / rate;
    const t0 = now();
    const inflight = [];
    for (let k = 0; k < total; k++) {
      const due = t0 + k * gap;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      inflight.push(this.publish(pick(k)));
    }
    await Promise.all(inflight);
    return { published: total, seconds: (now() - t0) / 1000 };
  }
  /** `total` publishes as fast as the server answers, `concurrency` in flight. */
  async burst(total, concurrency, pick) {
    let k = 0;
    const t0 = now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (k < total) await this.publish(pick(k++));
    }));
    return { published: total, seconds: (now() - t0) / 1000, t0 };
  }
  close() {
    for (const c of this.all) c.close();
  }
}

// deterministic pseudo-random sequence, the same for every server
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

// ---------------------------------------------------------------------------------------------
// Scenarios
async function withServer(name, fn) {
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

/** The CPUs of the bench's own processes: CLIENT_CPU while a pinned server runs, else all. */
let benchCpus = null;
function pinBench(cpus) {
  benchCpus = cpus;
  // -a: every thread of this process (libuv's pool, V8's helpers), not only the main one
  execFileSync("taskset", ["-a", "-p", "-c", cpus ?? `0-${os.cpus().length - 1}`, String(process.pid)], {
    stdio: "ignore",
  });
}
/** A command of the bench's own (load client, wrk) on the bench's CPUs. */
const onBenchCpus = (cmd, args) => benchCpus ? ["taskset", ["-c", benchCpus, cmd, ...args]] : [cmd, args];

/** Whole-machine CPU ticks from /proc/stat: [busy, softirq, total]. */
function machineTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return [total - f[3] - f[4], f[6], total];
  } catch {
    return [0, 0, 0];
  }
}

/**
 * CPU over a phase: server, load clients and publisher in % of one core; `machineBusy` in % of the
 * whole machine (all cores), `softirq` the kernel's share of it (loopback TCP is mostly that).
 */
function cpuMeter(server, fleet) {
  const t0 = now(), s0 = server.cpu(), c0 = fleet.cpu(), p0 = process.cpuUsage(), m0 = machineTicks();
  const b0 = server.brokerCpu();
  return () => {
    const wall = (now() - t0) / 1000;
    const p = process.cpuUsage(p0);
    const m1 = machineTicks();
    const total = m1[2] - m0[2] || 1;
    return {
      machineBusy: round((m1[0] - m0[0]) / total * 100, 0),
      softirq: round((m1[1] - m0[1]) / total * 100, 0),
      serverCpu: round((server.cpu() - s0) / wall * 100, 0),
      serverCpuSeconds: round(server.cpu() - s0, 3),
      // of which the shared Redis (the -w2 servers): where the whole-box pairing's time goes
      ...(server.brokerCpu() ? { brokerCpuSeconds: round(server.brokerCpu() - b0, 3) } : {}),
      clientCpu: round((fleet.cpu() - c0) / wall * 100, 0),
      publisherCpu: round((p.user + p.system) / 1e4 / wall, 0),
    };
  };
}

async function fanout(name) {
  const out = [];
  const p = P.fanout;
  for (const n of p.sizes) {
    const r = await withServer(name, async (server) => {
      const fleet = new Fleet({
        host: "127.0.0.1",
        port: server.port,
        ...server.sub("one"),
        concurrency: 200,
        maxLifetimeMs: 600_000,
      }, n);
      try {
        const conn = await openAll(fleet, n, 120_000, server);
        const res = { subscribers: n, ready: conn.ready, failed: conn.failed, connectSeconds: conn.seconds };
        if (conn.ready === 0) throw new Error(`no connection became ready: ${server.tail()}`);
        const pub = new Publisher(server, p.burstConcurrency);
        // warm-up: half a second at the steady rate
        await waitDeliveries(fleet, conn.ready * p.rate / 2, pub.atRate(p.rate, 0.5, () => "bench"), {
          stallMs: 1000,
        });
        await fleet.reset();
        res.rssKB = server.rss();

        // burst (capacity): M messages as fast as the server takes them; time until all N×M arrived
        const m = Math.max(1, Math.ceil(p.burstDeliveries / n));
        let meter = cpuMeter(server, fleet);
        const burstPub = pub.burst(m, p.burstConcurrency, () => "bench");
        await waitDeliveries(fleet, conn.ready * m, burstPub, { stallMs: 3000 });
        let cpu = meter();
        const b = await burstPub;
        let rep = await fleet.report();
        const span = rep.lastMsgAt > b.t0 ? (rep.lastMsgAt - b.t0) / 1000 : null;
        res.burst = {
          published: m,
          publishSeconds: round(b.seconds, 3),
          expected: conn.ready * m,
          delivered: rep.msgs,
          ratio: round(rep.msgs / (conn.ready * m), 4),
          seconds: round(span, 3),
          deliveriesPerSec: span ? round(rep.msgs / span, 0) : null,
          ...latStats(rep.lat),
          ...cpu,
          // what one delivery cost the server, whoever was the bottleneck (clock ticks: ±10 ms)
          serverUsPerDelivery: rep.msgs ? round(cpu.serverCpuSeconds * 1e6 / rep.msgs, 2) : null,
        };
        await fleet.reset();

        // steady: p.rate msgs/s for p.seconds; whatever has not arrived p.drainMs after the last
        // publish counts as lost (and as slower than everything in the percentiles)
        meter = cpuMeter(server, fleet);
        const steadyT0 = now();
        const steadyExpected = conn.ready * p.rate * p.seconds;
        const steadyPub = pub.atRate(p.rate, p.seconds, () => "bench");
        await waitDeliveries(fleet, steadyExpected, steadyPub, { stallMs: 2000, drainMs: p.drainMs });
        cpu = meter();
        rep = await fleet.report();
        res.steady = {
          published: p.rate * p.seconds,
          expected: steadyExpected,
          delivered: rep.msgs,
          ratio: round(rep.msgs / steadyExpected, 4),
          // over the time it took: the publishing window, or longer when delivery lagged behind
          deliveriesPerSec: round(rep.msgs / Math.max(p.seconds, (rep.lastMsgAt - steadyT0) / 1000), 0),
          lastDeliverySeconds: round((rep.lastMsgAt - steadyT0) / 1000, 2),
          drainDeadlineSeconds: p.drainMs / 1000,
          ...latStats(rep.lat, steadyExpected),
          ...cpu,
          serverUsPerDelivery: rep.msgs ? round(cpu.serverCpuSeconds * 1e6 / rep.msgs, 2) : null,
        };
        res.publishErrors = pub.errors;
        if (pub.errors) res.lastPublishError = pub.lastError;
        res.closedByServer = rep.closed;
        res.errors = rep.errors;
        res.rssAfterKB = server.rss();
        pub.close();
        return res;
      } finally {
        await fleet.close();
      }
    });
    log(
      `  fanout ${name} n=${n}: burst ${r.burst.deliveriesPerSec}/s ratio ${r.burst.ratio}; steady ${r.steady.deliveriesPerSec}/s p99 ${r.steady.p99} ms ratio ${r.steady.ratio}`,
    );
    out.push(r);
  }
  return out;
}

function idle(name) {
  const p = P.idle;
  return withServer(name, async (server) => {
    await sleep(p.settleMs);
    const base = server.rss();
    const steps = [];
    const fleets = [];
    let have = 0;
    try {
      for (const n of p.steps) {
        const f = new Fleet(
          {
            host: "127.0.0.1",
            port: server.port,
            ...server.sub("one"),
            concurrency: 200,
            maxLifetimeMs: 900_000,
          },
          n - have,
          have,
        );
        fleets.push(f);
        const c = await openAll(f, n - have, 180_000, server);
        have = n;
        await sleep(p.settleMs);
        const all = await Fleet.join(fleets).report();
        const rss = server.rss();
        const prev = steps.at(-1);
        // per connection actually open (refused or dropped ones hold nothing)
        steps.push({
          connections: n,
          open: all.open,
          failed: all.failed,
          closedByServer: all.closed,
          rssKB: rss,
          kbPerConn: round((rss - base) / Math.max(1, all.open), 2),
          kbPerConnMarginal: prev && all.open > prev.open
            ? round((rss - prev.rssKB) / (all.open - prev.open), 2)
            : null,
          connectSeconds: c.seconds,
          errors: all.errors,
          statuses: all.statuses,
        });
        log(`  idle ${name} ${n}: rss ${(rss / 1024).toFixed(1)} MB, ${steps.at(-1).kbPerConn} KB/conn`);
        if (all.ready === 0) break;
      }
      const res = { baseRssKB: base, steps };
      if (p.holdMs > 0) {
        // hold one heartbeat round (pings every 25 s) and measure again
        const all = Fleet.join(fleets);
        const b0 = all.totals().beats;
        await sleep(p.holdMs);
        all.interval(200);
        await sleep(400);
        const t = all.totals();
        const rss = server.rss();
        const top = steps.at(-1);
        res.afterHeartbeat = {
          connections: top.connections,
          heldSeconds: p.holdMs / 1000,
          beats: t.beats - b0,
          beatsPerConn: round((t.beats - b0) / Math.max(1, t.open), 2),
          open: t.open,
          closedByServer: t.closed,
          rssKB: rss,
          kbPerConn: round((rss - base) / Math.max(1, t.open), 2),
        };
        log(
          `  idle ${name} after heartbeat: rss ${
            (rss / 1024).toFixed(1)
          } MB, ${res.afterHeartbeat.kbPerConn} KB/conn, beats/conn ${res.afterHeartbeat.beatsPerConn}`,
        );
      }
      return res;
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
  });
}

/** Opens and closes `count` connections (indices after the measured ones): the server warm. */
async function warmUp(server, count, concurrency) {
  const fleet = new Fleet(
    { host: "127.0.0.1", port: server.port, ...server.sub("one"), concurrency, deferOpen: true },
    count,
    1_000_000,
    1,
  );
  try {
    await fleet.hello();
    const done = fleet.opened(120_000);
    fleet.open();
    await done;
  } finally {
    await fleet.close();
  }
  await sleep(1000);
}

function connect(name, p = P.connect) {
  return withServer(name, async (server) => {
    if (p.warmUp) await warmUp(server, p.warmUp, p.concurrency);
    const fleet = new Fleet(
      {
        host: "127.0.0.1",
        port: server.port,
        ...server.sub("one"),
        concurrency: p.concurrency,
        deferOpen: true,
        maxLifetimeMs: 600_000,
      },
      p.count,
      0,
      p.workers,
    );
    try {
      await fleet.hello();
      const meter = cpuMeter(server, fleet);
      const t0 = now();
      const done = fleet.opened(180_000);
      fleet.open();
      await done;
      const cpu = meter();
      const rep = await fleet.report();
      const span = (rep.lastReadyAt - Math.min(rep.firstStartAt, t0)) / 1000;
      const res = {
        connections: p.count,
        concurrency: p.concurrency,
        ready: rep.ready,
        failed: rep.failed,
        seconds: round(span, 3),
        perSec: round(rep.ready / span, 0),
        ...latStats(rep.connect),
        // connect() → response head (before the first event; for Sluice before the token check ends)
        head: latStats(rep.head),
        ...cpu,
        // server CPU per connection made ready (token check, subscriptions, connect push)
        serverUsPerConn: rep.ready ? round(cpu.serverCpuSeconds * 1e6 / rep.ready, 1) : null,
        rssKB: server.rss(),
        errors: rep.errors,
        statuses: rep.statuses,
      };
      log(
        `  ${
          p === P.storm ? "storm" : "connect"
        } ${name}: ${res.perSec}/s p50 ${res.p50} p99 ${res.p99} ms, ${res.failed} failed`,
      );
      return res;
    } finally {
      await fleet.close();
    }
  });
}

function many(name) {
  const p = P.many;
  const n = p.count;
  const groups = Math.max(1, Math.floor(n / p.groupSize));
  const members = (g) => Math.floor(n / groups) + (g < n % groups ? 1 : 0);
  return withServer(name, async (server) => {
    const base = server.rss();
    const fleet = new Fleet({
      host: "127.0.0.1",
      port: server.port,
      ...server.sub("two"),
      groups,
      concurrency: 200,
      maxLifetimeMs: 600_000,
    }, n);
    try {
      const conn = await openAll(fleet, n, 180_000, server);
      const res = {
        connections: n,
        groups,
        groupSize: p.groupSize,
        ready: conn.ready,
        failed: conn.failed,
        connectSeconds: conn.seconds,
      };
      const rss = server.rss();
      res.rssKB = rss;
      res.kbPerConn = round((rss - base) / n, 2);
      const pub = new Publisher(server, p.burstConcurrency);
      // steady: alternate a random personal channel (1 receiver) and a random group (≈10)
      const rnd = lcg(42);
      const seq = [];
      let expected = 0;
      const total = Math.round(p.rate * p.seconds);
      for (let k = 0; k < total; k++) {
        if (k % 2 === 0) {
          seq.push(`u${Math.floor(rnd() * n)}`);
          expected += 1;
        } else {
          const g = Math.floor(rnd() * groups);
          seq.push(`g${g}`);
          expected += members(g);
        }
      }
      // warm-up: half a second of group publishes
      const warm = Math.round(Math.min(100, p.rate) * 0.5);
      let warmExpected = 0;
      for (let k = 0; k < warm; k++) warmExpected += members(k % groups);
      await waitDeliveries(
        fleet,
        warmExpected,
        pub.atRate(Math.min(100, p.rate), 0.5, (k) => `g${k % groups}`),
        { stallMs: 1000 },
      );
      await fleet.reset();
      let meter = cpuMeter(server, fleet);
      const steadyT0 = now();
      const steadyPub = pub.atRate(p.rate, p.seconds, (k) => seq[k]);
      await waitDeliveries(fleet, expected, steadyPub, { stallMs: 2000, drainMs: p.drainMs });
      let cpu = meter();
      let rep = await fleet.report();
      res.steady = {
        publishesPerSec: p.rate,
        published: total,
        expected,
        delivered: rep.msgs,
        ratio: round(rep.msgs / expected, 4),
        deliveriesPerSec: round(rep.msgs / Math.max(p.seconds, (rep.lastMsgAt - steadyT0) / 1000), 0),
        ...latStats(rep.lat, expected),
        ...cpu,
      };
      await fleet.reset();
      // burst: every group once and every personal channel once, interleaved, as fast as accepted
      const bseq = [];
      for (let k = 0; k < Math.max(n, groups); k++) {
        if (k < n) bseq.push(`u${k}`);
        if (k < groups) bseq.push(`g${k}`);
      }
      meter = cpuMeter(server, fleet);
      const burstPub = pub.burst(bseq.length, p.burstConcurrency, (k) => bseq[k]);
      await waitDeliveries(fleet, 2 * n, burstPub, { stallMs: 3000 });
      cpu = meter();
      const b = await burstPub;
      rep = await fleet.report();
      const span = rep.lastMsgAt > b.t0 ? (rep.lastMsgAt - b.t0) / 1000 : null;
      res.burst = {
        published: bseq.length,
        publishSeconds: round(b.seconds, 3),
        publishesPerSec: round(bseq.length / b.seconds, 0),
        expected: 2 * n,
        delivered: rep.msgs,
        ratio: round(rep.msgs / (2 * n), 4),
        seconds: round(span, 3),
        deliveriesPerSec: span ? round(rep.msgs / span, 0) : null,
        ...latStats(rep.lat),
        ...cpu,
        serverUsPerPublish: round(cpu.serverCpuSeconds * 1e6 / bseq.length, 2),
      };
      res.publishErrors = pub.errors;
      if (pub.errors) res.lastPublishError = pub.lastError;
      res.closedByServer = rep.closed;
      res.errors = rep.errors;
      pub.close();
      log(
        `  many ${name}: steady p99 ${res.steady.p99} ms ratio ${res.steady.ratio}; burst ${res.burst.publishesPerSec} pub/s ${res.burst.deliveriesPerSec} deliv/s ratio ${res.burst.ratio}`,
      );
      return res;
    } finally {
      await fleet.close();
    }
  });
}

/**
 * The publish path alone: wrk (keep-alive, `connections` at once) posting one publication per
 * request into `channels` channels round-robin, nobody subscribed — Sluice's `/api/publish`, nchan's
 * `/pub`, the bare loop's `/pub`. A warm-up run first (the JIT), then the measured one.
 */
function publish(name) {
  return withServer(name, async (server) => {
    const p = P.publish;
    const dir = mkdtempSync(join(os.tmpdir(), "sluice-wrk-"));
    try {
      const lua = (text) => `[==[${text}]==]`;
      /** A wrk script posting `req`, its `@CH@` replaced by `channelOf` (a Lua expression of request n). */
      const script = (file, req, channelOf) => {
        const headers = Object.entries(req.headers).map(([k, v]) => `[ ${lua(k)} ] = ${lua(v)}`).join(", ");
        const path = join(dir, file);
        writeFileSync(
          path,
          [
            "local n = 0",
            `local headers = { ${headers} }`,
            `local path, body = ${lua(req.path)}, ${lua(req.body)}`,
            "request = function()",
            `  n = n + 1`,
            `  local ch = tostring(${channelOf})`,
            `  return wrk.format("POST", path:gsub("@CH@", ch), headers, (body:gsub("@CH@", ch)))`,
            "end",
          ].join("\n"),
        );
        return path;
      };
      const wrk = (file, seconds) =>
        execFileAsync(
          ...onBenchCpus("wrk", [
            `-t${p.threads}`,
            `-c${p.connections}`,
            `-d${seconds}s`,
            "--latency",
            "-s",
            file,
            `http://127.0.0.1:${server.port}`,
          ]),
          { encoding: "utf8", timeout: (seconds + 30) * 1000 },
        ).then((r) => r.stdout);
      /** A warm-up run, then the measured one: requests/s, latency and the server's CPU per request. */
      const measure = async (file) => {
        await wrk(file, p.warmUpSeconds);
        const cpu0 = server.cpu(), broker0 = server.brokerCpu();
        const out = await wrk(file, p.seconds);
        const cpu = server.cpu() - cpu0, broker = server.brokerCpu() - broker0;
        const num = (re) => Number(re.exec(out)?.[1] ?? NaN);
        const latency = (q) => {
          const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
          return m ? round(Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]], 3) : null;
        };
        const requests = num(/(\d+) requests in/);
        return {
          requests,
          perSec: round(num(/Requests\/sec:\s+([\d.]+)/), 0),
          errors: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
          socketErrors: /Socket errors: (.*)/.exec(out)?.[1] ?? null,
          p50: latency(50),
          p99: latency(99),
          serverCpuSeconds: round(cpu, 2),
          serverUsPerRequest: round((cpu * 1e6) / requests, 1),
          ...(broker ? { brokerCpuSeconds: round(broker, 2) } : {}),
        };
      };
      /**
       * One request of the kind wrk will send, answered without an error: wrk counts only non-2xx,
       * and both servers' APIs answer a refused command with 200 and an `error` inside.
       */
      const check = async (req) => {
        const conn = new RawHttpConn(server.port);
        const text = `POST ${req.path.replaceAll("@CH@", "0")} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") +
          `Content-Length: ${Buffer.byteLength(req.body.replaceAll("@CH@", "0"))}\r\n\r\n` +
          req.body.replaceAll("@CH@", "0");
        const r = await Promise.race([
          conn.request(text),
          sleep(5000).then(() => ({ status: 0, body: "timeout" })),
        ]);
        conn.close();
        if (r.status < 200 || r.status > 299 || r.body.includes('"error"')) {
          throw new Error(`${req.path} refused: ${r.status} ${r.body.slice(0, 200)}`);
        }
      };
      const single = server.pub("@CH@", JSON.stringify({ x: PAD }));
      await check(single);
      const res = await measure(script("publish.lua", single, `"ch" .. (n % ${p.channels})`));
      log(
        `  publish ${name}: ${res.perSec}/s, p99 ${res.p99} ms, ${res.serverUsPerRequest} µs server CPU per request${
          res.brokerCpuSeconds ? ` (Redis ${round(res.brokerCpuSeconds * 1e6 / res.requests, 1)})` : ""
        }, ${res.errors} errors`,
      );
      const batch = server.batch?.(p.batchSize, (i) => `ch@CH@_${i}`, JSON.stringify({ x: PAD }));
      if (batch) {
        // the bulk path: `batchSize` publications per request, each request into its own channels
        await check(batch);
        const b = await measure(
          script("batch.lua", batch, `n % ${Math.max(1, Math.round(p.channels / p.batchSize))}`),
        );
        res.batch = {
          size: p.batchSize,
          ...b,
          publicationsPerSec: round(b.perSec * p.batchSize, 0),
          serverUsPerPublication: round((b.serverCpuSeconds * 1e6) / (b.requests * p.batchSize), 2),
        };
        log(
          `  publish ${name} batch of ${p.batchSize}: ${res.batch.publicationsPerSec} publications/s, ${res.batch.serverUsPerPublication} µs server CPU per publication${
            b.brokerCpuSeconds
              ? ` (Redis ${round(b.brokerCpuSeconds * 1e6 / (b.requests * p.batchSize), 2)})`
              : ""
          }, ${b.errors} errors`,
        );
      }
      return res;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const RUNNERS = { fanout, idle, connect, storm: (name) => connect(name, P.storm), many, publish };

// ---------------------------------------------------------------------------------------------
// Tables
function table(title, head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "—" : String(c))));
  const w = head.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const line = (r) =>
    "| " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ") + " |";
  const sep = "| " + w.map((x, i) => (i === 0 ? "-".repeat(x) : "-".repeat(x - 1) + ":")).join(" | ") + " |";
  return [`### ${title}`, "", line(cells[0]), sep, ...cells.slice(1).map(line), ""].join("\n");
}
const k = (
  v,
) => (v === null || v === undefined
  ? null
  : v >= 1e6
  ? `${(v / 1e6).toFixed(2)}M`
  : v >= 1e4
  ? `${(v / 1e3).toFixed(1)}k`
  : String(Math.round(v)));
const mb = (kb) => (kb ? (kb / 1024).toFixed(1) : null);
const pct = (r) => (r === null || r === undefined ? null : `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`);
/** A latency percentile, or "lost" when it falls among the messages that never arrived. */
const lq = (v, r) => (v === null || v === undefined ? (r.ratio < 1 ? "lost" : null) : ms(v));
const ms = (v) => (v === null || v === undefined ? null : v < 10 ? v.toFixed(2) : v.toFixed(1));

function render(results) {
  const out = [];
  const R = results.scenarios;
  if (R.fanout) {
    const cap = [], lat = [];
    for (const s of SERVERS) {
      for (const r of R.fanout[s] ?? []) {
        if (r.error) {
          cap.push([s, "error: " + r.error.slice(0, 70), ...Array(11).fill(null)]);
          lat.push([s, "error (above)", ...Array(10).fill(null)]);
          continue;
        }
        const b = r.burst, st = r.steady;
        cap.push([
          s,
          r.subscribers,
          b.published,
          k(b.delivered),
          pct(b.ratio),
          b.seconds?.toFixed(2),
          k(b.deliveriesPerSec),
          b.serverUsPerDelivery?.toFixed(2),
          ms(b.p50),
          ms(b.p99),
          `${b.serverCpu}/${b.clientCpu}/${b.publisherCpu}%`,
          `${b.machineBusy}%`,
          mb(r.rssKB),
        ]);
        lat.push([
          s,
          r.subscribers,
          k(r.subscribers * P.fanout.rate),
          k(st.deliveriesPerSec),
          pct(st.ratio),
          lq(st.p50, st),
          lq(st.p99, st),
          ms(st.max),
          `${st.serverCpu}%`,
          st.serverUsPerDelivery?.toFixed(2),
          `${st.machineBusy}%`,
          r.closedByServer,
        ]);
      }
    }
    out.push(
      table(
        `Fan-out capacity: one channel, ≈${
          k(P.fanout.burstDeliveries)
        } deliveries published as fast as accepted (${P.fanout.burstConcurrency} publishes in flight)`,
        [
          "server",
          "subs",
          "msgs",
          "deliveries",
          "delivered",
          "seconds",
          "deliv/s",
          "srv µs/deliv",
          "p50 ms",
          "p99 ms",
          "CPU srv/cli/pub",
          "box busy",
          "RSS MB",
        ],
        cap,
      ),
    );
    out.push(
      table(
        `Fan-out latency: one channel, ${P.fanout.rate} msg/s for ${P.fanout.seconds} s (undelivered ${
          P.fanout.drainMs / 1000
        } s after the last publish = lost)`,
        [
          "server",
          "subs",
          "offered/s",
          "deliv/s",
          "delivered",
          "p50 ms",
          "p99 ms",
          "max ms",
          "srv CPU",
          "srv µs/deliv",
          "box busy",
          "cut by server",
        ],
        lat,
      ),
    );
  }
  if (R.idle) {
    const rows = [];
    for (const s of SERVERS) {
      const r = R.idle[s];
      if (!r) continue;
      if (r.error) {
        rows.push([s, "error: " + r.error.slice(0, 60), null, null, null, null]);
        continue;
      }
      rows.push([s, 0, null, mb(r.baseRssKB), null, null]);
      for (const st of r.steps) {
        rows.push([
          s,
          st.connections,
          st.open,
          mb(st.rssKB),
          st.kbPerConn?.toFixed(2),
          st.kbPerConnMarginal?.toFixed(2) ?? null,
        ]);
      }
      if (r.afterHeartbeat) {
        const h = r.afterHeartbeat;
        rows.push([
          `${s} +${h.heldSeconds}s (beats/conn ${h.beatsPerConn})`,
          h.connections,
          h.open,
          mb(h.rssKB),
          h.kbPerConn?.toFixed(2),
          null,
        ]);
      }
    }
    out.push(table("Idle density: server RSS per idle SSE connection (heartbeats every 25 s)", [
      "server",
      "conns",
      "open",
      "RSS MB",
      "KB/conn",
      "KB/conn marginal",
    ], rows));
  }
  for (
    const [key, title] of [
      [
        "connect",
        `Connect rate: ${k(P.connect.count)} connections, ${P.connect.concurrency} in flight, after ${
          k(P.connect.warmUp ?? 0)
        } warm-up connections opened and closed`,
      ],
      ["storm", `Reconnect storm: ${k(P.storm.count)} connections opened at once`],
    ]
  ) {
    if (!R[key]) continue;
    const rows = SERVERS.filter((s) => R[key][s]).map((s) => {
      const r = R[key][s];
      if (r.error) return [s, "error: " + r.error.slice(0, 60), ...Array(10).fill(null)];
      return [
        s,
        r.connections,
        r.ready,
        r.failed,
        k(r.perSec),
        r.serverUsPerConn,
        ms(r.head?.p50),
        ms(r.p50),
        ms(r.p99),
        ms(r.max),
        `${r.serverCpu}/${r.clientCpu}%`,
        `${r.machineBusy}%`,
      ];
    });
    out.push(
      table(
        `${title} (Sluice, Centrifugo: an HS256 token each; nchan/bare: no auth)`,
        [
          "server",
          "conns",
          "ready",
          "failed",
          "conn/s",
          "srv µs/conn",
          "head p50 ms",
          "p50 ms",
          "p99 ms",
          "max ms",
          "CPU srv/cli",
          "box busy",
        ],
        rows,
      ),
    );
  }
  if (R.publish) {
    const rows = SERVERS.filter((s) => R.publish[s]).map((s) => {
      const r = R.publish[s];
      if (r.error) return [s, "error: " + r.error.slice(0, 60), ...Array(7).fill(null)];
      return [
        s,
        k(r.perSec),
        r.errors,
        ms(r.p50),
        ms(r.p99),
        r.serverUsPerRequest,
        r.socketErrors ?? "none",
        r.batch ? k(r.batch.publicationsPerSec) : null,
        r.batch?.serverUsPerPublication ?? null,
      ];
    });
    out.push(
      table(
        `Publish path: wrk, ${P.publish.connections} keep-alive connections posting into ${
          k(P.publish.channels)
        } channels for ${P.publish.seconds} s (after ${P.publish.warmUpSeconds} s of warm-up), no subscribers; batch: ${P.publish.batchSize} publishes per \`/api/batch\` request`,
        [
          "server",
          "requests/s",
          "non-2xx",
          "p50 ms",
          "p99 ms",
          "srv µs/req",
          "socket errors",
          "batch pubs/s",
          "srv µs/pub (batch)",
        ],
        rows,
      ),
    );
  }
  if (R.many) {
    const rows = SERVERS.filter((s) => R.many[s]).map((s) => {
      const r = R.many[s];
      if (r.error) return [s, "error: " + r.error.slice(0, 60), ...Array(13).fill(null)];
      return [
        s,
        r.connections,
        mb(r.rssKB),
        r.kbPerConn?.toFixed(2),
        k(r.steady.deliveriesPerSec),
        pct(r.steady.ratio),
        lq(r.steady.p50, r.steady),
        lq(r.steady.p99, r.steady),
        ms(r.steady.max),
        k(r.burst.publishesPerSec),
        k(r.burst.deliveriesPerSec),
        pct(r.burst.ratio),
        r.burst.serverUsPerPublish?.toFixed(1),
        `${r.burst.serverCpu}/${r.burst.clientCpu}/${r.burst.publisherCpu}%`,
        `${r.burst.machineBusy}%`,
      ];
    });
    out.push(
      table(
        `Many channels: each connection in its own channel + 1 of ${
          k(Math.floor(P.many.count / P.many.groupSize))
        } groups of ${P.many.groupSize}; ${P.many.rate} publishes/s for ${P.many.seconds} s (half personal, half group), then every channel once`,
        [
          "server",
          "conns",
          "RSS MB",
          "KB/conn",
          "deliv/s",
          "delivered",
          "p50 ms",
          "p99 ms",
          "max ms",
          "burst pub/s",
          "burst deliv/s",
          "burst delivered",
          "srv µs/pub",
          "burst CPU srv/cli/pub",
          "box busy",
        ],
        rows,
      ),
    );
  }
  out.push(renderRatios(results));
  if (results.vsCentrifugo && Object.keys(results.vsCentrifugo).length) out.push(renderVsCentrifugo(results));
  return out.join("\n");
}

function computeRatios(results) {
  const R = results.scenarios;
  const ratios = [];
  const add = (what, a, aName, b, bName, higherBetter = true) => {
    if (a === null || a === undefined || b === null || b === undefined || b === 0) return;
    ratios.push({ what, a: aName, b: bName, ratio: round(a / b, 2), higherBetter, aValue: a, bValue: b });
  };
  const best = (vals, higherBetter = true) => {
    const ok = vals.filter(([, v]) => v !== null && v !== undefined);
    if (!ok.length) return [null, null];
    return ok.reduce((m, c) => ((higherBetter ? c[1] > m[1] : c[1] < m[1]) ? c : m));
  };
  const sl = ["sluice-bun", "sluice-deno"];
  const pair = (metric, get, higherBetter) => {
    const vals = sl.map((s) => [s, get(s)]);
    const [bs, bv] = best(vals, higherBetter);
    if (bs) add(metric, bv, `${bs} (best)`, get("nchan"), "nchan", higherBetter);
    for (const [s, v] of vals) {
      add(metric, v, s, get(s.replace("sluice", "bare")), s.replace("sluice", "bare"), higherBetter);
      add(metric, v, s, get(s.replace("sluice", "sink")), s.replace("sluice", "sink"), higherBetter);
      add(metric, v, s, get(s.replace("sluice", "auth")), s.replace("sluice", "auth"), higherBetter);
    }
    // the floors against nchan: what a server on this runtime reaches with no protocol at all, and
    // (connects) with nothing but the token check and a connect push
    for (const s of ["bare-bun", "bare-deno", "auth-bun", "auth-deno"]) {
      add(metric, get(s), s, get("nchan"), "nchan", higherBetter);
    }
  };
  /** 2 workers against 1, per runtime. */
  const workers = (metric, get, higherBetter = true) => {
    for (const rt of ["bun", "deno"]) {
      add(
        `${metric}, 2 workers / 1`,
        get(`sluice-${rt}-w2`),
        `sluice-${rt}-w2`,
        get(`sluice-${rt}`),
        `sluice-${rt}`,
        higherBetter,
      );
    }
  };
  if (R.fanout) {
    for (const [i, n] of P.fanout.sizes.entries()) {
      workers(`fan-out ${n}: burst deliveries/s`, (s) => R.fanout[s]?.[i]?.burst?.deliveriesPerSec);
      workers(
        `fan-out ${n}: p99 latency at ${P.fanout.rate} msg/s (ms)`,
        (s) => R.fanout[s]?.[i]?.steady?.p99,
        false,
      );
      const ws = (s) => R.fanout[s]?.[i]?.burst?.deliveriesPerSec;
      add(
        `fan-out ${n} over WebSocket: burst deliveries/s`,
        ws("sluice-bun-ws"),
        "sluice-bun-ws",
        ws("nchan-ws"),
        "nchan-ws",
      );
      pair(`fan-out ${n}: burst deliveries/s`, (s) => R.fanout[s]?.[i]?.burst?.deliveriesPerSec, true);
      pair(
        `fan-out ${n}: p99 latency at ${P.fanout.rate} msg/s (ms)`,
        (s) => R.fanout[s]?.[i]?.steady?.p99,
        false,
      );
    }
  }
  if (R.idle) {
    const top = P.idle.steps.at(-1);
    pair(
      `idle: KB per connection at ${top}`,
      (s) => R.idle[s]?.steps?.find((x) => x.connections === top)?.kbPerConn,
      false,
    );
  }
  if (R.connect) {
    pair("connect: connections/s", (s) => R.connect[s]?.perSec, true);
    workers("connect: connections/s", (s) => R.connect[s]?.perSec);
  }
  if (R.storm) {
    pair("reconnect storm: connections/s", (s) => R.storm[s]?.perSec, true);
    workers("reconnect storm: connections/s", (s) => R.storm[s]?.perSec);
  }
  if (R.publish) {
    pair("publish: requests/s (wrk)", (s) => R.publish[s]?.perSec, true);
    // the bulk path's publications against nchan's one-per-request /pub
    for (const s of ["sluice-bun", "sluice-deno"]) {
      add(
        "publish: publications/s, batch (Sluice) vs /pub",
        R.publish[s]?.batch?.publicationsPerSec,
        `${s} batch`,
        R.publish.nchan?.perSec,
        "nchan",
      );
    }
    workers("publish: requests/s (wrk)", (s) => R.publish[s]?.perSec);
  }
  if (R.many) {
    pair("many channels: burst deliveries/s", (s) => R.many[s]?.burst?.deliveriesPerSec, true);
    workers("many channels: burst deliveries/s", (s) => R.many[s]?.burst?.deliveriesPerSec);
    pair("many channels: p99 latency (ms)", (s) => R.many[s]?.steady?.p99, false);
  }
  return ratios;
}

/**
 * Sluice vs Centrifugo, per pairing: every headline metric of both servers with the server CPU
 * per operation beside it, the ratio, and the issue's goal marked met / not met (measured, never
 * asserted). Goals: fan-out deliveries/s and p99 ahead of Centrifugo, idle memory per connection
 * at or below it, connect, storm and publish rates at least equal. Many channels has no goal.
 */
function vsCentrifugo(results) {
  const R = results.scenarios;
  const TRANSPORT = { "": "uni_sse", "-ws": "uni_websocket", "-wspb": "WebSocket protobuf", "-sse": "SSE" };
  const out = {};
  for (const [pairing, pairs] of Object.entries(PAIRINGS)) {
    const rows = [];
    /** goal: "ahead" (strictly better), "≥" / "≤" (at least as good), null (reported only) */
    const add = (metric, s, c, sCpu, cCpu, higherBetter, goal, unit) => {
      if ((s === undefined || s === null) && (c === undefined || c === null)) return;
      const has = (v) => v !== undefined && v !== null;
      let met = null;
      if (goal && has(s) && has(c)) {
        met = goal === "ahead" ? (higherBetter ? s > c : s < c) : (higherBetter ? s >= c : s <= c);
      }
      rows.push({
        metric,
        sluice: s ?? null,
        centrifugo: c ?? null,
        // none where either lost messages (Infinity): "lost" says more than 0× or ∞×
        ratio: has(s) && has(c) && c !== 0 && Number.isFinite(s) && Number.isFinite(c)
          ? round(s / c, 2)
          : null,
        sluiceCpuPerOp: sCpu ?? null,
        centrifugoCpuPerOp: cCpu ?? null,
        unit,
        higherBetter,
        goal,
        met,
      });
    };
    for (const [i, [sl, ce]] of pairs.entries()) {
      const tr = TRANSPORT[["", "-ws", "-wspb", "-sse"][i]];
      for (const [j, n] of P.fanout.sizes.entries()) {
        const f = (x) => R.fanout?.[x]?.[j];
        if (!f(sl) && !f(ce)) continue;
        add(
          `fan-out ${k(n)} ${tr}: burst deliveries/s`,
          f(sl)?.burst?.deliveriesPerSec,
          f(ce)?.burst?.deliveriesPerSec,
          f(sl)?.burst?.serverUsPerDelivery,
          f(ce)?.burst?.serverUsPerDelivery,
          true,
          "ahead",
          "µs/deliv",
        );
        // a p99 among lost messages (null with deliveries missing) is worse than any figure
        const p99 = (x) => f(x)?.steady ? (f(x).steady.p99 ?? Infinity) : undefined;
        add(
          `fan-out ${k(n)} ${tr}: p99 ms at ${P.fanout.rate} msg/s`,
          p99(sl),
          p99(ce),
          f(sl)?.steady?.serverUsPerDelivery,
          f(ce)?.steady?.serverUsPerDelivery,
          false,
          "ahead",
          "µs/deliv",
        );
      }
      const idle = (x) => R.idle?.[x]?.steps?.at(-1);
      if (idle(sl) || idle(ce)) {
        // at the largest step both reached
        const top = Math.min(idle(sl)?.connections ?? Infinity, idle(ce)?.connections ?? Infinity);
        const at = (x) => R.idle?.[x]?.steps?.find((st) => st.connections === top)?.kbPerConn;
        add(`idle ${tr}: KB per connection at ${k(top)}`, at(sl), at(ce), null, null, false, "≤", null);
      }
      for (const sc of ["connect", "storm"]) {
        const c = (x) => R[sc]?.[x];
        add(
          `${sc === "connect" ? "connect" : "reconnect storm"} ${tr}: connections/s`,
          c(sl)?.perSec,
          c(ce)?.perSec,
          c(sl)?.serverUsPerConn,
          c(ce)?.serverUsPerConn,
          true,
          "≥",
          "µs/conn",
        );
      }
      const pub = (x) => R.publish?.[x];
      add(
        `publish ${tr === "uni_sse" ? "" : tr + " "}(/api/publish): requests/s`,
        pub(sl)?.perSec,
        pub(ce)?.perSec,
        pub(sl)?.serverUsPerRequest,
        pub(ce)?.serverUsPerRequest,
        true,
        "≥",
        "µs/req",
      );
      add(
        `publish ${tr === "uni_sse" ? "" : tr + " "}(/api/batch × ${P.publish.batchSize}): publications/s`,
        pub(sl)?.batch?.publicationsPerSec,
        pub(ce)?.batch?.publicationsPerSec,
        pub(sl)?.batch?.serverUsPerPublication,
        pub(ce)?.batch?.serverUsPerPublication,
        true,
        "≥",
        "µs/pub",
      );
      const m = (x) => R.many?.[x];
      add(
        `many channels ${tr}: burst deliveries/s`,
        m(sl)?.burst?.deliveriesPerSec,
        m(ce)?.burst?.deliveriesPerSec,
        m(sl)?.burst?.serverUsPerPublish,
        m(ce)?.burst?.serverUsPerPublish,
        true,
        null,
        "µs/pub",
      );
      add(
        `many channels ${tr}: p99 ms at ${P.many.rate} publishes/s`,
        m(sl) ? (m(sl).steady?.p99 ?? Infinity) : undefined,
        m(ce) ? (m(ce).steady?.p99 ?? Infinity) : undefined,
        null,
        null,
        false,
        null,
        null,
      );
    }
    if (rows.length) out[pairing] = { sluice: pairs[0][0], centrifugo: pairs[0][1], rows };
  }
  return out;
}

function renderVsCentrifugo(results) {
  const TITLE = {
    core:
      "one process each on one core (`taskset -c 1`, Centrifugo with GOMAXPROCS=1; load on the other core)",
    box:
      "the whole box (Centrifugo's default GOMAXPROCS against Sluice `--workers 2` on Redis; Redis CPU counted)",
  };
  const fmt = (v) =>
    v === null ? "—" : v === Infinity ? "lost" : typeof v === "number" && v >= 1e4 ? k(v) : String(v);
  const lines = [];
  for (const [pairing, { sluice, centrifugo, rows }] of Object.entries(results.vsCentrifugo ?? {})) {
    lines.push(table(
      `Sluice vs Centrifugo, ${
        pairing === "core" ? "per core" : "whole box"
      }: ${sluice} vs ${centrifugo} and their transport variants — ${TITLE[pairing]}`,
      ["metric", "Sluice", "Centrifugo", "Sluice / Centrifugo", "srv CPU per op (S / C)", "goal", "goal met"],
      rows.map((r) => [
        r.metric,
        fmt(r.sluice),
        fmt(r.centrifugo),
        r.ratio === null || !Number.isFinite(r.ratio) ? "—" : `${r.ratio.toFixed(2)}×`,
        r.unit && (r.sluiceCpuPerOp !== null || r.centrifugoCpuPerOp !== null)
          ? `${fmt(r.sluiceCpuPerOp)} / ${fmt(r.centrifugoCpuPerOp)} ${r.unit}`
          : "—",
        r.goal === null
          ? "none set"
          : r.goal === "ahead"
          ? (r.higherBetter ? "Sluice higher" : "Sluice lower")
          : `Sluice ${r.goal} Centrifugo`,
        r.met === null ? (r.goal ? "not measured" : "—") : r.met ? "met" : "not met",
      ]),
    ));
  }
  return lines.join("\n");
}

function renderRatios(results) {
  const rows = results.ratios.map((
    r,
  ) => [
    r.what,
    `${r.a} / ${r.b}`,
    String(r.aValue),
    String(r.bValue),
    `${r.ratio.toFixed(2)}×`,
    r.higherBetter ? "higher is better" : "lower is better",
  ]);
  const lines = [table("Ratios", ["metric", "pair", "a", "b", "a / b", ""], rows)];
  const t = targets(results);
  if (t.length) {
    lines.push("### Targets (measured, not asserted)", "");
    for (const x of t) lines.push(`- ${x}`);
    lines.push("");
  }
  return lines.join("\n");
}

function targets(results) {
  const R = results.scenarios;
  const out = [];
  const big = P.fanout.sizes.at(-1);
  const i = P.fanout.sizes.length - 1;
  const SL = ["sluice-bun", "sluice-deno"];
  const bareOf = (s) => s.replace("sluice", "bare");
  const sinkOf = (s) => s.replace("sluice", "sink");
  const fmtP99 = (r) =>
    !r?.steady
      ? "—"
      : r.steady.p99 === null
      ? `lost (${pct(r.steady.ratio)} delivered)`
      : `${r.steady.p99} ms`;
  if (R.fanout) {
    const dps = (s) => R.fanout[s]?.[i]?.burst?.deliveriesPerSec;
    if (dps("sluice-bun-ws") && dps("nchan-ws")) {
      const r = dps("sluice-bun-ws") / dps("nchan-ws");
      out.push(
        `sluice-bun-ws ≥ 2× nchan-ws deliveries/s at ${big} WebSocket subscribers: ${r.toFixed(2)}× → ${
          r >= 2 ? "met" : "not met"
        }`,
      );
    }
    const cand = SL.map((s) => [s, dps(s)]).filter(([, v]) => v);
    if (cand.length && dps("nchan")) {
      const [bs, bv] = cand.reduce((m, c) => (c[1] > m[1] ? c : m));
      const r = bv / dps("nchan");
      out.push(
        `${bs} (best runtime) ≥ 1.5× nchan deliveries/s at ${big} subscribers: ${r.toFixed(2)}× → ${
          r >= 1.5 ? "met" : "not met"
        }`,
      );
    }
    for (const [s, v] of cand) {
      for (const floor of [bareOf(s), sinkOf(s)]) {
        const f = dps(floor);
        if (!f) continue;
        out.push(
          `${s} within 10% of ${floor} deliveries/s at ${big}: ${(v / f * 100).toFixed(0)}% → ${
            v >= 0.9 * f ? "met" : "not met"
          }`,
        );
      }
    }
    for (const s of SL) {
      const r = R.fanout[s]?.[i];
      if (!r?.steady) continue;
      const p99 = r.steady.p99;
      out.push(
        `${s} p99 < 50 ms at ${big} subscribers × ${P.fanout.rate} msg/s: ${fmtP99(r)} → ${
          p99 !== null && p99 < 50 ? "met" : "not met"
        } (nchan ${fmtP99(R.fanout.nchan?.[i])}, ${bareOf(s)} ${fmtP99(R.fanout[bareOf(s)]?.[i])})`,
      );
    }
  }
  if (R.idle) {
    const top = (s) => R.idle[s]?.steps?.at(-1);
    for (const s of SL) {
      const t = top(s);
      if (!t) continue;
      const ctx = ["nchan", bareOf(s)].filter((x) => top(x)).map((x) => `${x} ${top(x).kbPerConn} KB`).join(
        ", ",
      );
      out.push(
        `${s} idle SSE connection ≤ 4 KB server RSS: ${t.kbPerConn} KB at ${t.connections} (marginal ${
          t.kbPerConnMarginal ?? "—"
        } KB) → ${t.kbPerConn <= 4 ? "met" : "not met"}${ctx ? ` (${ctx})` : ""}`,
      );
    }
    const ws = top("sluice-bun-ws");
    const sse = top("sluice-bun");
    if (ws && sse) {
      out.push(
        `sluice-bun idle WebSocket no heavier than idle SSE: ${ws.kbPerConn} KB vs ${sse.kbPerConn} KB at ${ws.connections} → ${
          ws.kbPerConn <= sse.kbPerConn ? "met" : "not met"
        }${top("nchan-ws") ? ` (nchan-ws ${top("nchan-ws").kbPerConn} KB)` : ""}`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
async function main() {
  tmpRoot = mkdtempSync(join(os.tmpdir(), "sluice-bench-"));
  const env = environment();
  const startedAt = now();
  log(
    `Sluice bench${QUICK ? " (quick)" : ""}: scenarios ${SCENARIOS.join(", ")}; servers ${
      SERVERS.join(", ")
    }`,
  );
  log(
    `versions: Sluice ${env.sluice}, Bun ${env.bun}, Deno ${env.deno}, Node ${env.node}, nginx ${env.nginx}, nchan ${env.nchan}`,
  );
  log(`machine: ${env.cpu}, ${env.memGB} GB, Linux ${env.kernel}, ulimit -n ${env.nofile}`);
  if (SERVERS.includes("nchan") && !existsSync(NCHAN_MODULE)) {
    die(`nchan module not found at ${NCHAN_MODULE} (set NCHAN_MODULE)`);
  }
  // What the chosen servers need, said in one line each before anything starts.
  const parsed = SERVERS.map(parseServer);
  if (parsed.some((s) => s.pinned) && versionOf("taskset", ["-V"]) === "unavailable") {
    die("the -1core servers need taskset (util-linux) — or leave them out with --servers=");
  }
  if (parsed.some((s) => s.pinned) && os.cpus().length < 2) {
    die("the -1core servers need 2 cores: the server on one, the load on another");
  }
  if (parsed.some((s) => s.workers > 1) && versionOf("redis-server", ["--version"]) === "unavailable") {
    die(
      "the -w2 servers need redis-server (apt-get install redis-server) — or leave them out with --servers=",
    );
  }
  if (parsed.some((s) => s.kind === "centrifugo")) {
    env.centrifugo = versionOf(centrifugoBinary(), ["version"], /Centrifugo v?(\S+)/) ?? "?";
    log(`Centrifugo ${env.centrifugo}: ${centrifugoBinary()}`);
  }
  const results = {
    env,
    quick: QUICK,
    params: P,
    perWorker: PER_WORKER,
    payloadBytes: PAYLOAD,
    scenarios: {},
  };
  for (const sc of SCENARIOS) {
    log(`\n== ${sc}`);
    results.scenarios[sc] = {};
    for (const s of serversFor(sc)) {
      const t0 = now();
      try {
        results.scenarios[sc][s] = await RUNNERS[sc](s);
      } catch (err) {
        log(`  ${sc} ${s}: ERROR ${err?.message ?? err}`);
        results.scenarios[sc][s] = sc === "fanout"
          ? [{ error: String(err?.message ?? err) }]
          : { error: String(err?.message ?? err) };
      }
      killEverything(); // nothing survives into the next measurement
      log(`  (${sc} ${s}: ${((now() - t0) / 1000).toFixed(0)} s)`);
      await sleep(500);
    }
  }
  results.ratios = computeRatios(results);
  results.targets = targets(results);
  results.vsCentrifugo = vsCentrifugo(results);
  results.seconds = round((now() - startedAt) / 1000, 0);
  const env2 = results.env;
  console.log(`\n## Results${QUICK ? " (--quick)" : ""} — ${env2.date}\n`);
  console.log(
    `- Sluice ${env2.sluice} · Bun ${env2.bun} · Deno ${env2.deno} · Node ${env2.node} (load client) · nginx ${env2.nginx} + nchan ${env2.nchan} (1 worker)${
      env2.centrifugo ? ` · Centrifugo ${env2.centrifugo}` : ""
    }`,
  );
  console.log(
    `- ${env2.cpu} · ${env2.memGB} GB RAM · Linux ${env2.kernel} · ulimit -n ${env2.nofile} · ${PAYLOAD}-byte padding per message · total ${results.seconds} s\n`,
  );
  console.log(render(results));
  const json = JSON.stringify(results, null, 2);
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, json + "\n");
    log(`JSON written to ${JSON_FILE}`);
  }
  console.log("```json\n" + JSON.stringify(summaryJson(results)) + "\n```");
}

/** The final JSON document without the bulky parts (the --json file has everything). */
function summaryJson(results) {
  return {
    env: results.env,
    quick: results.quick,
    seconds: results.seconds,
    scenarios: results.scenarios,
    ratios: results.ratios.map(({ what, a, b, ratio }) => ({ what, a, b, ratio })),
    vsCentrifugo: results.vsCentrifugo,
  };
}

main().then(() => {
  killEverything();
  process.exit(0);
}, (err) => {
  log("bench: " + (err?.stack ?? err));
  killEverything();
  process.exit(1);
});
