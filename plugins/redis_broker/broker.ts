/**
 * @module
 * Broker, PresenceManager and Controller on Redis: publications over PUB/SUB, history in Redis
 * streams with offsets and a per-channel epoch (so recovery works across nodes and survives a node
 * restart), presence in a hash with per-entry expiry, control messages between nodes.
 */
import type { Redis } from "ioredis";
import {
  type Broker,
  type BrokerEventHandler,
  type BrokerPublishResult as PublishResult,
  type ClientInfo,
  type ControlHandler,
  type Controller,
  type ControlMessage,
  encodeClientInfo,
  type HistoryOptions,
  type HistoryResult,
  type Logger,
  type PresenceManager,
  type PresenceStats,
  type Publication,
  type PublishOptions,
} from "sluice";
import type { RedisConnections } from "./connection.ts";
import { HISTORY, PRESENCE_ADD, PRESENCE_GET, PUBLISH } from "./scripts.ts";

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
/** A salt for the epochs of new streams, used only if Redis has none yet (see scripts.ts). */
const freshSalt = () => crypto.randomUUID();

/** Routes messages of the shared subscriber connection to the broker and the controller. */
export class RedisShard {
  brokerHandler?: BrokerEventHandler;
  controlHandler?: ControlHandler;
  private readonly clientPrefix: string;
  readonly controlChannel: string;
  /** The salt of derived epochs: one key for all channels. */
  readonly saltKey: string;
  nodeChannel = "";
  private connections?: RedisConnections;
  private log?: Logger;

  constructor(readonly prefix: string) {
    this.clientPrefix = `${prefix}.client.`;
    this.controlChannel = `${prefix}.control`;
    this.saltKey = `${prefix}.epoch_salt`;
  }

  /** Connects the shard to Redis (done in the plugin's setup, where the logger exists). */
  attach(conns: RedisConnections, log: Logger): void {
    this.connections = conns;
    this.log = log;
    conns.sub.on("message", (channel: string, message: string) => this.route(channel, message));
  }

  get conns(): RedisConnections {
    if (!this.connections) throw new Error("redis_broker is not set up");
    return this.connections;
  }

  /** The subscriber connection came back: publications may have been missed meanwhile. */
  resubscribed(): void {
    this.brokerHandler?.handleReconnect?.();
  }

  key(kind: string, channel: string): string {
    return `${this.prefix}.${kind}.${channel}`;
  }

  private route(redisChannel: string, message: string): void {
    try {
      if (redisChannel.startsWith(this.clientPrefix)) {
        this.handleClientMessage(redisChannel.slice(this.clientPrefix.length), message);
      } else if (redisChannel === this.controlChannel || redisChannel === this.nodeChannel) {
        const msg = JSON.parse(message);
        void this.controlHandler?.handleControl(msg);
      }
    } catch (err) {
      this.log?.warn("unreadable redis message dropped", { channel: redisChannel, err });
    }
  }

  private handleClientMessage(channel: string, message: string): void {
    const h = this.brokerHandler;
    if (!h) return;
    const kind = message[0];
    if (kind === "p") {
      const [, offsetText, epoch, header, data] = splitN(message, 5);
      const offset = Number(offsetText);
      const pub = decodePublication(header, data);
      if (offset > 0) pub.offset = offset;
      h.handlePublication(channel, pub, { offset, epoch });
    } else if (kind === "j" || kind === "l") {
      const info = decodeClientInfo(JSON.parse(message.slice(2)));
      if (kind === "j") h.handleJoin(channel, info);
      else h.handleLeave(channel, info);
    }
  }
}

/** Splits on the first n-1 newlines (the last part may not contain one anyway). */
function splitN(text: string, n: number): string[] {
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i < n - 1; i++) {
    const next = text.indexOf("\n", at);
    if (next < 0) throw new Error("truncated message");
    parts.push(text.slice(at, next));
    at = next + 1;
  }
  parts.push(text.slice(at));
  return parts;
}

/** Header: `{"info":…,"tags":…,"time":…}`; data stays the JSON text it was published as. */
function encodeHeader(opts: PublishOptions, time: number): string {
  let out = `{"time":${time}`;
  if (opts.clientInfo) out += `,"info":${encodeClientInfo(opts.clientInfo)}`;
  if (opts.tags && Object.keys(opts.tags).length > 0) out += `,"tags":${JSON.stringify(opts.tags)}`;
  return out + "}";
}

function decodePublication(header: string, data: string): Publication {
  const h = JSON.parse(header) as {
    time?: number;
    info?: Record<string, unknown>;
    tags?: Record<string, string>;
  };
  const pub: Publication = { data, time: h.time };
  if (h.info) pub.info = decodeClientInfo(h.info);
  if (h.tags) pub.tags = h.tags;
  return pub;
}

function decodeClientInfo(v: Record<string, unknown>): ClientInfo {
  return {
    user: String(v.user ?? ""),
    client: String(v.client ?? ""),
    connInfo: v.conn_info === undefined ? undefined : JSON.stringify(v.conn_info),
    chanInfo: v.chan_info === undefined ? undefined : JSON.stringify(v.chan_info),
  };
}

