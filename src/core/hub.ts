/**
 * @module
 * The hub indexes this node's connections: channel → subscribers, user → connections,
 * session → connection. It fans a publication out by preparing its push once and handing the
 * same prepared push (its bytes per wire shape, its text for JSON WebSockets) to every subscriber.
 */
import type { ClientInfo, Publication, StreamPosition } from "../wire/protocol.ts";
import { joinLeavePush, type PreparedPush, publicationPush } from "./codec.ts";

/** What the hub needs from a connection. */
export interface HubClient {
  readonly id: string;
  readonly user: string;
  readonly session: string;
  /**
   * Commands reach this connection by its session (`/emulation`): only such connections are
   * indexed by session. Others may have one (unidirectional ones do, for the server API) but
   * take no commands, so a lookup would find nothing to give them to.
   */
  readonly commandsBySession?: boolean;
  /** Compares a subscription's position with its stream's top (after broker delivery was interrupted). */
  checkPosition(channel: string, top: StreamPosition): void;
  deliverPublication(channel: string, pub: Publication, sp: StreamPosition, push: PreparedPush): void;
  deliverJoinLeave(channel: string, kind: "join" | "leave", push: PreparedPush): void;
}

/**
 * Every index entry is paid per connection: on Bun a Map or Set entry costs 40–180 bytes
 * depending on where the table is in its growth (~180 at 19000 entries), more than some whole
 * objects of a connection. So each connection is in as few tables as the lookups need: its
 * user's (which also answers "all clients" and "is this one registered"), its channels', and the
 * session table only when commands come by session.
 */
export class Hub<C extends HubClient = HubClient> {
  /** Channel → its subscribers on this node (a Set: cheaper per entry than a Map by id). */
  private readonly channels = new Map<string, Set<C>>();
  /**
   * A user's connections: the connection itself while there is one (the usual case), a map by
   * id from the second on. A Map costs ~300 bytes even with one entry: with a map per user, an
   * idle connection of a distinct user paid for one.
   */
  private readonly users = new Map<string, C | Map<string, C>>();
  private readonly sessions = new Map<string, C>();
  private clientCount = 0;

  add(client: C): void {
    const byUser = this.users.get(client.user);
    if (byUser instanceof Map) {
      if (!byUser.has(client.id)) this.clientCount++;
      byUser.set(client.id, client);
    } else if (byUser === undefined || byUser.id === client.id) {
      if (byUser === undefined) this.clientCount++;
      this.users.set(client.user, client);
    } else {
      this.users.set(client.user, new Map([[byUser.id, byUser], [client.id, client]]));
      this.clientCount++;
    }
    if (client.session && client.commandsBySession) this.sessions.set(client.session, client);
  }

  remove(client: C): void {
    if (!this.has(client)) return;
    this.clientCount--;
    if (client.session && this.sessions.get(client.session) === client) this.sessions.delete(client.session);
    const byUser = this.users.get(client.user);
    if (byUser instanceof Map) {
      byUser.delete(client.id);
      // Back to the single connection (a reconnect overlaps the old connection for a moment).
      if (byUser.size === 1) this.users.set(client.user, byUser.values().next().value!);
    } else {
      this.users.delete(client.user);
    }
  }

  /** Whether this very connection is registered (added and not removed since). */
  has(client: C): boolean {
    const byUser = this.users.get(client.user);
    return byUser instanceof Map ? byUser.get(client.id) === client : byUser === client;
  }

  /** Adds a subscriber; returns true when it is the channel's first one on this node. */
  subscribe(channel: string, client: C): boolean {
    let subs = this.channels.get(channel);
    const first = !subs;
    if (!subs) this.channels.set(channel, subs = new Set());
    subs.add(client);
    return first;
  }

  /** Removes a subscriber; returns true when the channel has no subscriber left on this node. */
  unsubscribe(channel: string, client: C): boolean {
    const subs = this.channels.get(channel);
    if (!subs || !subs.delete(client)) return false;
    if (subs.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  hasSubscribers(channel: string): boolean {
    return this.channels.has(channel);
  }

  broadcastPublication(channel: string, pub: Publication, sp: StreamPosition): void {
    const subs = this.channels.get(channel);
    if (!subs) return;
    const push = publicationPush(channel, pub);
    for (const client of subs) client.deliverPublication(channel, pub, sp, push);
  }

  broadcastJoinLeave(channel: string, kind: "join" | "leave", info: ClientInfo): void {
    const subs = this.channels.get(channel);
    if (!subs) return;
    const push = joinLeavePush(channel, kind, info);
    for (const client of subs) client.deliverJoinLeave(channel, kind, push);
  }

  bySession(session: string): C | undefined {
    return this.sessions.get(session);
  }

  userConnections(user: string): C[] {
    const byUser = this.users.get(user);
    if (byUser === undefined) return [];
    return byUser instanceof Map ? [...byUser.values()] : [byUser];
  }

  /** This node's subscribers of a channel. */
  subscribersOf(channel: string): C[] {
    return [...(this.channels.get(channel) ?? [])];
  }

  channelSubscribers(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  get numClients(): number {
    return this.clientCount;
  }

  get numUsers(): number {
    return this.users.size;
  }

  get numChannels(): number {
    return this.channels.size;
  }

  get numSubscriptions(): number {
    let n = 0;
    for (const subs of this.channels.values()) n += subs.size;
    return n;
  }

  /** Every connection, user by user. */
  *allClients(): IterableIterator<C> {
    for (const byUser of this.users.values()) {
      if (byUser instanceof Map) yield* byUser.values();
      else yield byUser;
    }
  }
}
