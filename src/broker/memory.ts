/**
 * @module
 * In-process Broker, PresenceManager and Controller: one node, history and presence in memory.
 * History is a bounded window per channel (size and TTL) with offsets and an epoch; the stream
 * meta (top offset + epoch) outlives the publications until `historyMetaTtl`, so a client that
 * comes back after the window still learns that it cannot recover, rather than seeing offsets
 * start over.
 */
import type { ClientInfo, Publication } from "../core/protocol.ts";
import type {
  Broker,
  BrokerEventHandler,
  ControlHandler,
  Controller,
  ControlMessage,
  HistoryOptions,
  HistoryResult,
  PresenceManager,
  PresenceStats,
  PublishOptions,
  PublishResult,
} from "./broker.ts";

interface Stream {
  epoch: string;
  top: number;
  /** Oldest first. */
  items: Array<{ pub: Publication; expireAt: number }>;
  metaExpireAt: number;
}

/** Random 8-letter epoch; never "_" (the SDK's "force unrecovered" sentinel). */
export function newEpoch(): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => letters[b % letters.length]).join("");
}

export class MemoryBroker implements Broker {
  private handler: BrokerEventHandler | undefined;
  private readonly streams = new Map<string, Stream>();
  private readonly subscribed = new Set<string>();
  private readonly idempotency = new Map<string, { result: PublishResult; expireAt: number }>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  start(handler: BrokerEventHandler): Promise<void> {
    this.handler = handler;
    // Expired streams and idempotency entries would otherwise pile up forever.
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    return Promise.resolve();
  }

  publish(channel: string, data: string, opts: PublishOptions): Promise<PublishResult> {
    const now = this.now();
    const idemKey = opts.idempotencyKey ? `${channel}\u0000${opts.idempotencyKey}` : undefined;
    if (idemKey) {
      const seen = this.idempotency.get(idemKey);
      if (seen && seen.expireAt > now) return Promise.resolve({ ...seen.result, suppressed: true });
    }
    const pub: Publication = { data, info: opts.clientInfo, tags: opts.tags, time: now };
    let result: PublishResult = { offset: 0, epoch: "" };
    if (opts.historySize > 0 && opts.historyTtl > 0) {
      const stream = this.liveStream(channel, now, opts.historyMetaTtl);
      stream.top++;
      pub.offset = stream.top;
      stream.items.push({ pub, expireAt: now + opts.historyTtl });
      trim(stream, now, opts.historySize);
      stream.metaExpireAt = now + Math.max(opts.historyMetaTtl, opts.historyTtl);
      result = { offset: stream.top, epoch: stream.epoch };
    }
    if (idemKey) {
      this.idempotency.set(idemKey, { result, expireAt: now + (opts.idempotentResultTtl ?? 300_000) });
    }
    if (this.subscribed.has(channel)) this.handler?.handlePublication(channel, pub, result);
    return Promise.resolve(result);
  }

  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.handler?.handleJoin(channel, info);
    return Promise.resolve();
  }

  publishLeave(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.handler?.handleLeave(channel, info);
    return Promise.resolve();
  }

  subscribe(channel: string): Promise<void> {
    this.subscribed.add(channel);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    this.subscribed.delete(channel);
    return Promise.resolve();
  }

  history(channel: string, opts: HistoryOptions): Promise<HistoryResult> {
    const now = this.now();
    const stream = this.liveStream(channel, now, opts.metaTtl);
    stream.metaExpireAt = Math.max(stream.metaExpireAt, now + opts.metaTtl);
    const live = stream.items.filter((it) => it.expireAt > now).map((it) => it.pub);
    let pubs: Publication[];
    if (opts.reverse) {
      const before = opts.since && opts.since.offset > 0 ? opts.since.offset : Infinity;
      pubs = live.filter((p) => p.offset! < before).reverse();
    } else {
      const after = opts.since?.offset ?? 0;
      pubs = live.filter((p) => p.offset! > after);
    }
    if (opts.limit === 0) pubs = [];
    else if (opts.limit > 0) pubs = pubs.slice(0, opts.limit);
    return Promise.resolve({ publications: pubs, offset: stream.top, epoch: stream.epoch });
  }

  removeHistory(channel: string): Promise<void> {
    const stream = this.streams.get(channel);
    if (stream) stream.items = [];
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    return Promise.resolve();
  }

  /** The channel's stream, recreated with a new epoch when its meta has expired. */
  private liveStream(channel: string, now: number, metaTtl: number): Stream {
    let stream = this.streams.get(channel);
    if (!stream || stream.metaExpireAt <= now) {
      stream = { epoch: newEpoch(), top: 0, items: [], metaExpireAt: now + metaTtl };
      this.streams.set(channel, stream);
    }
    return stream;
  }

  private sweep(): void {
    const now = this.now();
    for (const [channel, stream] of this.streams) {
      if (stream.metaExpireAt <= now) this.streams.delete(channel);
      else trim(stream, now, Infinity);
    }
    for (const [key, entry] of this.idempotency) if (entry.expireAt <= now) this.idempotency.delete(key);
  }
}

function trim(stream: Stream, now: number, size: number): void {
  let drop = 0;
  while (drop < stream.items.length && stream.items[drop].expireAt <= now) drop++;
  drop = Math.max(drop, stream.items.length - size);
  if (drop > 0) stream.items.splice(0, drop);
}

export class MemoryPresenceManager implements PresenceManager {
  private readonly channels = new Map<string, Map<string, ClientInfo>>();

  presence(channel: string): Promise<Record<string, ClientInfo>> {
    return Promise.resolve(Object.fromEntries(this.channels.get(channel) ?? []));
  }

  presenceStats(channel: string): Promise<PresenceStats> {
    const entries = this.channels.get(channel);
    if (!entries) return Promise.resolve({ numClients: 0, numUsers: 0 });
    const users = new Set<string>();
    for (const info of entries.values()) users.add(info.user);
    return Promise.resolve({ numClients: entries.size, numUsers: users.size });
  }

  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    let entries = this.channels.get(channel);
    if (!entries) this.channels.set(channel, entries = new Map());
    entries.set(clientId, info);
    return Promise.resolve();
  }

  removePresence(channel: string, clientId: string): Promise<void> {
    const entries = this.channels.get(channel);
    if (entries) {
      entries.delete(clientId);
      if (entries.size === 0) this.channels.delete(channel);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A controller for a single node: control messages loop back to this node only. */
export class MemoryController implements Controller {
  private handler: ControlHandler | undefined;
  private nodeId = "";

  start(nodeId: string, handler: ControlHandler): Promise<void> {
    this.nodeId = nodeId;
    this.handler = handler;
    return Promise.resolve();
  }

  async publishControl(msg: ControlMessage, toNode?: string): Promise<void> {
    if (toNode !== undefined && toNode !== this.nodeId) return;
    await this.handler?.handleControl(msg);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
