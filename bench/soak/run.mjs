#!/usr/bin/env node
// The soak campaign: hostile clients and long uptimes, on Sluice processes started as users start
// them, on Bun and on Deno. Prints figures (RSS over time, deliveries lost, process alive); asserts
// nothing. See bench/README.md ("Soak campaign") for what each scenario shows and the last figures.
//
//   npm run soak                                   # every scenario, both runtimes (≈ 1 h)
//   node bench/soak/run.mjs --quick                # short versions (≈ 8 min)
//   node bench/soak/run.mjs --only=slow,cycles --runtimes=bun --json=soak.json
//
// Scenarios:
//   slow       readers, and two waves of 10k subscribers that never read, while publishing
//              1k msgs/s; memory after each wave was cut (3008)
//   cycles     1M connect/disconnect cycles: tokens, server-side subscriptions, history reads
//   slowloris  heads and bodies at 1 byte/s and idle sockets past the descriptor limit (3 min)
//   redis      two nodes on Redis; Redis killed and restarted under publish load
//   sigterm    two nodes on Redis; one gets SIGTERM under publish load and comes back
//   fuzz       the protocol fuzzer (test/transports/protocol_fuzz.mjs) for many thousand requests
import net from "node:net";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  api,
  API_KEY,
  cleanupAll,
  health,
  mb,
  RecoveringSubscriber,
  SECRET,
  sleep,
  startRedis,
  startSluice,
  token,
} from "./lib.mjs";

const argv = process.argv.slice(2);
const opt = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = argv.includes("--quick");
const ALL = ["slow", "cycles", "slowloris", "redis", "sigterm", "fuzz"];
const ONLY = (opt("only") ?? ALL.join(",")).split(",").filter(Boolean);
const RUNTIMES = (opt("runtimes") ?? "bun,deno").split(",").filter(Boolean);
for (const s of ONLY) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s} (${ALL.join(", ")})`);

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : "0.0");

/** Samples a process every `everyMs` into an array of {t, rss}; stop() returns the samples. */
function sampler(proc, everyMs, extra = () => ({})) {
  const t0 = Date.now();
  const samples = [];
  const take = async () =>
    samples.push({ t: Math.round((Date.now() - t0) / 1000), rss: mb(proc.rss()), ...(await extra()) });
  const timer = setInterval(() => void take(), everyMs);
  void take();
  return {
    samples,
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/** Disconnects with a code so far, from Sluice's Prometheus metrics. */
async function serverDisconnects(proc, code) {
  try {
    const text = await (await fetch(`${proc.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const re = new RegExp(
      `centrifugo_client_num_server_disconnects\\{[^}]*code="${code}"[^}]*\\} (\\d+)`,
      "g",
    );
    let n = 0;
    for (const m of text.matchAll(re)) n += Number(m[1]);
    return n;
  } catch {
    return undefined;
  }
}

async function numClients(proc) {
  const r = await api(proc.url, "info", {}, 10_000);
  return r.body?.result?.nodes?.reduce((n, node) => n + node.num_clients, 0);
}

