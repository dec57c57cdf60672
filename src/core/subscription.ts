/**
 * @module
 * One channel subscription of one connection, and the subscribe path shared by client-side
 * subscriptions (`subscribe` command) and server-side ones (token `channels`/`subs`).
 *
 * Continuity: the connection joins the hub *before* reading the stream position, and holds
 * publications that arrive meanwhile in a buffer; after the subscribe reply is written the buffer
 * is flushed, dropping what the reply already covered. Live publications are then checked against
 * the last delivered offset and epoch; a gap means the client missed something and must recover
 * (unsubscribe 2500 for client-side subscriptions, disconnect 3010 for server-side ones).
 */
import type { ResolvedChannel } from "./channel.ts";
import { hasHistory } from "./channel.ts";
import type { PreparedPush } from "./codec.ts";
import { encodePublication, jsonObject, raw } from "./codec.ts";
import type { ClientInfo, Publication, Raw, StreamPosition } from "../wire/protocol.ts";
import type { SubscribeOverride } from "../auth/jwt.ts";
import { ClientError, ErrorCode } from "../errors.ts";
import type { TimerHandle } from "./timers.ts";

/** Publications a subscription may hold while it is being set up, before the client is slow. */
export const MAX_BUFFERED_PUBLICATIONS = 10_000;

export class Subscription {
  state: "subscribing" | "active" = "subscribing";
  positioned = false;
  recoverable = false;
  epoch = "";
  /** Last offset delivered (or covered by the subscribe reply). */
  offset = 0;
  presence: boolean;
  joinLeave: boolean;
  pushJoinLeave: boolean;
  chanInfo?: Raw;
  /** Unix seconds; 0 = never expires. */
  expireAt = 0;
  /** Refreshed by the server through `onSubRefresh` at expiry, not by the client's sub_refresh. */
  serverRefresh = false;
  /** Publications that arrived while subscribing (made on first use). */
  buffer?: Array<{ pub: Publication; sp: StreamPosition; push: PreparedPush }>;
  /** The pending expiry check, if any. */
  expiryTimer?: TimerHandle;
  /** This subscription's part of uni_sse event ids, cached until its position moves. */
  idSegment?: { offset: number; epoch: string; text: string };

  constructor(
    readonly channel: string,
    readonly resolved: ResolvedChannel,
    readonly serverSide: boolean,
    override?: SubscribeOverride,
  ) {
    const o = resolved.options;
    this.presence = override?.presence ?? o.presence;
    this.joinLeave = override?.join_leave ?? o.join_leave;
    this.pushJoinLeave = override?.force_push_join_leave ?? o.force_push_join_leave;
    const history = hasHistory(o);
    this.recoverable = history && (override?.force_recovery ?? o.force_recovery);
    this.positioned = this.recoverable || (history && (override?.force_positioning ?? o.force_positioning));
  }
}

/** Past this many subscriptions, a connection's table also indexes them by channel. */
const LINEAR_MAX = 8;
const NONE: readonly Subscription[] = Object.freeze([]);

/**
 * A connection's subscriptions by channel, in subscription order: the base of `ClientChannels`
 * (one object per connection, not two), which alone adds and removes them. A Map per connection
 * cost ~300 bytes on Bun even for one or two channels (the common case, and every idle connection
 * holds its table); an array of a few entries, searched in order, costs a tenth of that. Past
 * `LINEAR_MAX` entries a Map indexes them, so a lookup (one per delivered publication) stays O(1).
 *
 * The array is replaced on every change, never changed in place: `values()` is a snapshot, so a
 * loop over it is not disturbed when a subscription goes away meanwhile (callers recheck with
 * `get(channel) === sub` where that matters, as they did with the Map).
 */
export class Subscriptions {
  private list: readonly Subscription[] = NONE;
  private index?: Map<string, Subscription>;

  get size(): number {
    return this.list.length;
  }

  get(channel: string): Subscription | undefined {
    if (this.index !== undefined) return this.index.get(channel);
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i].channel === channel) return list[i];
    return undefined;
  }

  has(channel: string): boolean {
    return this.get(channel) !== undefined;
  }

  /** Adds `sub`, or puts it in the place of the subscription to the same channel. */
  protected set(sub: Subscription): void {
    const old = this.get(sub.channel);
    // concat, not a spread: V8 gives a spread's array room for 17 entries (~130 bytes more per
    // connection on Deno), concat exactly what it holds.
    this.list = old === undefined ? this.list.concat(sub) : this.list.map((s) => s === old ? sub : s);
    if (this.index !== undefined) this.index.set(sub.channel, sub);
    else if (this.list.length > LINEAR_MAX) this.index = new Map(this.list.map((s) => [s.channel, s]));
  }

  protected delete(channel: string): boolean {
    const old = this.get(channel);
    if (old === undefined) return false;
    this.list = this.list.length === 1 ? NONE : this.list.filter((s) => s !== old);
    if (this.list.length <= LINEAR_MAX) this.index = undefined;
    else this.index?.delete(channel);
    return true;
  }

  /** The subscriptions now, oldest first (a snapshot: later changes do not show in it). */
  values(): readonly Subscription[] {
    return this.list;
  }
}

