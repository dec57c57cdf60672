// What the results compare: ratios between servers (Sluice against nchan, the bare loops, the other
// runtime), Sluice vs Centrifugo per pairing with the goals set for it, and the targets — measured
// and reported, never asserted.
import { k, pct } from "./format.mjs";
import { P } from "./options.mjs";
import { PAIRINGS } from "./servers.mjs";
import { round } from "./stats.mjs";

export function computeRatios(results) {
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
export function vsCentrifugo(results) {
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

export function targets(results) {
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
