// Idle memory: connections opened in steps, the server's RSS per connection at each, and after one
// heartbeat round (pings every 25 s).
import { Fleet, openAll } from "../fleet.mjs";
import { withServer } from "../launchers.mjs";
import { P } from "../options.mjs";
import { log, sleep } from "../processes.mjs";
import { round } from "../stats.mjs";

export function idle(name) {
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
