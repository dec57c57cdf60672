/**
 * @module
 * In-process Broker, PresenceManager and Controller: one node, history and presence in memory.
 * History is a bounded window per channel (size and TTL) with offsets and an epoch; the stream
 * meta (top offset + epoch) outlives the publications until `historyMetaTtl`, so a client that
 * comes back after the window still learns that it cannot recover, rather than seeing offsets
 * start over.
 */
import type { ClientInfo, Publication } from "../wire/protocol.ts";
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

/** A publication in history and when it leaves. */
interface Kept {
  pub: Publication;
  expireAt: number;
}

/** One channel's history stream: position, publications kept, and when its meta expires. */
interface Stream {
  epoch: string;
  top: number;
  items: PublicationRing;
  metaExpireAt: number;
}

/** Random 8-letter epoch; never "_" (the SDK's "force unrecovered" sentinel). */
export function newEpoch(): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => letters[b % letters.length]).join("");
}

/**
 * The epoch a channel without a stream reports, and the one its stream gets when the first
 * publication creates it: derived from the channel, the broker's random salt and the current
 * window of `metaTtl` ms, so a read creates nothing and still hands out the epoch the stream will
 * have. A stream whose meta expired lived at least `metaTtl` after its creation, so the stream
 * that replaces it falls in a later window and gets another epoch (as a random one would); a
 * salt per broker instance changes every epoch when the memory (and with it history) is lost.
 * Only a read and the first publication on either side of a window boundary (once in `metaTtl`,
 * 720 h by default) disagree: that client then recovers as "not recovered", never wrongly.
 */
export function derivedEpoch(salt: string, channel: string, metaTtl: number, now: number): string {
  const window = metaTtl > 0 ? Math.floor(now / metaTtl) : 0;
  const key = `${salt}\u0000${channel}\u0000${window}`;
  // Two independent 32-bit FNV-1a hashes: 8 letters from 64 bits.
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let out = "";
  for (let i = 0; i < 4; i++) out += letters[((a >>> (i * 8)) & 0xff) % 52];
  for (let i = 0; i < 4; i++) out += letters[((b >>> (i * 8)) & 0xff) % 52];
  return out;
}

export class MemoryBroker implements Broker {
  private handler: BrokerEventHandler | undefined;
  /** Streams exist only for channels that had publications with history. */
  private readonly streams = new Map<string, Stream>();
  private readonly subscribed = new Set<string>();
  private readonly idempotency = new Map<string, { result: PublishResult; expireAt: number }>();
  private readonly salt = newEpoch();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  /**
   * Subscribing is adding to a set: done at once, so the node needs no promise for it. Left out
   * when a subclass overrides `subscribe` or `unsubscribe`: the node then calls the override.
   */
  readonly subscribeNow?: (channel: string) => void;
  readonly unsubscribeNow?: (channel: string) => void;

  constructor(private readonly now: () => number = Date.now) {
    const own = this.subscribe === MemoryBroker.prototype.subscribe &&
      this.unsubscribe === MemoryBroker.prototype.unsubscribe;
    if (own) {
      this.subscribeNow = (channel) => void this.subscribed.add(channel);
      this.unsubscribeNow = (channel) => void this.subscribed.delete(channel);
    }
  }

  start(handler: BrokerEventHandler): Promise<void> {
    this.handler = handler;
    // Expired streams and idempotency entries would otherwise pile up forever.
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    return Promise.resolve();
  }

