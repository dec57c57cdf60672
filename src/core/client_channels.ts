/**
 * @module
 * The channels of one connection: its subscriptions, how they are set up (hub + broker +
 * position/recovery + presence, publications buffered meanwhile), how live publications are
 * checked for continuity and written, and how they end. Works on a `Connection`; server API
 * subscribe / unsubscribe land here too.
 */
import { type Connection, Gone } from "./connection.ts";
import type { PreparedPush } from "./codec.ts";
import { jsonObject, publicationPush, raw, unsubscribePushBody } from "./codec.ts";
import type { ServerSubscribeOptions } from "./node.ts";
import type { Publication, StreamPosition } from "../wire/protocol.ts";
import { reloadEvent, type ResumeTracker } from "./resume.ts";
import {
  checkContinuity,
  MAX_BUFFERED_PUBLICATIONS,
  positionSubscription,
  type RecoveryRequest,
  type SubscribeResultFields,
  Subscription,
  Subscriptions,
} from "./subscription.ts";
import { DisconnectCode, isDisconnect, unsubscribeReasons } from "../errors.ts";
import { jsonText } from "../wire/json.ts";
import { refreshExtension } from "./hooks.ts";

/** How soon a failed `onSubRefresh` is tried again. */
const SUB_REFRESH_RETRY_MS = 10_000;

/** A connection with its channels: what the connect step and the commands work on. */
export type ChannelledConnection = Connection & { readonly channels: ClientChannels };

/** The connection's subscriptions (`get`, `has`, `size`, `values()`) and what is done with them. */
export class ClientChannels extends Subscriptions {
  constructor(private readonly client: Connection, readonly resume?: ResumeTracker) {
    super();
  }

  isActive(channel: string): boolean {
    return this.get(channel)?.state === "active";
  }

  /**
   * Registers `sub`, joins the hub and broker, positions/recovers it and adds presence. The
   * subscription stays "subscribing" (publications are buffered) until `activate` runs after the
   * reply carrying the returned fields has been written.
   */
  prepare(
    sub: Subscription,
    recovery: RecoveryRequest,
  ): SubscribeResultFields | Promise<SubscribeResultFields> {
    // A connection closed meanwhile (between two subscriptions of one connect) takes no more.
    if (this.client.state === "closed") return Promise.reject(new Gone());
    this.set(sub);
    let joined: Promise<void> | undefined;
    try {
      joined = this.client.node.addSubscription(sub.channel, this.client);
    } catch (err) {
      return this.failed(sub, err);
    }
    // Nothing to wait for (an in-process broker, no history, no presence): no promise at all.
    if (joined === undefined && !sub.positioned && !sub.presence) {
      return recovery.recover ? { was_recovering: true } : {};
    }
    return this.prepareAsync(sub, recovery, joined);
  }

  private async prepareAsync(
    sub: Subscription,
    recovery: RecoveryRequest,
    joined: Promise<void> | undefined,
  ): Promise<SubscribeResultFields> {
    const { node } = this.client;
    const ch = sub.channel;
    try {
      if (joined) await joined;
      this.ensureCurrent(sub);
      const fields = await positionSubscription(this.client, sub, recovery);
      this.ensureCurrent(sub);
      if (sub.presence) {
        await node.addPresence(ch, this.client.id, this.client.infoFor(sub));
        this.ensureCurrent(sub);
      }
      return fields;
    } catch (err) {
      return await this.failed(sub, err);
    }
  }

  /** A subscription that could not be prepared: undone, and the error passed on. */
  private async failed(sub: Subscription, err: unknown): Promise<never> {
    if (this.get(sub.channel) === sub) await this.remove(sub);
    throw err;
  }

  private ensureCurrent(sub: Subscription): void {
    if (this.get(sub.channel) !== sub || this.client.state === "closed") throw new Gone();
  }

  /** Makes a prepared subscription live: flushes what arrived meanwhile, announces the join. */
  activate(sub: Subscription): void {
    if (this.get(sub.channel) !== sub || sub.state === "active") return;
    sub.state = "active";
    const buffered = sub.buffer;
    if (buffered !== undefined) {
      sub.buffer = undefined;
      for (const b of buffered) {
        if (this.get(sub.channel) !== sub) break;
        this.send(sub, b.pub, b.sp, b.push);
      }
      if (this.get(sub.channel) !== sub) return;
    }
    if (sub.joinLeave) {
      this.client.node.publishJoin(sub.channel, this.client.infoFor(sub)).catch((err) =>
        this.client.log.error("join publish failed", { channel: sub.channel, err })
      );
    }
    this.scheduleExpiry(sub);
    const hooks = this.client.node.hooks;
    if (hooks.has("onSubscribed")) {
      hooks.observe("onSubscribed", { client: this.client.context(), channel: sub.channel }, this.client.id);
    }
  }

