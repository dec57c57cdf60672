/**
 * @module
 * The node owns everything one Sluice process shares between its connections: config, hub,
 * broker, presence manager, controller, token verifier and the shared timer. Transports create
 * clients against a node; the API publishes through it; the broker calls back into it.
 */
import type { Config } from "../config/mod.ts";
import type {
  Broker,
  BrokerEventHandler,
  ControlHandler,
  Controller,
  ControlMessage,
  HistoryResult,
  PresenceManager,
  PresenceStats,
  PublishResult,
} from "../broker/broker.ts";
import { MemoryBroker, MemoryController, MemoryPresenceManager } from "../broker/memory.ts";
import { TokenVerifier } from "../auth/jwt.ts";
import type { Hmac } from "../auth/hmac_fast.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { ChannelRules, hasHistory, type ResolvedChannel } from "./channel.ts";
import { Hub, type HubClient } from "./hub.ts";
import type { ClientInfo, Publication, StreamPosition } from "../wire/protocol.ts";
import { TimerWheel } from "./timers.ts";
import { ClientError, ErrorCode } from "../errors.ts";
import { VERSION } from "../version.ts";
import { type HookCaller, NO_HOOKS, seesConnectedClients } from "./hooks.ts";
import { Cluster, type ClusterHost } from "./cluster.ts";
import type { NodeInfo, ServerRefreshOptions, ServerSubscribeOptions, UserTarget } from "./control.ts";

export type { NodeInfo, ServerRefreshOptions, ServerSubscribeOptions, UserTarget };
import { Metrics, type MetricsSnapshot } from "../metrics.ts";
import { bytesToBase64 } from "../wire/base64.ts";

/** What the node needs from a connection beyond the hub's view. */
export interface NodeClient extends HubClient {
  /**
   * Feeds a frame of commands (an `/emulation` request's data) into this connection; false when
   * it takes no commands (unidirectional and Simple SSE connections).
   */
  receive(data: string | Uint8Array): boolean;
  /** Re-announces presence for every channel with presence (for TTL-based managers). */
  refreshPresence(): void;
  disconnectNow(code: number, reason: string): void;
  /** Server API `subscribe`: adds a server-side subscription and tells the client. */
  serverSubscribe(opts: ServerSubscribeOptions): Promise<void>;
  /** Server API `unsubscribe`: removes a subscription (client- or server-side) with code 2000. */
  serverUnsubscribe(channel: string): Promise<void>;
  /** Server API `refresh`: extends, ends or changes the connection. */
  serverRefresh(opts: ServerRefreshOptions): void;
}

export interface NodeOptions {
  logger?: Logger;
  broker?: Broker;
  presence?: PresenceManager;
  controller?: Controller;
  /** Plugin hooks; none by default. */
  hooks?: HookCaller;
  /** The HMAC for HS* tokens: the runtime's fastest (`Runtime.hmac`); node:crypto's when absent. */
  hmac?: Hmac;
  metrics?: Metrics;
  /**
   * Set in worker processes (`--workers`): the id the workers of one machine share. `/metrics`
   * then adds up every worker's metrics.
   */
  workerGroup?: string;
  /**
   * The clock (ms since the epoch) expiries are measured on: tokens, connections, subscriptions,
   * the timer wheel, the default broker's history TTLs. `Date.now` unless a test moves its own.
   */
  now?: () => number;
}

export interface NodePublishOptions {
  clientInfo?: ClientInfo;
  tags?: Record<string, string>;
  skipHistory?: boolean;
  idempotencyKey?: string;
}

export type EmulationOutcome = "ok" | "no_session" | "unknown_node" | "unavailable";

export class Node implements BrokerEventHandler, ControlHandler, ClusterHost {
  readonly id: string = crypto.randomUUID();
  readonly version = VERSION;
  readonly startedAt = Date.now();
  readonly hub = new Hub<NodeClient>();
  readonly channels: ChannelRules;
  readonly tokens: TokenVerifier;
  readonly timers: TimerWheel;
  /** Ms since the epoch on the node's clock (`NodeOptions.now`): what every expiry is measured on. */
  readonly now: () => number;
  readonly log: Logger;
  private readonly broker: Broker;
  private readonly presenceManager: PresenceManager;
  private readonly controller: Controller;
  readonly hooks: HookCaller;
  /**
   * A hook sees connections after their connect, request headers included: they keep them. Else
   * a connection lets them go once connected (a few hundred bytes each, for nothing).
   */
  readonly keepsRequestHeaders: boolean;
  readonly metrics: Metrics;
  readonly workerGroup?: string;
  private readonly cluster: Cluster;
  name: string;
  private readonly brokerChannels = new Set<string>();
  private readonly channelOps = new Map<string, Promise<void>>();
  private presenceTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(readonly config: Config, opts: NodeOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.channels = new ChannelRules(config);
    this.now = opts.now ?? Date.now;
    this.tokens = new TokenVerifier(config, { now: this.now, hmac: opts.hmac });
    this.timers = new TimerWheel(100, (err) => this.log.error("timer callback failed", { err }), this.now);
    this.broker = opts.broker ?? new MemoryBroker(this.now);
    this.presenceManager = opts.presence ?? new MemoryPresenceManager();
    this.controller = opts.controller ?? new MemoryController();
    this.metrics = opts.metrics ?? new Metrics(VERSION, this);
    this.workerGroup = opts.workerGroup;
    this.hooks = opts.hooks ?? NO_HOOKS;
    this.keepsRequestHeaders = seesConnectedClients(this.hooks);
    this.cluster = new Cluster(this);
    this.name = config.name || this.id.slice(0, 8);
  }