  /** Channels with a history stream (for tests and the soak campaign). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Channels this node is subscribed to (for tests). */
  get subscribedCount(): number {
    return this.subscribed.size;
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
      let stream = this.liveStream(channel, now);
      if (!stream) {
        stream = {
          epoch: derivedEpoch(this.salt, channel, opts.historyMetaTtl, now),
          top: 0,
          items: new PublicationRing(),
          metaExpireAt: 0,
        };
        this.streams.set(channel, stream);
      }
      stream.top++;
      pub.offset = stream.top;
      // Centrifugo's memory engine keeps the epoch on a stream's first publication, in history too.
      if (pub.offset === 1) pub.epoch = stream.epoch;
      stream.items.trimExpired(now);
      stream.items.push({ pub, expireAt: now + opts.historyTtl }, opts.historySize);
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

  /**
   * Reads a channel's stream. A channel that never had publications (or whose meta expired) keeps
   * no record: it reports offset 0 and the epoch its first publication will get.
   */
  history(channel: string, opts: HistoryOptions): Promise<HistoryResult> {
    const now = this.now();
    const stream = this.liveStream(channel, now);
    if (!stream) {
      return Promise.resolve({
        publications: [],
        offset: 0,
        epoch: derivedEpoch(this.salt, channel, opts.metaTtl, now),
      });
    }
    stream.metaExpireAt = Math.max(stream.metaExpireAt, now + opts.metaTtl);
    const items = stream.items;
    items.trimExpired(now);
    const first = stream.top - items.length + 1; // offset of the oldest kept publication
    const max = opts.limit < 0 ? Infinity : opts.limit;
    const pubs: Publication[] = [];
    if (opts.reverse) {
      const before = opts.since && opts.since.offset > 0 ? opts.since.offset : Infinity;
      for (let i = Math.min(items.length, before - first) - 1; i >= 0 && pubs.length < max; i--) {
        pubs.push(items.at(i).pub);
      }
    } else {
      const after = opts.since?.offset ?? 0;
      for (let i = Math.max(0, after - first + 1); i < items.length && pubs.length < max; i++) {
        pubs.push(items.at(i).pub);
      }
    }
    return Promise.resolve({ publications: pubs, offset: stream.top, epoch: stream.epoch });
  }

  removeHistory(channel: string): Promise<void> {
    this.streams.get(channel)?.items.clear();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    return Promise.resolve();
  }

  /** The channel's stream unless it has none or its meta has expired (then it is forgotten). */
  private liveStream(channel: string, now: number): Stream | undefined {
    const stream = this.streams.get(channel);
    if (stream && stream.metaExpireAt <= now) {
      this.streams.delete(channel);
      return undefined;
    }
    return stream;
  }

  private sweep(): void {
    const now = this.now();
    for (const [channel, stream] of this.streams) {
      if (stream.metaExpireAt <= now) this.streams.delete(channel);
      else stream.items.trimExpired(now);
    }
    for (const [key, entry] of this.idempotency) if (entry.expireAt <= now) this.idempotency.delete(key);
  }
}

/**
 * A channel's kept publications, oldest first, in a ring: appending, dropping the oldest and
 * reading the i-th cost O(1) on every runtime (an array's `splice(0, n)` is O(length) on V8, which
 * made a full history cost 90 µs per publication on Deno). The array grows up to the history size
 * as publications arrive, so a big `history_size` costs nothing until it is used.
 */
export class PublicationRing {
  private slots: Array<Kept | undefined> = [];
  /** Index of the oldest item. */
  private head = 0;
  length = 0;

  /** Appends, dropping the oldest items beyond `capacity`. */
  push(item: Kept, capacity: number): void {
    while (this.length >= capacity && this.length > 0) this.shift();
    const n = this.slots.length;
    if (this.length < n) {
      this.slots[(this.head + this.length) % n] = item;
    } else {
      if (this.head !== 0) this.linearize();
      this.slots.push(item);
    }
    this.length++;
  }

  /** The i-th oldest item (0 ≤ i < length). */
  at(i: number): Kept {
    return this.slots[(this.head + i) % this.slots.length]!;
  }

  /** Drops items whose time in history is over (they expire in the order they were added). */
  trimExpired(now: number): void {
    while (this.length > 0 && this.at(0).expireAt <= now) this.shift();
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.length = 0;
  }

  private shift(): void {
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    if (--this.length === 0) this.head = 0;
  }

  /** Moves the items, oldest first, to the front of a fresh array. */
  private linearize(): void {
    const items: Array<Kept | undefined> = [];
    for (let i = 0; i < this.length; i++) items.push(this.at(i));
    this.slots = items;
    this.head = 0;
  }
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
