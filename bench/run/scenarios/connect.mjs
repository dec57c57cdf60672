// Connects: a warm server (after a warm-up round) or the cold reconnect storm (every client at once);
// rate, latency to ready and to the response head, server CPU per connection.
import { Fleet } from "../fleet.mjs";
import { withServer } from "../launchers.mjs";
import { P } from "../options.mjs";
import { log, now, sleep } from "../processes.mjs";
import { cpuMeter, latStats, round } from "../stats.mjs";

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

export function connect(name, p = P.connect) {
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
