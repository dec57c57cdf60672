// Many channels: every connection on a personal channel and a group (≈ 10 members); a steady mix
// of personal and group publishes, then a burst to every channel once.
import { Fleet, openAll, waitDeliveries } from "../fleet.mjs";
import { withServer } from "../launchers.mjs";
import { P } from "../options.mjs";
import { log, now } from "../processes.mjs";
import { Publisher } from "../publisher.mjs";
import { cpuMeter, latStats, round } from "../stats.mjs";

// deterministic pseudo-random sequence, the same for every server
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

export function many(name) {
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