  /**
   * Removes a subscription and everything it holds (hub, broker, presence, join → leave); a
   * promise only while something is still being undone elsewhere (a broker, presence, a leave).
   */
  remove(sub: Subscription): Promise<void> | undefined {
    if (this.get(sub.channel) !== sub) return undefined;
    const { node } = this.client;
    const ch = sub.channel;
    this.delete(ch);
    sub.expiryTimer?.cancel();
    if (sub.state === "active" && node.hooks.has("onUnsubscribe")) {
      node.hooks.observe("onUnsubscribe", { client: this.client.context(), channel: ch }, this.client.id);
    }
    let unsubscribed: Promise<void> | undefined;
    try {
      unsubscribed = node.removeSubscription(ch, this.client);
    } catch (err) {
      this.cleanupFailed(ch, err);
    }
    if (!sub.presence && !(sub.joinLeave && sub.state === "active")) {
      // the common case: at most one task, no array of outcomes
      return unsubscribed?.catch((err) => this.cleanupFailed(ch, err));
    }
    return this.undoElsewhere(sub, unsubscribed);
  }

  /** The rest of a removal: presence and the leave, with the broker's unsubscribe if pending. */
  private async undoElsewhere(sub: Subscription, unsubscribed: Promise<void> | undefined): Promise<void> {
    const { node } = this.client;
    const ch = sub.channel;
    const tasks: Promise<unknown>[] = unsubscribed ? [unsubscribed] : [];
    if (sub.presence) tasks.push(node.removePresence(ch, this.client.id, this.client.user));
    if (sub.joinLeave && sub.state === "active") {
      tasks.push(node.publishLeave(ch, this.client.infoFor(sub)));
    }
    for (const r of await Promise.allSettled(tasks)) {
      if (r.status === "rejected") this.cleanupFailed(ch, r.reason);
    }
  }

  private cleanupFailed(channel: string, err: unknown): void {
    this.client.log.error("unsubscribe cleanup failed", { channel, err });
  }

  /** Drops every subscription (connection closing). */
  removeAll(): void {
    for (const sub of this.values()) {
      sub.expiryTimer?.cancel();
      void this.remove(sub);
    }
  }

  /** Server-initiated unsubscribe of a subscription (the SDK resubscribes for codes ≥ 2500). */
  unsubscribeWithPush(sub: Subscription, code: number): void {
    void this.remove(sub);
    this.client.writePush(unsubscribePushBody(sub.channel, code, unsubscribeReasons[code] ?? "unsubscribe"));
  }

  deliverPublication(channel: string, pub: Publication, sp: StreamPosition, push: PreparedPush): void {
    const sub = this.get(channel);
    if (!sub) return;
    if (sub.state === "subscribing") {
      const buffer = sub.buffer ??= [];
      if (buffer.length >= MAX_BUFFERED_PUBLICATIONS) {
        this.client.disconnectNow(DisconnectCode.Slow, "slow");
        return;
      }
      buffer.push({ pub, sp, push });
      return;
    }
    this.send(sub, pub, sp, push);
  }

  deliverJoinLeave(channel: string, push: PreparedPush): void {
    const sub = this.get(channel);
    if (sub && sub.state === "active" && sub.pushJoinLeave) {
      this.client.writePrepared(push);
    }
  }

  private send(sub: Subscription, pub: Publication, sp: StreamPosition, push: PreparedPush): void {
    switch (checkContinuity(sub, pub, sp)) {
      case "skip":
        return;
      case "gap":
        this.client.log.info("insufficient state", {
          channel: sub.channel,
          offset: pub.offset,
          last: sub.offset,
        });
        this.insufficientState(sub);
        return;
      default:
        if (this.resume && sub.positioned) this.client.writeBytes(this.resume.idLine(this.values()));
        this.client.writePrepared(push);
    }
  }

  /** A positioned subscription behind its stream's top (or on another epoch) must recover. */
  checkPosition(channel: string, top: StreamPosition): void {
    const sub = this.get(channel);
    if (!sub || sub.state !== "active" || !sub.positioned) return;
    if (top.epoch === sub.epoch && top.offset <= sub.offset) return;
    this.client.log.info("subscription behind its stream", { channel, offset: sub.offset, top: top.offset });
    this.insufficientState(sub);
  }

  private insufficientState(sub: Subscription): void {
    if (sub.serverSide) this.client.disconnectNow(DisconnectCode.InsufficientState, "insufficient state");
    else this.unsubscribeWithPush(sub, 2500);
  }

  /** Recovered publications as ordinary pushes; `sub.offset` must be where the client stands. */
  sendRecovered(sub: Subscription, pubs: Publication[]): void {
    for (const pub of pubs) {
      if (this.get(sub.channel) !== sub) return;
      this.send(sub, pub, { offset: pub.offset ?? 0, epoch: sub.epoch }, publicationPush(sub.channel, pub));
    }
  }

  /** After a connect: what a `Last-Event-ID` resume recovered, the reload notices, then live data. */
  activateServerSide(): void {
    if (this.resume) {
      for (const { sub, pubs } of this.resume.takeRecovered()) this.sendRecovered(sub, pubs);
      for (const notice of this.resume.takeReloads()) this.client.writeBytes(reloadEvent(notice));
    }
    for (const sub of this.values()) if (sub.serverSide) this.activate(sub);
  }

