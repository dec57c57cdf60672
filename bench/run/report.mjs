// The report printed after a run: one table per scenario, the ratios between servers, the targets,
// Sluice vs Centrifugo per pairing, and the JSON summary.
import { targets } from "./comparisons.mjs";
import { k, lq, mb, ms, pct, table } from "./format.mjs";
import { P, SERVERS } from "./options.mjs";

export function render(results) {
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

/** The final JSON document without the bulky parts (the --json file has everything). */
export function summaryJson(results) {
  return {
    env: results.env,
    quick: results.quick,
    seconds: results.seconds,
    scenarios: results.scenarios,
    ratios: results.ratios.map(({ what, a, b, ratio }) => ({ what, a, b, ratio })),
    vsCentrifugo: results.vsCentrifugo,
  };
}