/** What the client asked for when (re)subscribing. */
export interface RecoveryRequest {
  recover: boolean;
  offset: number;
  epoch: string;
  rejectUnrecovered: boolean;
}

/** Fields of a SubscribeResult (protocol.md §1.4), before encoding. */
export interface SubscribeResultFields {
  expires?: boolean;
  ttl?: number;
  recoverable?: boolean;
  epoch?: string;
  offset?: number;
  positioned?: boolean;
  publications?: Publication[];
  recovered?: boolean;
  was_recovering?: boolean;
  data?: Raw;
}

export function encodeSubscribeResult(r: SubscribeResultFields): string {
  // No fields at all (a channel without history): the common case of server-side subscriptions.
  let empty = true;
  for (const _ in r) {
    empty = false;
    break;
  }
  if (empty) return "{}";
  return jsonObject({
    expires: r.expires,
    ttl: r.ttl,
    recoverable: r.recoverable,
    epoch: r.epoch,
    offset: r.offset,
    positioned: r.positioned,
    publications: r.publications && r.publications.length > 0
      ? raw(`[${r.publications.map(encodePublication).join(",")}]`)
      : undefined,
    recovered: r.recovered,
    was_recovering: r.was_recovering,
    data: raw(r.data),
  });
}

/** What the subscribe path needs from the node/connection, kept narrow so it is testable. */
export interface SubscribeHost {
  readonly recoveryLimit: number;
  history(
    channel: string,
    resolved: ResolvedChannel,
    opts: { since?: StreamPosition; limit: number },
  ): Promise<{ publications: Publication[]; offset: number; epoch: string }>;
}

/**
 * Reads the stream for a positioned subscription and decides recovery. Mutates `sub` (epoch,
 * offset) and returns the result fields. Throws 112 when the client rejects an unrecovered state.
 */
export async function positionSubscription(
  host: SubscribeHost,
  sub: Subscription,
  req: RecoveryRequest,
): Promise<SubscribeResultFields> {
  const fields: SubscribeResultFields = {};
  // Centrifugo reports the attempt whenever the client asked, whether or not the channel recovers.
  if (req.recover) fields.was_recovering = true;
  if (!sub.positioned) return fields;
  fields.positioned = true;
  fields.recoverable = sub.recoverable || undefined;
  if (sub.recoverable && req.recover) {
    const limit = host.recoveryLimit;
    const h = await host.history(sub.channel, sub.resolved, {
      since: { offset: req.offset, epoch: req.epoch },
      // One more than allowed tells "too many to recover" apart from "exactly enough".
      limit: limit > 0 ? limit + 1 : -1,
    });
    const pubs = h.publications;
    const epochOk = req.epoch === "" || req.epoch === h.epoch;
    const complete = pubs.length === 0
      ? h.offset === req.offset
      : pubs[0].offset === req.offset + 1 && pubs[pubs.length - 1].offset === h.offset;
    const recovered = epochOk && complete && (limit <= 0 || pubs.length <= limit);
    fields.epoch = h.epoch;
    sub.epoch = h.epoch;
    if (recovered) {
      fields.recovered = true;
      fields.offset = req.offset;
      fields.publications = pubs;
      sub.offset = h.offset;
    } else {
      if (req.rejectUnrecovered) throw new ClientError(ErrorCode.UnrecoverablePosition);
      fields.offset = h.offset;
      sub.offset = h.offset;
    }
    return fields;
  }
  const top = await host.history(sub.channel, sub.resolved, { limit: 0 });
  sub.epoch = top.epoch;
  sub.offset = top.offset;
  fields.epoch = top.epoch;
  fields.offset = top.offset;
  return fields;
}

export type DeliveryVerdict = "send" | "skip" | "gap";

/** Checks a live publication against what the subscription has already delivered. */
export function checkContinuity(sub: Subscription, pub: Publication, sp: StreamPosition): DeliveryVerdict {
  if (!sub.positioned || !pub.offset) return "send";
  if (sub.epoch === "") sub.epoch = sp.epoch;
  if (sp.epoch !== sub.epoch) return "gap";
  if (pub.offset <= sub.offset) return "skip";
  if (pub.offset > sub.offset + 1) return "gap";
  sub.offset = pub.offset;
  return "send";
}

export function clientInfoFor(user: string, client: string, connInfo?: Raw, chanInfo?: Raw): ClientInfo {
  return { user, client, connInfo, chanInfo };
}