  /** `id:` line for uni_sse events, when the transport carries positions. */
  writeEventId(): void {
    if (this.resume) this.client.writeBytes(this.resume.idLine(this.values()));
  }

  /** Server API `subscribe`: a server-side subscription announced with a subscribe push. */
  async serverSubscribe(opts: ServerSubscribeOptions): Promise<void> {
    const { client } = this;
    if (client.state !== "connected" || this.has(opts.channel)) return;
    const limit = client.node.config.client_channel_limit;
    if (limit > 0 && this.size >= limit) {
      client.log.info("server-side subscribe over the channel limit", { channel: opts.channel });
      return;
    }
    const resolved = client.node.channels.resolve(opts.channel);
    if (!resolved) return; // validated by the API; a control message from another node may lag
    const sub = new Subscription(opts.channel, resolved, true, opts.override);
    sub.chanInfo = opts.info;
    sub.expireAt = opts.expireAt ?? 0;
    this.resume?.position(sub);
    const since = opts.recoverSince;
    const recovery = since
      ? { recover: true, offset: since.offset, epoch: since.epoch, rejectUnrecovered: false }
      : { recover: false, offset: 0, epoch: "", rejectUnrecovered: false };
    let fields: SubscribeResultFields;
    try {
      fields = await this.prepare(sub, recovery);
    } catch (err) {
      if (!(err instanceof Gone)) {
        client.log.error("server-side subscribe failed", { channel: opts.channel, err });
      }
      return;
    }
    const recovered = fields.recovered ? fields.publications ?? [] : [];
    if (fields.recovered) sub.offset = recovery.offset;
    const body = jsonObject({
      recoverable: fields.recoverable,
      epoch: fields.epoch,
      offset: sub.offset,
      positioned: fields.positioned,
      data: raw(opts.data),
    });
    if (sub.positioned) this.writeEventId();
    client.writePush(`{"channel":${JSON.stringify(opts.channel)},"subscribe":${body}}`);
    this.sendRecovered(sub, recovered);
    this.activate(sub);
  }

  /** Server API `unsubscribe` (code 2000, terminal for that subscription). */
  async serverUnsubscribe(channel: string): Promise<void> {
    // Sent even without a subscription, as Centrifugo does: an SDK subscription that is still
    // subscribing (or waiting to retry) stops too.
    this.client.writePush(unsubscribePushBody(channel, 2000, unsubscribeReasons[2000]));
    const sub = this.get(channel);
    if (sub) await this.remove(sub);
  }

  /**
   * Watches a subscription's expiry: at `expireAt` for server-refreshed ones (`onSubRefresh`),
   * `client_expired_sub_close_delay` later for ones the client refreshes itself.
   */
  scheduleExpiry(sub: Subscription, delayMs?: number): void {
    const { node } = this.client;
    sub.expiryTimer?.cancel();
    sub.expiryTimer = undefined;
    if (sub.expireAt <= 0) return;
    const grace = sub.serverRefresh ? 0 : node.config.client_expired_sub_close_delay;
    const delay = delayMs ?? sub.expireAt * 1000 - node.now() + grace;
    sub.expiryTimer = node.timers.schedule(delay, () => {
      if (this.get(sub.channel) !== sub) return;
      if (sub.serverRefresh) return void this.refreshByHook(sub);
      if (sub.expireAt * 1000 > node.now()) return this.scheduleExpiry(sub);
      this.expire(sub);
    });
  }

  private expire(sub: Subscription): void {
    if (sub.serverSide) this.client.disconnectNow(DisconnectCode.SubExpired, "subscription expired");
    else this.unsubscribeWithPush(sub, 2501);
  }

  /** `onSubRefresh` at expiry: extend, expire, or — when the hook fails — ask again shortly. */
  private async refreshByHook(sub: Subscription): Promise<void> {
    const { node } = this.client;
    let result;
    try {
      result = await node.hooks.decide(
        "onSubRefresh",
        (signal) => ({
          client: this.client.context(),
          channel: sub.channel,
          namespace: sub.resolved.namespace,
          options: sub.resolved.options,
          signal,
        }),
        this.client.id,
      );
    } catch (err) {
      if (isDisconnect(err)) return this.client.disconnectNow(err.code, err.reason);
      this.client.log.info("sub refresh hook failed; retrying", {
        channel: sub.channel,
        err: (err as Error).message,
      });
      return this.scheduleExpiry(sub, SUB_REFRESH_RETRY_MS);
    }
    if (this.get(sub.channel) !== sub) return;
    const extended = refreshExtension(result, this.client.node.now());
    if (!extended) return this.expire(sub);
    if (extended.info !== undefined) sub.chanInfo = jsonText(extended.info);
    sub.expireAt = extended.expireAt;
    this.scheduleExpiry(sub);
  }

  /** Re-announces presence for TTL-based presence managers. */
  refreshPresence(): void {
    const { node } = this.client;
    for (const sub of this.values()) {
      if (sub.presence && sub.state === "active") {
        node.addPresence(sub.channel, this.client.id, this.client.infoFor(sub)).catch((err) =>
          this.client.log.error("presence update failed", { channel: sub.channel, err })
        );
      }
    }
  }
}
