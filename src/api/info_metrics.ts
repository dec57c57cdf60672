/**
 * @module
 * The `metrics` object of a node in the API's `info` answer, as Centrifugo builds it from its
 * Prometheus metrics: `{"interval": 60, "items": {"centrifugo.node.num_clients": 3, …}}`. An item
 * is a `centrifugo_*` metric named `namespace.subsystem.name`, then `sum` / `count` for a
 * histogram, then its labels as `name.value` pairs; a gauge's value is its value now, a counter's
 * (and a histogram's sum and count) the increase over the last interval — the first interval
 * counting from the start. Centrifugo aggregates on a timer; here the first `info` call after an
 * interval has passed does it, so an idle server keeps no timer.
 */
import type { Metrics, MetricsSnapshot } from "../metrics.ts";

/** Seconds between aggregations, as Centrifugo's default `node_info_metrics_aggregate_interval`. */
const INTERVAL_SECONDS = 60;

export interface InfoMetrics {
  interval: number;
  items: Record<string, number>;
}

/** Go's strings.SplitN(s, "_", 3). */
function splitName(name: string): string[] {
  const first = name.indexOf("_");
  if (first < 0) return [name];
  const second = name.indexOf("_", first + 1);
  if (second < 0) return [name.slice(0, first), name.slice(first + 1)];
  return [name.slice(0, first), name.slice(first + 1, second), name.slice(second + 1)];
}

/** Label pairs as Prometheus gathers them (sorted by name, empty values left out), flattened. */
function labelPath(labels: Record<string, string | number>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(labels).sort()) {
    const value = String(labels[name]);
    if (value !== "") out.push(name, value);
  }
  return out;
}

interface SnapshotMetric {
  name: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

class Aggregator {
  /** Counter totals (and histogram sums and counts) at the last aggregation, by item key. */
  private totals = new Map<string, number>();
  private latest: InfoMetrics | undefined;
  private takenAt = -Infinity;
  private pending: Promise<InfoMetrics> | undefined;

  constructor(private readonly metrics: Metrics) {}

  current(): Promise<InfoMetrics> {
    if (this.latest && performance.now() - this.takenAt < INTERVAL_SECONDS * 1000) {
      return Promise.resolve(this.latest);
    }
    // calls at the same moment share one aggregation (a second would see no increase at all)
    return this.pending ??= this.metrics.snapshot().then((snapshot) => {
      this.latest = { interval: INTERVAL_SECONDS, items: this.items(snapshot) };
      this.takenAt = performance.now();
      return this.latest;
    }).finally(() => this.pending = undefined);
  }

  private items(snapshot: MetricsSnapshot): Record<string, number> {
    // prom-client's JSON as it is at run time (its typings call `type` an enum, the value is a name)
    const metrics = snapshot as unknown as SnapshotMetric[];
    const items: Record<string, number> = {};
    const totals = new Map<string, number>();
    const increase = (key: string, total: number) => {
      items[key] = total - (this.totals.get(key) ?? 0);
      totals.set(key, total);
    };
    for (const metric of metrics) {
      if (!metric.name.startsWith("centrifugo")) continue;
      const parts = splitName(metric.name);
      if (parts.length < 2) continue;
      for (const v of metric.values) {
        const labels = labelPath(v.labels);
        if (metric.type === "gauge") items[[...parts, ...labels].join(".")] = v.value;
        else if (metric.type === "counter") increase([...parts, ...labels].join("."), v.value);
        else if (metric.type === "histogram" || metric.type === "summary") {
          // Centrifugo's durations are summaries: their sum and count are what it reports
          const part = v.metricName?.endsWith("_sum")
            ? "sum"
            : v.metricName?.endsWith("_count")
            ? "count"
            : "";
          if (part) increase([...parts, part, ...labels].join("."), v.value);
        }
      }
    }
    this.totals = totals;
    return items;
  }
}

const aggregators = new WeakMap<Metrics, Aggregator>();

/** This process's `metrics` for `info`. */
export function infoMetrics(metrics: Metrics): Promise<InfoMetrics> {
  let a = aggregators.get(metrics);
  if (!a) aggregators.set(metrics, a = new Aggregator(metrics));
  return a.current();
}
