// Numbers from the measurements: latency histograms merged from the load clients (the same
// buckets as load_client.mjs), quantiles that count undelivered messages as slowest, rounding, and
// CPU meters over a phase (server, load clients, publisher, whole machine).
import { readFileSync } from "node:fs";
import { now } from "./processes.mjs";

const H_MIN = 0.01, H_RATIO = 1.05, H_N = 340;
export function mergeHist(hs) {
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
export const latStats = (h, expected = h.n) => ({
  n: h.n,
  p50: round(quantile(h, 0.5, Math.max(0, expected - h.n))),
  p99: round(quantile(h, 0.99, Math.max(0, expected - h.n))),
  max: round(h.n ? h.max : null),
  mean: round(h.n ? h.sum / h.n : null),
});
export function round(v, d = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

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
export function cpuMeter(server, fleet) {
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