  async start(): Promise<void> {
    await this.broker.start(this);
    await this.controller.start(this.id, this);
    this.cluster.start();
    if (this.config.client_presence_update_interval > 0) {
      this.presenceTimer = setInterval(() => {
        for (const client of this.hub.allClients()) client.refreshPresence();
      }, this.config.client_presence_update_interval);
    }
  }

  /** Disconnects every client with `code` and closes the broker side. Idempotent. */
  async close(code = 3001, reason = "shutdown"): Promise<void> {
    this.disconnectAll(code, reason);
    if (this.closed) return;
    this.closed = true;
    if (this.presenceTimer !== undefined) clearInterval(this.presenceTimer);
    this.cluster.stop();
    this.timers.stop();
    await Promise.allSettled([this.broker.close(), this.presenceManager.close(), this.controller.close()]);
  }

  /** Disconnects every local client (3001 shutdown: the SDK reconnects, elsewhere or later). */
  disconnectAll(code = 3001, reason = "shutdown"): void {
    this.draining = true;
    for (const client of [...this.hub.allClients()]) client.disconnectNow(code, reason);
  }

  /** Set once shutdown has begun: health answers 503, load balancers stop routing here. */
  draining = false;

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves a channel or throws 102 (unknown namespace) / 107 (bad name). */
  resolveChannel(channel: string): ResolvedChannel {
    const invalid = this.channels.invalidName(channel);
    if (invalid) {
      // The client gets Centrifugo's plain "bad request"; the reason is for the operator.
      this.log.info("bad channel name", { channel: channel.slice(0, 300), reason: invalid });
      throw new ClientError(ErrorCode.BadRequest);
    }
    const resolved = this.channels.resolve(channel);
    if (!resolved) throw new ClientError(ErrorCode.UnknownChannel);
    return resolved;
  }

  historyMetaTtl(resolved: ResolvedChannel): number {
    return resolved.options.history_meta_ttl || this.config.global_history_meta_ttl;
  }

  async publish(channel: string, data: string, opts: NodePublishOptions = {}): Promise<PublishResult> {
    // Name rules (length, ASCII) are the client protocol's, checked where a client's publish
    // arrives; the server side publishes into any channel of a configured namespace (Centrifugo).
    const resolved = this.channels.resolve(channel);
    if (!resolved) throw new ClientError(ErrorCode.UnknownChannel);
    const o = resolved.options;
    const withHistory = hasHistory(o) && !opts.skipHistory;
    return await this.broker.publish(channel, data, {
      historySize: withHistory ? o.history_size : 0,
      historyTtl: withHistory ? o.history_ttl : 0,
      historyMetaTtl: this.historyMetaTtl(resolved),
      clientInfo: opts.clientInfo,
      tags: opts.tags,
      idempotencyKey: opts.idempotencyKey,
    });
  }

  history(
    channel: string,
    resolved: ResolvedChannel,
    opts: { since?: StreamPosition; limit: number; reverse?: boolean },
  ): Promise<HistoryResult> {
    // As Centrifugo's node: reading backwards from "before the first" is a bad request.
    if (opts.reverse && opts.since && opts.since.offset === 0) {
      return Promise.reject(new ClientError(ErrorCode.BadRequest));
    }
    return this.broker.history(channel, { ...opts, metaTtl: this.historyMetaTtl(resolved) });
  }

  presence(channel: string): Promise<Record<string, ClientInfo>> {
    return this.presenceManager.presence(channel);
  }

  presenceStats(channel: string): Promise<PresenceStats> {
    return this.presenceManager.presenceStats(channel);
  }

  /**
   * Adds a local subscriber and makes sure the broker delivers the channel to this node before
   * the returned promise settles, so a history read that follows cannot miss a publication.
   * Undefined when that is already so (no promise per subscription on the common path).
   */
  addSubscription(channel: string, client: NodeClient): Promise<void> | undefined {
    this.hub.subscribe(channel, client);
    return this.syncBrokerSubscription(channel);
  }

