/**
 * @module
 * The hub indexes this node's connections: channel → subscribers, user → connections,
 * session → connection. It fans a publication out by preparing its push once and handing the
 * same prepared bytes to every subscriber.
 */
import type { ClientInfo, Publication, StreamPosition } from "../wire/protocol.ts";
import { joinLeavePush, type PreparedPush, publicationPush } from "./codec.ts";

/** What the hub needs from a connection. */
export interface HubClient {
  readonly id: string;
  readonly user: string;
  readonly session: string;
  /** Compares a subscription's position with its stream's top (after broker delivery was interrupted). */
  checkPosition(channel: string, top: StreamPosition): void;
  deliverPublication(channel: string, pub: Publication, sp: StreamPosition, push: PreparedPush): void;
  deliverJoinLeave(channel: string, kind: "join" | "leave", push: PreparedPush): void;
}

export class Hub<C extends HubClient = HubClient> {
  private readonly channels = new Map<string, Map<string, C>>();
  /**
   * A user's connections: the connection itself while there is one (the usual case), a map by
   * id from the second on. A Map costs ~300 bytes even with one entry: with a map per user, an
   * idle connection of a distinct user paid for one.
   */
  private readonly users = new Map<string, C | Map<string, C>>();
  private readonly sessions = new Map<string, C>();
  private readonly clients = new Map<string, C>();

  add(client: C): void {
    this.clients.set(client.id, client);
    if (client.session) this.sessions.set(client.session, client);
    const byUser = this.users.get(client.user);
    if (byUser instanceof Map) byUser.set(client.id, client);
    else if (byUser === undefined || byUser.id === client.id) this.users.set(client.user, client);
    else this.users.set(client.user, new Map([[byUser.id, byUser], [client.id, client]]));
  }

  remove(client: C): void {
    if (this.clients.get(client.id) !== client) return;
    this.clients.delete(client.id);
    if (client.session) this.sessions.delete(client.session);
    const byUser = this.users.get(client.user);
    if (byUser instanceof Map) {
      byUser.delete(client.id);
      // Back to the single connection (a reconnect overlaps the old connection for a moment).
      if (byUser.size === 1) this.users.set(client.user, byUser.values().next().value!);
      else if (byUser.size === 0) this.users.delete(client.user);
    } else if (byUser?.id === client.id) {
      this.users.delete(client.user);
    }
  }

  /** Adds a subscriber; returns true when it is the channel's first one on this node. */
  subscribe(channel: string, client: C): boolean {
    let subs = this.channels.get(channel);
    const first = !subs;
    if (!subs) this.channels.set(channel, subs = new Map());
    subs.set(client.id, client);
    return first;
  }

  /** Removes a subscriber; returns true when the channel has no subscriber left on this node. */
  unsubscribe(channel: string, client: C): boolean {
    const subs = this.channels.get(channel);
    if (!subs || !subs.delete(client.id)) return false;
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
    for (const client of subs.values()) client.deliverPublication(channel, pub, sp, push);
  }

  broadcastJoinLeave(channel: string, kind: "join" | "leave", info: ClientInfo): void {
    const subs = this.channels.get(channel);
    if (!subs) return;
    const push = joinLeavePush(channel, kind, info);
    for (const client of subs.values()) client.deliverJoinLeave(channel, kind, push);
  }

  bySession(session: string): C | undefined {
    return this.sessions.get(session);
  }

  byId(clientId: string): C | undefined {
    return this.clients.get(clientId);
  }

  userConnections(user: string): C[] {
    const byUser = this.users.get(user);
    if (byUser === undefined) return [];
    return byUser instanceof Map ? [...byUser.values()] : [byUser];
  }

  /** This node's subscribers of a channel. */
  subscribersOf(channel: string): C[] {
    return [...(this.channels.get(channel)?.values() ?? [])];
  }

  channelSubscribers(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  get numClients(): number {
    return this.clients.size;
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

  allClients(): IterableIterator<C> {
    return this.clients.values();
  }
}