/** A socket that connects a uni_http_stream subscriber and stops reading after the connect push. */
function pausedSubscriber(port, user, channels) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ token: token({ sub: user, channels }) });
    const sock = net.connect(port, "127.0.0.1", () => {
      sock.write(
        `POST /connection/uni_http_stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    sock.once("data", () => {
      sock.pause(); // never read again
      resolve(sock);
    });
    sock.on("error", () => resolve(sock));
  });
}

// ------------------------------------------------------------------------------------------------
// slow: 10k subscribers that never read, readers that do, 1k publications/s

async function slow(runtime) {
  const o = QUICK
    ? { slow: 2000, readers: 20, rate: 1000, waitCutS: 60 }
    : { slow: 10_000, readers: 20, rate: 1000, waitCutS: 300 };
  const server = await startSluice(runtime, {
    uni_http_stream: true,
    prometheus: true,
    // Recovery stays at Centrifugo's default (300): a reader further behind is told "not
    // recovered". A larger recovery would not fit the 1 MB queue of 1 KB publications anyway.
    namespaces: [{ name: "slow", history_size: 10_000, history_ttl: "900s", force_recovery: true }],
  });
  const baseline = mb(server.rss());
  const readers = await startReaders({
    ports: [server.port],
    count: o.readers,
    channel: "slow:feed",
    user: "reader",
  });
  const s = sampler(server, 10_000);
  const pad = "x".repeat(1000); // ~1 KB a publication: 1 MB/s for a subscriber that keeps up
  const pub = publisher(() => [server], "slow:feed", o.rate, (seq) => ({ seq, pad }));
  const started = Date.now();
  // Two waves of subscribers that never read: each is cut (3008) once its queue is full; the
  // memory after the second wave shows whether what the first left behind is reused or grows.
  const waves = [];
  for (let wave = 1; wave <= 2; wave++) {
    const socks = [];
    for (let i = 0; i < o.slow; i += 250) {
      socks.push(
        ...await Promise.all(
          Array.from(
            { length: Math.min(250, o.slow - i) },
            (_, k) => pausedSubscriber(server.port, `slow${wave}-${i + k}`, ["slow:feed"]),
          ),
        ),
      );
    }
    const connectedRss = mb(server.rss());
    log(`  wave ${wave}: ${o.slow} non-reading subscribers connected; RSS ${connectedRss} MB`);
    const cutBy = Date.now() + o.waitCutS * 1000;
    let clients = await numClients(server);
    while ((clients === undefined || clients > o.readers) && Date.now() < cutBy) {
      await sleep(5_000);
      clients = await numClients(server);
    }
    const cutAfterS = Math.round((Date.now() - started) / 1000);
    // Memory is read while publishing goes on (a runtime collects garbage when it works, not
    // while it idles): the lowest of 30 s of samples after the cut.
    const after = [];
    for (let i = 0; i < 6; i++) {
      await sleep(5_000);
      after.push(mb(server.rss()));
    }
    for (const sock of socks) sock.destroy();
    waves.push({ wave, connectedRss, clientsLeft: clients, cutAfterS, afterCut: Math.min(...after) });
    log(
      `  wave ${wave}: ${clients - o.readers} slow left at ${cutAfterS} s; RSS after ${
        Math.min(...after)
      } MB`,
    );
  }
  // A minute more of publishing to the readers: memory once the runtime's collector has had work.
  const settled = [];
  for (let i = 0; i < 12; i++) {
    await sleep(5_000);
    settled.push(mb(server.rss()));
  }
  pub.stop = true;
  await pub.done;
  const elapsed = (Date.now() - started) / 1000;
  const samples = s.stop();
  const cut = await serverDisconnects(server, 3008);
  // Readers catch up (recovering when they themselves were cut), then every acknowledged offset counts.
  const result = {
    baseline_mb: baseline,
    peak_mb: Math.max(...samples.map((x) => x.rss)),
    wave1_after_cut_mb: waves[0].afterCut,
    wave2_after_cut_mb: waves[1].afterCut,
    growth_after_cut_mb: waves[0].afterCut - baseline,
    growth_wave2_over_wave1_mb: waves[1].afterCut - waves[0].afterCut,
    settled_mb: Math.min(...settled),
    growth_settled_mb: Math.min(...settled) - baseline,
    slow_per_wave: o.slow,
    slow_left: waves.map((w) => w.clientsLeft - o.readers).join("/"),
    cut_3008: cut,
    ...await readers.verify(pub),
    publish_rate: Math.round(pub.acked.size / elapsed),
    alive: server.alive(),
    rss_timeline_mb: samples.map((x) => `${x.t}s:${x.rss}`).join(" "),
  };
  server.kill();
  return result;
}

/**
 * Readers in a child process (bench/soak/readers.mjs), subscribed before this resolves; `verify`
 * waits for them to catch up, then reports what they missed of the acknowledged publications.
 */
async function startReaders(cfg) {
  const child = spawn(process.execPath, [
    join(dirname(fileURLToPath(import.meta.url)), "readers.mjs"),
    JSON.stringify(cfg),
  ]);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  while (!out.includes('"ready"')) {
    if (child.exitCode !== null) throw new Error(`readers failed: ${out}`);
    await sleep(50);
  }
  return {
    async verify(pub, settleMs = 15_000) {
      await sleep(settleMs);
      child.stdin.write("dump\n");
      while (!out.includes('"dump"')) {
        if (child.exitCode !== null) throw new Error(`readers failed: ${out.slice(-2000)}`);
        await sleep(100);
      }
      const { readers } = JSON.parse(out.slice(out.indexOf('{"type":"dump"')));
      const subs = readers.map((r) => {
        const received = new Set();
        for (const [from, to] of r.received) for (let o = from; o <= to; o++) received.add(o);
        return {
          ...r,
          received: new Map([[cfg.channel, received]]),
          disconnects: new Map(Object.entries(r.disconnects)),
        };
      });
      return verifyDelivery(subs, pub, cfg.channel, 0);
    },
  };
}

// ------------------------------------------------------------------------------------------------
// cycles: connect/disconnect with tokens, server-side subscriptions (history reads), publishes

async function cycles(runtime) {
  const total = QUICK ? 100_000 : 1_000_000;
  const server = await startSluice(runtime, {
    uni_http_stream: true,
    namespaces: [{
      name: "feed",
      history_size: 10,
      history_ttl: "30s",
      history_meta_ttl: "60s",
      force_recovery: true,
    }],
  });
  const checkpoints = [];
  let done = 0;
  let failed = 0;
  const started = Date.now();
  const one = (i) =>
    new Promise((resolve) => {
      const body = JSON.stringify({
        token: token({ sub: `u${i % 1000}`, channels: [`feed:c${i}`, "feed:shared"] }),
      });
      const sock = net.connect(server.port, "127.0.0.1", () => {
        sock.write(
          `POST /connection/uni_http_stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
      let got = "";
      const finish = (ok) => {
        if (!ok) failed++;
        sock.resetAndDestroy(); // an abrupt close (RST), as a tab that goes away; no TIME_WAIT here
        resolve();
      };
      sock.on("data", (d) => {
        got += d;
        if (got.includes('"connect"')) finish(true);
        else if (
          got.includes('"disconnect"') || (got.startsWith("HTTP/1.1") && !got.startsWith("HTTP/1.1 200"))
        ) finish(false);
      });
      sock.on("error", () => finish(false));
      sock.setTimeout(10_000, () => finish(false));
    });
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await one(i);
      done++;
      if (i % 100 === 0) void api(server.url, "publish", { channel: `feed:c${i}`, data: { i } });
      if (done % (total / 10) === 0) {
        checkpoints.push({
          cycles: done,
          rss: mb(server.rss()),
          s: Math.round((Date.now() - started) / 1000),
        });
        log(`  ${done} cycles, RSS ${checkpoints.at(-1).rss} MB`);
      }
    }
  };
  await Promise.all(Array.from({ length: 48 }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await sleep(3_000);
  const clients = await numClients(server);
  const warm = checkpoints[1] ?? checkpoints[0];
  const last = checkpoints.at(-1);
  const result = {
    cycles: done,
    failed,
    rate_per_s: Math.round(done / elapsed),
    rss_at_20pct_mb: warm.rss,
    rss_at_end_mb: last.rss,
    drift_pct: pct(last.rss - warm.rss, warm.rss),
    max_mb: Math.max(...checkpoints.map((c) => c.rss)),
    clients_left: clients,
    alive: server.alive(),
    rss_checkpoints_mb: checkpoints.map((c) => `${c.cycles / 1000}k:${c.rss}`).join(" "),
  };
  server.kill();
  return result;
}

// ------------------------------------------------------------------------------------------------
// slowloris: 1 byte/s heads and bodies, idle sockets past the descriptor limit

async function slowloris(runtime) {
  const o = QUICK
    ? { seconds: 60, heads: 300, bodies: 300, idle: 1500, maxFiles: 1024 }
    : { seconds: 180, heads: 1000, bodies: 1000, idle: 4000, maxFiles: 4096 };
  const server = await startSluice(runtime, {
    http_stream: true,
    uni_http_stream: true,
  }, { maxFiles: o.maxFiles });
  const baseline = mb(server.rss());
  let stopping = false;
  let opened = 0;
  const attackers = [];
  // Each attacker reopens its socket whenever the server closes it, for as long as the run lasts.
  const attack = (kind, i) => {
    if (stopping) return;
    const sock = net.connect(server.port, "127.0.0.1");
    opened++;
    let timer;
    sock.on("connect", () => {
      if (kind === "head") sock.write("GET /health HTTP/1.1\r\nHost: x\r\n");
      if (kind === "body") {
        const path = i % 2 ? "/api/publish" : "/connection/http_stream";
        sock.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Length: 1000000\r\n\r\n`,
        );
      }
      if (kind !== "idle") timer = setInterval(() => sock.write(kind === "head" ? "X" : "x"), 1_000);
    });
    sock.on("data", () => {});
    sock.on("error", () => {});
    sock.on("close", () => {
      clearInterval(timer);
      setTimeout(() => attack(kind, i), 200);
    });
    attackers.push(sock);
  };
  for (let i = 0; i < o.heads; i++) attack("head", i);
  for (let i = 0; i < o.bodies; i++) attack("body", i);
  for (let i = 0; i < o.idle; i++) attack("idle", i);
  const probes = [];
  const s = sampler(server, 5_000);
  const started = Date.now();
  while (Date.now() - started < o.seconds * 1000) {
    probes.push(await health(server.url, 15_000));
    await sleep(2_000);
  }
  stopping = true;
  const samples = s.stop();
  for (const sock of attackers) sock.destroy();
  await sleep(2_000);
  const after = await health(server.url);
  const ok = probes.filter((p) => p.status === 200);
  const lat = ok.map((p) => p.ms).sort((a, b) => a - b);
  const result = {
    descriptor_limit: o.maxFiles,
    attacker_sockets: o.heads + o.bodies + o.idle,
    sockets_opened: opened,
    baseline_mb: baseline,
    max_mb: Math.max(...samples.map((x) => x.rss)),
    end_mb: samples.at(-1).rss,
    health_ok: `${ok.length}/${probes.length}`,
    health_p50_ms: lat[Math.floor(lat.length / 2)] ?? null,
    health_max_ms: lat.at(-1) ?? null,
    health_after: after.status,
    alive: server.alive(),
    accept_warnings: server.logged("cannot accept connections; retrying"),
    rss_timeline_mb: samples.map((x) => `${x.t}s:${x.rss}`).join(" "),
  };
  server.kill();
  return result;
}

// ------------------------------------------------------------------------------------------------
// redis / sigterm: two nodes on Redis, recovering subscribers, a publisher that counts what the
// API acknowledged; then an outage, and a check that every acknowledged publication arrived.

async function twoNodes(runtime, redis, ports = [0, 0]) {
  const config = {
    uni_http_stream: true,
    engine: "redis",
    redis_address: redis.url,
    redis_prefix: "soak",
    // Clients that come back within the history window get everything, however much that is.
    client_recovery_max_publication_limit: 100_000,
    namespaces: [{ name: "feed", history_size: 100_000, history_ttl: "600s", force_recovery: true }],
  };
  const a = await startSluice(runtime, config, { port: ports[0] });
  const b = await startSluice(runtime, config, { port: ports[1] });
  return { config, nodes: [a, b] };
}

function publisher(nodes, channel, rate, data = (seq) => ({ seq })) {
  const st = {
    sent: 0,
    acked: new Map(),
    errors: 0,
    errorsByPhase: {},
    inflight: 0,
    phase: "before",
    stop: false,
  };
  const started = Date.now();
  const loop = async () => {
    while (!st.stop) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      while (st.sent < due && st.inflight < 64) {
        const seq = st.sent++;
        const node = nodes()[seq % nodes().length];
        const phase = st.phase;
        st.inflight++;
        void api(node.url, "publish", { channel, data: data(seq) }, 5_000).then((r) => {
          st.inflight--;
          if (r.status === 200 && r.body?.result?.offset) st.acked.set(r.body.result.offset, seq);
          else {
            st.errors++;
            st.errorsByPhase[phase] = (st.errorsByPhase[phase] ?? 0) + 1;
          }
        });
      }
      await sleep(10);
    }
    while (st.inflight > 0) await sleep(20);
  };
  st.done = loop();
  return st;
}

async function verifyDelivery(subs, pub, channel, waitMs = 60_000) {
  const want = [...pub.acked.keys()];
  const missingOf = (s) => want.filter((o) => !s.received.get(channel).has(o)).length;
  const deadline = Date.now() + waitMs;
  while (subs.some((s) => missingOf(s) > 0) && Date.now() < deadline) await sleep(1_000);
  const first = subs.find((s) => missingOf(s) > 0);
  if (first && process.env.SOAK_DEBUG) {
    console.log("missing", want.filter((o) => !first.received.get(channel).has(o)).join(","));
    console.log((first.history ?? []).join("\n"));
  }
  const codes = {};
  for (const s of subs) for (const [c, n] of s.disconnects) codes[c] = (codes[c] ?? 0) + n;
  return {
    published_ok: want.length,
    publish_errors: pub.errors,
    errors_by_phase: JSON.stringify(pub.errorsByPhase),
    subscribers: subs.length,
    // Lost without a word: missing at a connected subscriber that was never told "not recovered".
    // One that came back after the history window is told so (its app reloads), and one that is
    // not connected knows it: neither is silent.
    missing_silent: subs.filter((s) => s.unrecovered === 0 && s.live).reduce((n, s) => n + missingOf(s), 0),
    not_connected_at_end: subs.filter((s) => !s.live).length,
    missing: subs.reduce((n, s) => n + missingOf(s), 0),
    missing_sample: [...new Set(subs.flatMap((s) => want.filter((o) => !s.received.get(channel).has(o))))]
      .sort((a, b) => a - b).slice(0, 12).join(","),
    max_acked: want.reduce((a, b) => Math.max(a, b), 0),
    duplicates: subs.reduce((n, s) => n + s.duplicates, 0),
    unrecovered: subs.reduce((n, s) => n + s.unrecovered, 0),
    reconnects: subs.reduce((n, s) => n + s.connects - 1, 0),
    disconnect_codes: JSON.stringify(codes),
  };
}

async function redisOutage(runtime) {
  const redis = await startRedis();
  const { nodes } = await twoNodes(runtime, redis);
  const channel = "feed:main";
  let k = 0;
  const subs = Array.from(
    { length: QUICK ? 50 : 200 },
    (_, i) =>
      new RecoveringSubscriber({ ports: () => nodes[k++ % 2].port, user: `s${i}`, channels: [channel] })
        .start(),
  );
  while (subs.some((r) => r.connects === 0)) await sleep(50);
  const pub = publisher(() => nodes, channel, 200);
  await sleep(10_000);
  pub.phase = "redis down";
  redis.kill();
  log("  redis killed");
  await sleep(5_000);
  await redis.restart();
  pub.phase = "after restart";
  log("  redis restarted");
  await sleep(15_000);
  pub.stop = true;
  await pub.done;
  const result = { ...await verifyDelivery(subs, pub, channel), alive: nodes.every((n) => n.alive()) };
  for (const s of subs) s.stop();
  for (const n of nodes) n.kill();
  redis.kill();
  return result;
}

async function sigterm(runtime) {
  const redis = await startRedis();
  const { config, nodes } = await twoNodes(runtime, redis);
  const channel = "feed:main";
  let k = 0;
  const live = () => nodes.filter((n) => n.alive());
  const subs = Array.from({ length: QUICK ? 50 : 200 }, (_, i) =>
    new RecoveringSubscriber({
      ports: () => nodes[k++ % 2].port, // a refused connect just tries the next node
      user: `s${i}`,
      channels: [channel],
    }).start());
  while (subs.some((r) => r.connects === 0)) await sleep(50);
  const pub = publisher(live, channel, 200);
  await sleep(10_000);
  pub.phase = "node A stopping";
  const a = nodes[0];
  a.kill("SIGTERM");
  const exit = await a.exited;
  log(`  node A stopped on SIGTERM (${JSON.stringify(exit)})`);
  pub.phase = "node A down";
  await sleep(5_000);
  nodes[0] = await startSluice(runtime, config, { port: a.port });
  pub.phase = "node A back";
  log("  node A restarted");
  await sleep(15_000);
  pub.stop = true;
  await pub.done;
  const result = {
    ...await verifyDelivery(subs, pub, channel),
    node_a_exit: JSON.stringify(exit),
    alive: nodes.every((n) => n.alive()),
  };
  for (const s of subs) s.stop();
  for (const n of nodes) n.kill();
  redis.kill();
  return result;
}

// ------------------------------------------------------------------------------------------------
// fuzz: the suite's protocol fuzzer, many thousand cases against a server process

async function fuzz(runtime) {
  const { checkRequest, checkSession, fc, FUZZ_CONFIG, requestArb, sessionFramesArb } = await import(
    "../../test/transports/protocol_fuzz.mjs"
  );
  const server = await startSluice(runtime, { ...FUZZ_CONFIG });
  const baseline = mb(server.rss());
  const violations = [];
  const runs = QUICK ? { requests: 3000, sessions: 300 } : { requests: 30_000, sessions: 3_000 };
  const checkpoints = [];
  let n = 0;
  const checkpoint = () => {
    if (++n % 2000 === 0) checkpoints.push(`${n / 1000}k:${mb(server.rss())}`);
  };
  await fc.assert(
    fc.asyncProperty(requestArb({ secret: SECRET, apiKey: API_KEY }), async (req) => {
      const p = await checkRequest(server.url, req, { streamMs: 50 });
      if (p.length && violations.length < 20) {
        violations.push(`${JSON.stringify(req).slice(0, 200)} → ${p.join("; ")}`);
      }
      checkpoint();
      return true;
    }),
    { numRuns: runs.requests },
  );
  await fc.assert(
    fc.asyncProperty(sessionFramesArb(SECRET), async (frames) => {
      const p = await checkSession(server.url, SECRET, frames, { streamMs: 50 });
      if (p.length && violations.length < 20) {
        violations.push(`${JSON.stringify(frames).slice(0, 200)} → ${p.join("; ")}`);
      }
      checkpoint();
      return true;
    }),
    { numRuns: runs.sessions },
  );
  await sleep(3_000);
  const result = {
    cases: runs.requests + runs.sessions,
    violations: violations.length,
    first_violations: violations.slice(0, 3).join(" | "),
    baseline_mb: baseline,
    end_mb: mb(server.rss()),
    clients_left: await numClients(server),
    health: (await health(server.url)).status,
    alive: server.alive(),
    rss_checkpoints_mb: checkpoints.join(" "),
  };
  server.kill();
  return result;
}

// ------------------------------------------------------------------------------------------------

const SCENARIOS = { slow, cycles, slowloris, redis: redisOutage, sigterm, fuzz };
const results = [];
try {
  for (const name of ONLY) {
    for (const runtime of RUNTIMES) {
      log(`${name} on ${runtime}${QUICK ? " (quick)" : ""}`);
      const started = Date.now();
      let result;
      try {
        result = await SCENARIOS[name](runtime);
      } catch (err) {
        result = { error: String(err?.stack ?? err).slice(0, 2000) };
      }
      await cleanupAll();
      result.minutes = ((Date.now() - started) / 60_000).toFixed(1);
      results.push({ scenario: name, runtime, ...result });
      log(`${name} on ${runtime}:`, JSON.stringify(result, null, 1));
    }
  }
} finally {
  await cleanupAll();
}
const file = opt("json");
if (file) {
  writeFileSync(file, JSON.stringify({ quick: QUICK, date: new Date().toISOString(), results }, null, 2));
}
console.log("\nscenario   runtime  figures");
for (const r of results) {
  const { scenario, runtime, ...rest } = r;
  const figures = Object.entries(rest).filter(([k]) => !k.includes("timeline") && !k.includes("checkpoints"))
    .map(([k, v]) => `${k}=${v}`).join("  ");
  console.log(`${scenario.padEnd(10)} ${runtime.padEnd(8)} ${figures}`);
}
process.exit(0);
