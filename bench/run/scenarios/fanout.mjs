// Fan-out: N subscribers of one channel; a burst (as fast as the server takes publishes: capacity)
// and a steady rate (latency, with a delivery deadline), for each size.
import { Fleet, openAll, waitDeliveries } from "../fleet.mjs";
import { withServer } from "../launchers.mjs";
import { P } from "../options.mjs";
import { log, now } from "../processes.mjs";
import { Publisher } from "../publisher.mjs";
import { cpuMeter, latStats, round } from "../stats.mjs";

export async function fanout(name) {
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
