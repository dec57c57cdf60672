/**
 * @module
 * The only things that cross process boundaries: Broker (PUB/SUB + history), PresenceManager and
 * Controller (node-to-node messages). The memory implementations live in `memory.ts`; Redis and
 * others plug in through `provides` in a plugin. A broker never sees clients: it calls back into
 * the node through `BrokerEventHandler`.
 */
import type { ClientInfo, Publication, StreamPosition } from "../wire/protocol.ts";

export interface PublishOptions {
  /** Keep this many publications in the channel's history (0 = no history). */
  historySize: number;
  /** ms a publication stays in history. */
  historyTtl: number;
  /** ms the stream position (offset/epoch) is kept after the last publication. */
  historyMetaTtl: number;
  /** Publisher info, delivered with the publication. */
  clientInfo?: ClientInfo;
  tags?: Record<string, string>;
  /** Same key within `idempotentResultTtl` returns the first result without publishing again. */
  idempotencyKey?: string;
  idempotentResultTtl?: number;
}

export interface PublishResult extends StreamPosition {
  /** True when the publication was dropped as a duplicate (idempotency key). */
  suppressed?: boolean;
}

export interface HistoryOptions {
  /** Publications after this position; the epoch is not checked here (the caller compares it). */
  since?: StreamPosition;
  /** 0 = only the stream top; -1 = no limit. */
  limit: number;
  reverse?: boolean;
  /** ms; extends the life of the stream meta on read. */
  metaTtl: number;
}

export interface HistoryResult extends StreamPosition {
  publications: Publication[];
}

/** What a broker delivers to the node it belongs to. */
export interface BrokerEventHandler {
  handlePublication(channel: string, pub: Publication, sp: StreamPosition): void;
  handleJoin(channel: string, info: ClientInfo): void;
  handleLeave(channel: string, info: ClientInfo): void;
  /**
   * The broker's delivery was interrupted and is back (e.g. Redis reconnected): publications may
   * have been missed, so positioned subscriptions should be checked against their streams.
   */
  handleReconnect?(): void;
}

export interface Broker {
  /** Called once before any other method. */
  start(handler: BrokerEventHandler): Promise<void>;
  /** Publishes to every node subscribed to `channel`; returns the stream position it got. */
  publish(channel: string, data: string, opts: PublishOptions): Promise<PublishResult>;
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;
  /** Starts delivering the channel's publications to this node. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /**
   * `subscribe` and `unsubscribe` done before returning, for an in-process broker: the node calls
   * these when present, so a subscription costs no promise. A broker that talks to a server
   * leaves them out.
   */
  subscribeNow?(channel: string): void;
  unsubscribeNow?(channel: string): void;
  history(channel: string, opts: HistoryOptions): Promise<HistoryResult>;
  removeHistory(channel: string): Promise<void>;
  close(): Promise<void>;
  /** False while the broker cannot deliver (its backend is unreachable); `/health` answers 503. */
  healthy?(): boolean;
}

export interface PresenceStats {
  numClients: number;
  numUsers: number;
}

export interface PresenceManager {
  /** clientId → info of every connection present in the channel (across nodes). */
  presence(channel: string): Promise<Record<string, ClientInfo>>;
  presenceStats(channel: string): Promise<PresenceStats>;
  /** Adds or refreshes an entry; entries not refreshed within the manager's TTL may expire. */
  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void>;
  removePresence(channel: string, clientId: string, user: string): Promise<void>;
  close(): Promise<void>;
}

/** A control message between nodes: JSON-serialisable, with a type tag. */
export interface ControlMessage {
  type: string;
  /** The node that sent it. */
  from?: string;
  [key: string]: unknown;
}

export interface ControlHandler {
  handleControl(msg: ControlMessage): void | Promise<void>;
}

export interface Controller {
  start(nodeId: string, handler: ControlHandler): Promise<void>;
  /** To every node (including the sender), or to one node when `toNode` is given. */
  publishControl(msg: ControlMessage, toNode?: string): Promise<void>;
  close(): Promise<void>;
}
