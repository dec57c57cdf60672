/**
 * @module
 * Prometheus metrics (prom-client), named like Centrifugo's where the meaning is the same — so its
 * Grafana dashboard works — plus `sluice_*` for what Centrifugo does not have (plugin hooks).
 *
 * Hot paths (every frame written to a client) only bump plain numbers; they are turned into
 * counters when Prometheus scrapes. Commands, API calls and hook calls are timed into Sluice's own
 * `DurationHistogram`, which prom-client renders and aggregates like its own.
 */
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";

/** One process's metrics as data, for adding up the workers of one machine. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export interface NodeStatsSource {
  stats(): { numClients: number; numUsers: number; numChannels: number; numSubs: number; uptime: number };
}

/** Running totals of one transport, kept by its connections and read at scrape time. */
export interface TransportCounts {
  /** Frames and bytes written. */
  count: number;
  bytes: number;
  /** Connections accepted, and open now. */
  accepted: number;
  open: number;
}

export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One line of a histogram's exposition, as prom-client's registry reads it. */
interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** One label set's observations: a count per bucket (the last one past every bound), sum and count. */
interface Series {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A duration histogram observed on hot paths (every server API call and client command): the
 * label set found with one Map lookup, then a bucket search and three additions. prom-client's
 * `observe` validates and hashes the labels on every call, about 2 µs of an API publish on Bun
 * measured in place. prom-client still renders and adds up workers' histograms: its registry asks
 * a metric only for `get()`, here in the shape its own histograms give (cumulative `_bucket`s with
 * `le`, `_sum`, `_count`).
 */
class DurationHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly [string] | readonly [string, string],
    private readonly bounds: readonly number[] = DURATION_BUCKETS,
  ) {}

  /** One observation for the label values `a` (and `b`, for two labels). */
  observe(seconds: number, a: string, b?: string): void {
    const key = b === undefined ? a : `${a}\u0000${b}`;
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = { [this.labelNames[0]]: a };
      if (b !== undefined && this.labelNames[1] !== undefined) labels[this.labelNames[1]] = b;
      s = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  get(): { name: string; help: string; type: "histogram"; values: HistogramValue[]; aggregator: "sum" } {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i];
        values.push({ labels: { le: this.bounds[i], ...s.labels }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: "+Inf", ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
  }

  reset(): void {
    this.series.clear();
  }

  /** Registered with a prom-client registry, which needs only what is above. */
  in(registry: Registry): this {
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
    return this;
  }
}

export class Metrics {
  readonly registry = new Registry();
  /** Frames and bytes written to clients and connections, by transport (bumped on hot paths). */
  readonly byTransport = new Map<string, TransportCounts>();
  /** Publications, joins and leaves that arrived from the broker. */
  readonly received = { publication: 0, join: 0, leave: 0 };
  private readonly reported = new Map<string, number>();

  private readonly connectionsAccepted = new Counter({
    name: "centrifugo_client_connections_accepted",
    help: "Connections accepted, by transport.",
    labelNames: ["transport"],
    registers: [this.registry],
  });
  private readonly connectionsInflight = new Gauge({
    name: "centrifugo_client_connections_inflight",
    help: "Open connections, by transport.",
    labelNames: ["transport"],
    registers: [this.registry],
  });
  private readonly serverDisconnects = new Counter({
    name: "centrifugo_client_num_server_disconnects",
    help: "Connections closed by the server, by disconnect code (3008 = slow consumer).",
    labelNames: ["code"],
    registers: [this.registry],
  });
  private readonly commandDuration = new DurationHistogram(
    "centrifugo_client_command_duration_seconds",
    "Client command processing time, by method.",
    ["method"],
  ).in(this.registry);
  private readonly replyErrors = new Counter({
    name: "centrifugo_client_num_reply_errors",
    help: "Client commands answered with an error, by method and code.",
    labelNames: ["method", "code"],
    registers: [this.registry],
  });
  private readonly apiDuration = new DurationHistogram(
    "centrifugo_api_command_duration_seconds",
    "Server API call time, by method.",
    ["method"],
  ).in(this.registry);
  private readonly apiErrors = new Counter({
    name: "centrifugo_api_command_errors_total",
    help: "Server API calls answered with an error, by method and code.",
    labelNames: ["method", "code"],
    registers: [this.registry],
  });
  private readonly transportSent = new Counter({
    name: "centrifugo_transport_messages_sent",
    help: "Frames written to clients, by transport.",
    labelNames: ["transport"],
    registers: [this.registry],
  });
  private readonly transportSentSize = new Counter({
    name: "centrifugo_transport_messages_sent_size",
    help: "Bytes written to clients, by transport.",
    labelNames: ["transport"],
    registers: [this.registry],
  });
  private readonly messagesReceived = new Counter({
    name: "centrifugo_node_messages_received_count",
    help: "Messages received from the broker, by type.",
    labelNames: ["type"],
    registers: [this.registry],
  });
  private readonly hookDuration = new DurationHistogram(
    "sluice_plugin_hook_duration_seconds",
    "Plugin hook call time, by plugin and hook.",
    ["plugin", "hook"],
  ).in(this.registry);
  private readonly hookErrors = new Counter({
    name: "sluice_plugin_hook_errors_total",
    help: "Plugin hook failures (throws other than ClientError/Disconnect, timeouts, bad results).",
    labelNames: ["plugin", "hook"],
    registers: [this.registry],
  });

  /** `worker`: this process's name among the workers of one machine (`sluice_worker_up{worker}`). */
  constructor(version: string, node: NodeStatsSource, worker?: string) {
    // Added up over workers, build info and uptime would be multiplied: they take the first / max.
    new Gauge({
      name: "centrifugo_node_build",
      help: "Build information (value 1).",
      labelNames: ["version"],
      registers: [this.registry],
      aggregator: "first",
    }).set({ version }, 1);
    if (worker !== undefined) {
      new Gauge({
        name: "sluice_worker_up",
        help: "1 for every worker process that answered this scrape.",
        labelNames: ["worker"],
        registers: [this.registry],
      }).set({ worker }, 1);
    }
    const gauge = (name: string, help: string, read: () => number, aggregator: "sum" | "max" = "sum") =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        aggregator,
        collect() {
          this.set(read());
        },
      });
    gauge("centrifugo_node_num_clients", "Connections on this node.", () => node.stats().numClients);
    gauge("centrifugo_node_num_users", "Distinct users on this node.", () => node.stats().numUsers);
    gauge(
      "centrifugo_node_num_channels",
      "Channels with subscribers on this node.",
      () => node.stats().numChannels,
    );
    gauge("centrifugo_node_num_subscriptions", "Subscriptions on this node.", () => node.stats().numSubs);
    gauge(
      "centrifugo_node_uptime_seconds",
      "Seconds since this node started.",
      () => node.stats().uptime,
      "max",
    );
  }

  /** Plain numbers, made counters at scrape time: labelled counters cost ~2 % of a connect. */
  connectionOpened(transport: string): void {
    const s = this.transportCounts(transport);
    s.accepted++;
    s.open++;
  }

  connectionClosed(transport: string): void {
    this.transportCounts(transport).open--;
  }

  serverDisconnect(code: number): void {
    this.serverDisconnects.inc({ code: String(code) });
  }

  command(method: string, seconds: number, errorCode?: number): void {
    this.commandDuration.observe(seconds, method);
    if (errorCode !== undefined) this.replyErrors.inc({ method, code: String(errorCode) });
  }

  apiCall(method: string, seconds: number, errorCode?: number): void {
    this.apiDuration.observe(seconds, method);
    if (errorCode !== undefined) this.apiErrors.inc({ method, code: String(errorCode) });
  }

  hookCall(plugin: string, hook: string, seconds: number): void {
    this.hookDuration.observe(seconds, plugin, hook);
  }

  hookFailed(plugin: string, hook: string): void {
    this.hookErrors.inc({ plugin, hook });
  }

  /**
   * The running totals of one transport. A connection keeps the object and bumps its frames and
   * bytes directly: the hot path pays two additions, no lookup.
   */
  transportCounts(transport: string): TransportCounts {
    let s = this.byTransport.get(transport);
    if (!s) this.byTransport.set(transport, s = { count: 0, bytes: 0, accepted: 0, open: 0 });
    return s;
  }

  /** Prometheus text exposition. */
  async render(): Promise<string> {
    this.catchUpAll();
    return await this.registry.metrics();
  }

  /** This process's metrics as data (for `renderAggregated` in another worker). */
  async snapshot(): Promise<MetricsSnapshot> {
    this.catchUpAll();
    return await this.registry.getMetricsAsJSON() as MetricsSnapshot;
  }

  /** The workers' snapshots added up (gauges and counters summed, histograms merged), as text. */
  static async renderAggregated(snapshots: MetricsSnapshot[]): Promise<string> {
    return await AggregatorRegistry.aggregate(snapshots).metrics();
  }

  private catchUpAll(): void {
    for (const [transport, s] of this.byTransport) {
      this.catchUp(this.transportSent, `sent:${transport}`, s.count, { transport });
      this.catchUp(this.transportSentSize, `size:${transport}`, s.bytes, { transport });
      this.catchUp(this.connectionsAccepted, `accepted:${transport}`, s.accepted, { transport });
      this.connectionsInflight.set({ transport }, s.open);
    }
    for (const [type, n] of Object.entries(this.received)) {
      this.catchUp(this.messagesReceived, `recv:${type}`, n, { type });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Moves a counter up to a running total kept elsewhere. */
  private catchUp(counter: Counter, key: string, total: number, labels: Record<string, string>): void {
    const before = this.reported.get(key) ?? 0;
    if (total > before) counter.inc(labels, total - before);
    this.reported.set(key, total);
  }
}