export class RedisBroker implements Broker {
  constructor(private readonly shard: RedisShard) {}

  private get cmd(): Redis {
    return this.shard.conns.cmd;
  }

  async start(handler: BrokerEventHandler): Promise<void> {
    this.shard.brokerHandler = handler;
    await this.shard.conns.connect();
  }

  async publish(channel: string, data: string, opts: PublishOptions): Promise<PublishResult> {
    const s = this.shard;
    const withHistory = opts.historySize > 0 && opts.historyTtl > 0;
    const idem = opts.idempotencyKey ? s.key("idempotency", `${channel}.${opts.idempotencyKey}`) : "";
    const [result, suppressed] = await this.cmd.eval(
      PUBLISH,
      4,
      s.key("stream", channel),
      s.key("meta", channel),
      idem,
      s.saltKey,
      s.key("client", channel),
      encodeHeader(opts, Date.now()),
      data,
      withHistory ? opts.historySize : 0,
      seconds(opts.historyTtl),
      seconds(Math.max(opts.historyMetaTtl, opts.historyTtl)),
      freshSalt(),
      seconds(opts.idempotentResultTtl ?? 300_000),
      channel,
      seconds(opts.historyMetaTtl),
    ) as [string, number];
    const colon = result.indexOf(":");
    return {
      offset: Number(result.slice(0, colon)),
      epoch: result.slice(colon + 1),
      suppressed: suppressed === 1 || undefined,
    };
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.cmd.publish(this.shard.key("client", channel), `j\n${encodeClientInfo(info)}`);
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.cmd.publish(this.shard.key("client", channel), `l\n${encodeClientInfo(info)}`);
  }

  async subscribe(channel: string): Promise<void> {
    await this.shard.conns.sub.subscribe(this.shard.key("client", channel));
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.shard.conns.sub.unsubscribe(this.shard.key("client", channel));
  }

  async history(channel: string, opts: HistoryOptions): Promise<HistoryResult> {
    const s = this.shard;
    const since = opts.since ? String(opts.since.offset) : "";
    const [top, epoch, entries] = await this.cmd.eval(
      HISTORY,
      3,
      s.key("stream", channel),
      s.key("meta", channel),
      s.saltKey,
      freshSalt(),
      seconds(opts.metaTtl),
      String(opts.limit),
      opts.reverse ? "1" : "0",
      since,
      channel,
    ) as [string, string, Array<[string, string[]]>];
    const publications = entries.map(([id, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      const pub = decodePublication(f.h ?? "{}", f.d ?? "null");
      pub.offset = Number(id.slice(0, id.indexOf("-")));
      return pub;
    });
    return { publications, offset: Number(top), epoch };
  }

  async removeHistory(channel: string): Promise<void> {
    await this.cmd.del(this.shard.key("stream", channel));
  }

  /** The connections are closed once, by the plugin's teardown. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  healthy(): boolean {
    return this.shard.conns.healthy;
  }
}

export class RedisPresenceManager implements PresenceManager {
  constructor(private readonly shard: RedisShard) {}

  private keys(channel: string): [string, string] {
    return [this.shard.key("presence.data", channel), this.shard.key("presence.expire", channel)];
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const flat = await this.shard.conns.cmd.eval(
      PRESENCE_GET,
      2,
      ...this.keys(channel),
      Date.now(),
    ) as string[];
    const out: Record<string, ClientInfo> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      try {
        out[flat[i]] = decodeClientInfo(JSON.parse(flat[i + 1]));
      } catch {
        // an entry we cannot read is skipped, not fatal
      }
    }
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const entries = Object.values(await this.presence(channel));
    return { numClients: entries.length, numUsers: new Set(entries.map((e) => e.user)).size };
  }

  async addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    const ttl = this.shard.conns.opts.presenceTtl;
    await this.shard.conns.cmd.eval(
      PRESENCE_ADD,
      2,
      ...this.keys(channel),
      clientId,
      encodeClientInfo(info),
      Date.now() + ttl,
      seconds(ttl),
    );
  }

  async removePresence(channel: string, clientId: string): Promise<void> {
    const [data, expire] = this.keys(channel);
    await this.shard.conns.cmd.multi().hdel(data, clientId).zrem(expire, clientId).exec();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class RedisController implements Controller {
  constructor(private readonly shard: RedisShard) {}

  async start(nodeId: string, handler: ControlHandler): Promise<void> {
    this.shard.controlHandler = handler;
    this.shard.nodeChannel = this.shard.key("node", nodeId);
    await this.shard.conns.sub.subscribe(this.shard.controlChannel, this.shard.nodeChannel);
  }

  async publishControl(msg: ControlMessage, toNode?: string): Promise<void> {
    const target = toNode === undefined ? this.shard.controlChannel : this.shard.key("node", toNode);
    await this.shard.conns.cmd.publish(target, JSON.stringify(msg));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
