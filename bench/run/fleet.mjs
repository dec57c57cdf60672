// The load: bench/load_client.mjs workers (raw TCP, ≤ --per-worker connections each) driven over
// stdin/stdout as one fleet — open, reset, report — and the waits for connections and deliveries.
import { join } from "node:path";
import { PER_WORKER } from "./options.mjs";
import { BENCH } from "./paths.mjs";
import { cpuSeconds, now, onBenchCpus, sleep, startProcess, stopProcess } from "./processes.mjs";
import { mergeHist, round } from "./stats.mjs";

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
export class Fleet {
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
export async function openAll(fleet, expected, timeoutMs, server) {
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
export async function waitDeliveries(
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