  /** Removes a local subscriber; a promise while the broker is being told (see addSubscription). */
  removeSubscription(channel: string, client: NodeClient): Promise<void> | undefined {
    return this.hub.unsubscribe(channel, client) ? this.syncBrokerSubscription(channel) : undefined;
  }

  /**
   * Brings the broker subscription in line with the hub, one operation per channel at a time;
   * undefined when nothing is left to wait for.
   */
  private syncBrokerSubscription(channel: string): Promise<void> | undefined {
    const pending = this.channelOps.get(channel);
    // Most calls change nothing (another subscriber of a channel already delivered): no chain.
    if (!pending && this.hub.hasSubscribers(channel) === this.brokerChannels.has(channel)) return undefined;
    if (!pending && this.applyBrokerSubscriptionNow(channel)) return undefined;
    // Nothing in flight for the channel (a channel's first subscriber or last leave): start now.
    const op = pending
      ? pending.catch(() => {}).then(() => this.applyBrokerSubscription(channel))
      : this.applyBrokerSubscription(channel);
    this.channelOps.set(channel, op);
    const cleanup = () => {
      if (this.channelOps.get(channel) === op) this.channelOps.delete(channel);
    };
    op.then(cleanup, cleanup);
    return op;
  }

  /**
   * The in-process broker's way (`subscribeNow`): the channel in line with the hub before this
   * returns, no promise. False when the broker has no such way.
   */
  private applyBrokerSubscriptionNow(channel: string): boolean {
    const { broker } = this;
    if (!broker.subscribeNow || !broker.unsubscribeNow) return false;
    if (this.hub.hasSubscribers(channel)) {
      broker.subscribeNow(channel);
      this.brokerChannels.add(channel);
    } else {
      this.brokerChannels.delete(channel);
      broker.unsubscribeNow(channel);
    }
    return true;
  }

  /** One broker operation that brings the channel in line with the hub as it is now. */
  private async applyBrokerSubscription(channel: string): Promise<void> {
    const wanted = this.hub.hasSubscribers(channel);
    const have = this.brokerChannels.has(channel);
    if (wanted && !have) {
      await this.broker.subscribe(channel);
      this.brokerChannels.add(channel);
    } else if (!wanted && have) {
      this.brokerChannels.delete(channel);
      await this.broker.unsubscribe(channel);
    }
  }

  // BrokerEventHandler
  handlePublication(channel: string, pub: Publication, sp: StreamPosition): void {
    this.metrics.received.publication++;
    // The first publication of a stream tells clients its epoch (as Centrifugo does).
    if (pub.offset === 1 && sp.epoch && !pub.epoch) pub.epoch = sp.epoch;
    this.hub.broadcastPublication(channel, pub, sp);
  }

  handleJoin(channel: string, info: ClientInfo): void {
    this.metrics.received.join++;
    this.hub.broadcastJoinLeave(channel, "join", info);
  }

  handleLeave(channel: string, info: ClientInfo): void {
    this.metrics.received.leave++;
    this.hub.broadcastJoinLeave(channel, "leave", info);
  }

  handleReconnect(): void {
    void this.checkPositions();
  }

  /**
   * Asks every positioned subscription whether it is behind its stream (delivery was interrupted):
   * those that are recover at once (unsubscribe 2500 / disconnect 3010) instead of waiting for the
   * next publication to reveal the gap.
   */
  async checkPositions(): Promise<void> {
    for (const channel of [...this.hub.channelNames()]) {
      const resolved = this.channels.resolve(channel);
      if (!resolved || !hasHistory(resolved.options)) continue;
      let top: StreamPosition;
      try {
        top = await this.history(channel, resolved, { limit: 0 });
      } catch (err) {
        this.log.warn("position check failed", { channel, err });
        return;
      }
      for (const client of this.hub.subscribersOf(channel)) client.checkPosition(channel, top);
    }
  }

  // ---------------------------------------------------------------- server API on users, every node

  /** Subscribes the user's online connections (on every node) to a channel, server-side. */
  subscribeUser(target: UserTarget, opts: ServerSubscribeOptions): Promise<void> {
    return this.cluster.broadcast({ type: "subscribe", target, opts });
  }

  unsubscribeUser(target: UserTarget, channel: string): Promise<void> {
    return this.cluster.broadcast({ type: "unsubscribe", target, channel });
  }

  /** Disconnects the user's connections except those whose client id is in `whitelist`. */
  disconnectUser(target: UserTarget, code: number, reason: string, whitelist: string[] = []): Promise<void> {
    return this.cluster.broadcast({ type: "disconnect", target, code, reason, whitelist });
  }

  refreshUser(target: UserTarget, opts: ServerRefreshOptions): Promise<void> {
    return this.cluster.broadcast({ type: "refresh", target, opts });
  }

  /** This node's connections addressed by a server API call. */
  targets(target: UserTarget): NodeClient[] {
    return this.hub.userConnections(target.user).filter((c) =>
      (!target.client || c.id === target.client) && (!target.session || c.session === target.session)
    );
  }

  // ControlHandler: control traffic belongs to the cluster logic.
  handleControl(msg: ControlMessage): Promise<void> {
    return this.cluster.handleControl(msg);
  }

  // ---------------------------------------------------------------- broker and presence, for the layers above

  /** False when the broker reports it cannot reach its backend (health checks answer 503). */
  brokerHealthy(): boolean {
    return this.broker.healthy?.() !== false;
  }

  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    return this.presenceManager.addPresence(channel, clientId, info);
  }

  removePresence(channel: string, clientId: string, user: string): Promise<void> {
    return this.presenceManager.removePresence(channel, clientId, user);
  }

  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    return this.broker.publishJoin(channel, info);
  }

  publishLeave(channel: string, info: ClientInfo): Promise<void> {
    return this.broker.publishLeave(channel, info);
  }

  removeHistory(channel: string): Promise<void> {
    return this.broker.removeHistory(channel);
  }

  /** Sends a control message to every node, or to one (the cluster's way out). */
  publishControl(msg: ControlMessage, toNode?: string): Promise<void> {
    return this.controller.publishControl(msg, toNode);
  }

  /** A publication that keeps no history on any node (Simple SSE events). */
  async publishWithoutHistory(channel: string, data: string): Promise<void> {
    await this.broker.publish(channel, data, { historySize: 0, historyTtl: 0, historyMetaTtl: 0 });
  }

  /** Subscriber counts of the channels with subscribers on this node. */
  channelCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.hub.channelNames()) out[name] = this.hub.channelSubscribers(name);
    return out;
  }

  /** This node's entry in `info`. */
  nodeInfo(): NodeInfo {
    const st = this.stats();
    return {
      uid: this.id,
      name: this.name,
      version: this.version,
      num_clients: st.numClients,
      num_users: st.numUsers,
      num_channels: st.numChannels,
      num_subs: st.numSubs,
      uptime: st.uptime,
    };
  }

  /**
   * Delivers emulation commands to the session they belong to: directly when it is here, through
   * a survey of its node when it is elsewhere (load balancers send `/emulation` anywhere).
   */
  async emulate(nodeId: string, session: string, data: string | Uint8Array): Promise<EmulationOutcome> {
    if (nodeId === this.id || nodeId === "") return this.emulateLocally(session, data);
    if (!this.cluster.isPeer(nodeId)) return "unknown_node";
    // Control messages are JSON: protobuf frames travel base64-encoded.
    const payload = typeof data === "string" ? { session, data } : { session, data_b64: bytesToBase64(data) };
    const answers = await this.cluster.survey("emulation", payload, nodeId);
    const answer = answers.get(nodeId);
    if (answer === "ok" || answer === "no_session") return answer;
    this.log.warn("emulation request got no answer from its node", { node: nodeId, answer });
    return "unavailable";
  }

  emulateLocally(session: string, data: string | Uint8Array): "ok" | "no_session" {
    const client = this.hub.bySession(session);
    // Unidirectional sessions have ids too (the server API addresses them) but take no commands.
    if (!client?.receive(data)) return "no_session";
    return "ok";
  }

  /** Every node's `info` entry (this one and live peers). */
  nodes(): NodeInfo[] {
    return this.cluster.nodes();
  }

  /** Channels with subscribers on any node, with their subscriber counts. */
  async allChannels(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const add = (counts: unknown) => {
      if (counts === null || typeof counts !== "object") return;
      for (const [name, n] of Object.entries(counts)) {
        if (typeof n === "number") out.set(name, (out.get(name) ?? 0) + n);
      }
    };
    add(this.channelCounts());
    for (const counts of (await this.cluster.survey("channels", {})).values()) add(counts);
    return out;
  }

  /** Prometheus text: this node's metrics, or every worker's added up when it is one of several. */
  async renderMetrics(): Promise<string> {
    if (this.workerGroup === undefined) return await this.metrics.render();
    const answers = await this.cluster.survey("metrics", { group: this.workerGroup });
    const snapshots = [await this.metrics.snapshot()];
    for (const answer of answers.values()) {
      if (Array.isArray(answer)) snapshots.push(answer as MetricsSnapshot);
    }
    return await Metrics.renderAggregated(snapshots);
  }

  /** Counts for `info` and health. */
  stats(): { numClients: number; numUsers: number; numChannels: number; numSubs: number; uptime: number } {
    return {
      numClients: this.hub.numClients,
      numUsers: this.hub.numUsers,
      numChannels: this.hub.numChannels,
      numSubs: this.hub.numSubscriptions,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }
}
