/**
 * @module
 * One connected session: the protocol state machine of a client on any transport.
 *
 * Commands run one at a time in arrival order (a per-connection chain), except pongs, which only
 * touch a flag. Handlers answer by returning a result (written as the reply), throwing a
 * `ClientError` (error reply, connection stays) or a `Disconnect` (connection closes with a code).
 * Anything else is logged and answered with 100, so no input can crash the process.
 */
import type { Node, NodeClient, ServerRefreshOptions, ServerSubscribeOptions } from "./node.ts";
import type { Framing, PreparedPush, Shape } from "./codec.ts";
import {
  CommandDecodeError,
  commandMethod,
  decodeCommands,
  disconnectPushBody,
  encodeErrorReply,
  encodeReply,
  frame,
  jsonObject,
  publicationPush,
  raw,
  unsubscribePushBody,
} from "./codec.ts";
import type { Command, CommandMethod, ConnectRequest, Publication, Raw, StreamPosition } from "./protocol.ts";
import {
  ClientError,
  Disconnect,
  DisconnectCode,
  ErrorCode,
  isClientError,
  isDisconnect,
  unsubscribeReasons,
} from "../errors.ts";
import type { TimerHandle } from "./timers.ts";
import type { Logger } from "../log.ts";
import { InvalidTokenError, TokenExpiredError, TokenVerifierUnavailableError } from "../auth/jwt.ts";
import type { SubscribeOverride } from "../auth/jwt.ts";
import {
  checkContinuity,
  clientInfoFor,
  MAX_BUFFERED_PUBLICATIONS,
  positionSubscription,
  type RecoveryRequest,
  type SubscribeResultFields,
  Subscription,
} from "./subscription.ts";
import type { Actor } from "./permissions.ts";
import { canSubscribeWithoutToken } from "./permissions.ts";
import * as commands from "./client_commands.ts";
import type { ResolvedChannel } from "./channel.ts";
import { reloadEvent, ResumeTracker } from "./resume.ts";

/** The downstream half of a connection, implemented by each transport. */
export interface ClientTransport {
  /** Transport name as Centrifugo reports it: "sse", "http_stream", "uni_sse", … */
  readonly name: string;
  readonly unidirectional: boolean;
  /** Commands arrive through `/emulation` (bidirectional SSE and HTTP streaming). */
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  /** Bytes of one server ping on this transport. */
  readonly pingBytes: Uint8Array;
  /** Events carry `id:` lines with stream positions (uni_sse, for `Last-Event-ID` resume). */
  readonly eventIds?: boolean;
  readonly isClosed: boolean;
  /** Queues bytes; returns false when the queue went over its byte limit. */
  write(bytes: Uint8Array): boolean;
  /** Ends the response once queued bytes are out. */
  close(): void;
  /** Drops queued bytes and cuts the response (slow consumers). */
  abort(): void;
}

export interface ClientRequestInfo {
  headers: Headers;
  remoteAddr?: string;
  /** `Last-Event-ID` of a reconnecting EventSource (uni_sse only). */
  lastEventId?: string | null;
}

export interface Credentials {
  user: string;
  /** Unix seconds, 0 = never. */
  expireAt: number;
  info?: Raw;
  meta?: Raw;
  data?: Raw;
  channels: string[];
  subs: Record<string, { info?: Raw; data?: Raw; override?: SubscribeOverride }>;
}

/** A handler's answer: the result JSON, and work to do right after the reply is written. */
export interface Outcome {
  result: string;
  after?: () => void;
}

/** Commands a connection may have waiting before it is considered abusive. */
const MAX_PENDING_COMMANDS = 256;

/** Thrown when the connection or subscription went away while a command awaited; answered with nothing. */
class Gone extends Error {}

export class Client implements NodeClient, Actor {
  readonly id: string = crypto.randomUUID();
  session = "";
  user = "";
  state: "connecting" | "connected" | "closed" = "connecting";
  connInfo?: Raw;
  meta?: Raw;
  /** Unix seconds; 0 = never expires. */
  expireAt = 0;
  clientName = "";
  clientVersion = "";
  readonly subs = new Map<string, Subscription>();
  readonly log: Logger;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private awaitingPong = false;
  private released = false;
  private pingTimer?: TimerHandle;
  private pongTimer?: TimerHandle;
  private expireTimer?: TimerHandle;
  private staleTimer?: TimerHandle;
  private readonly subTimers = new Map<string, TimerHandle>();
  private readonly resume?: ResumeTracker;

  constructor(readonly node: Node, readonly transport: ClientTransport, readonly request: ClientRequestInfo) {
    this.log = node.log.child({ client: this.id, transport: transport.name });
    if (transport.eventIds) this.resume = new ResumeTracker(request.lastEventId ?? null);
  }

  get insecure(): boolean {
    return this.node.config.client_insecure;
  }

  get recoveryLimit(): number {
    return this.node.config.client_recovery_max_publication_limit;
  }

  history(channel: string, resolved: ResolvedChannel, opts: { since?: StreamPosition; limit: number }) {
    return this.node.history(channel, resolved, opts);
  }

  isSubscribed(channel: string): boolean {
    return this.subs.get(channel)?.state === "active";
  }

  // ---------------------------------------------------------------- entry points

  /** Bidirectional start: the request that opened the stream carries the connect command. */
  start(cmds: Command[]): Promise<void> {
    const [first, ...rest] = cmds;
    if (!first || commandMethod(first) !== "connect" || !first.id) {
      this.log.info("first command must be connect", { method: first ? commandMethod(first) : undefined });
      this.disconnectNow(DisconnectCode.BadRequest, "bad request");
      return Promise.resolve();
    }
    const done = this.enqueue(() => this.connectBidirectional(first.id, first.connect!));
    for (const cmd of rest) this.enqueue(() => this.dispatch(cmd));
    return done;
  }

  /** Unidirectional start: a bare ConnectRequest, answered with a connect push. */
  startUnidirectional(req: ConnectRequest): Promise<void> {
    return this.enqueue(() => this.connectUnidirectional(req));
  }

  /** Commands from an `/emulation` request (newline-delimited JSON). */
  handleEmulation(data: string): void {
    if (this.state === "closed") return;
    let cmds: Command[];
    try {
      cmds = decodeCommands(data);
    } catch (err) {
      this.log.info("malformed command", { err: (err as CommandDecodeError).message });
      this.disconnectNow(DisconnectCode.BadRequest, "bad request");
      return;
    }
    for (const cmd of cmds) {
      if (commandMethod(cmd) === undefined && !cmd.id) {
        this.awaitingPong = false; // a pong; never queued behind slow commands
        continue;
      }
      if (this.pending >= MAX_PENDING_COMMANDS) {
        this.log.warn("too many pending commands");
        this.disconnectNow(DisconnectCode.TooManyRequests, "too many requests");
        return;
      }
      this.enqueue(() => this.dispatch(cmd));
    }
  }

  /** The client went away (stream cancelled or request aborted): release everything, write nothing. */
  transportGone(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.release();
    this.log.debug("client gone");
  }

  /** Closes the connection with a disconnect push (unless the transport is already gone). */
  disconnectNow(code: number, reason: string): void {
    const wasClosed = this.state === "closed";
    this.state = "closed";
    this.release();
    if (this.transport.isClosed) return;
    if (code === DisconnectCode.Slow) {
      // The queue is what is slow: flushing it (or adding to it) would not help.
      this.transport.abort();
    } else {
      if (code !== DisconnectCode.ConnectionClosed) this.writePush(disconnectPushBody(code, reason));
      this.transport.close();
    }
    if (!wasClosed) this.log.debug("disconnected", { code, reason });
  }

  // ---------------------------------------------------------------- writing

  writeJson(json: string): void {
    this.writeBytes(frame(json, this.transport.framing));
  }

  /** Writes a push body, wrapped in `{"push":…}` on bidirectional transports. */
  writePush(body: string): void {
    this.writeJson(this.transport.unidirectional ? body : `{"push":${body}}`);
  }

  writeBytes(bytes: Uint8Array): void {
    if (this.transport.isClosed) return;
    if (!this.transport.write(bytes)) {
      this.log.info("client queue over its limit", { limit: this.node.config.client_queue_max_size });
      this.disconnectNow(DisconnectCode.Slow, "slow");
    }
  }

  // ---------------------------------------------------------------- command processing

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.pending++;
    const run = this.chain.then(fn).catch((err) => {
      this.log.error("command processing failed", { err });
    }).finally(() => this.pending--);
    this.chain = run;
    return run;
  }

  private async dispatch(cmd: Command): Promise<void> {
    if (this.state !== "connected") {
      if (this.state === "connecting") this.disconnectNow(DisconnectCode.BadRequest, "bad request");
      return;
    }
    const method = commandMethod(cmd);
    if (method === "send") {
      // No message handler is configured, as in Centrifugo OSS.
      this.disconnectNow(DisconnectCode.NotAvailable, "not available");
      return;
    }
    if (method === undefined || !cmd.id || method === "connect") {
      this.log.info("bad command", { method, id: cmd.id });
      this.disconnectNow(DisconnectCode.BadRequest, "bad request");
      return;
    }
    try {
      const outcome = await this.handle(method, cmd);
      if (this.state !== "connected") return;
      this.writeJson(encodeReply(cmd.id, method, outcome.result));
      outcome.after?.();
    } catch (err) {
      this.answerError(cmd.id, method, err);
    }
  }

  private handle(method: CommandMethod, cmd: Command): Promise<Outcome> {
    switch (method) {
      case "subscribe":
        return this.subscribeCommand(cmd.subscribe!);
      case "unsubscribe":
        return this.unsubscribeCommand(cmd.unsubscribe!);
      case "publish":
        return commands.publish(this, cmd.publish!);
      case "presence":
        return commands.presence(this, cmd.presence!);
      case "presence_stats":
        return commands.presenceStats(this, cmd.presence_stats!);
      case "history":
        return commands.history(this, cmd.history!);
      case "refresh":
        return this.refreshCommand(cmd.refresh!);
      case "sub_refresh":
        return this.subRefreshCommand(cmd.sub_refresh!);
      case "rpc":
        return Promise.reject(new ClientError(ErrorCode.MethodNotFound));
      case "ping":
      default:
        return Promise.reject(new ClientError(ErrorCode.NotAvailable));
    }
  }

  private answerError(id: number, method: string, err: unknown): void {
    if (err instanceof Gone) return;
    if (isDisconnect(err)) {
      this.log.info("disconnect from command", { method, code: err.code, reason: err.reason });
      this.disconnectNow(err.code, err.reason);
      return;
    }
    if (isClientError(err)) {
      this.log.debug("command error", { method, code: err.code, message: err.message });
      this.writeJson(encodeErrorReply(id, err));
      return;
    }
    this.log.error("command failed", { method, err });
    this.writeJson(encodeErrorReply(id, new ClientError(ErrorCode.Internal)));
  }

  // ---------------------------------------------------------------- connect

  private async connectBidirectional(id: number, req: ConnectRequest): Promise<void> {
    try {
      const { result, after } = await this.connect(req);
      if (this.state !== "connected") return;
      this.writeJson(encodeReply(id, "connect", result));
      after?.();
    } catch (err) {
      if (this.state === "closed") return;
      this.release();
      // Not usable any more: later commands are refused until the stream ends.
      this.state = "connecting";
      if (isDisconnect(err)) {
        this.log.info("connect refused", { code: err.code, reason: err.reason });
        this.disconnectNow(err.code, err.reason);
        return;
      }
      this.answerError(id, "connect", err);
      // The SDK hangs up after an error reply; a client that does not is closed as stale.
      this.staleTimer = this.node.timers.schedule(
        this.node.config.client_stale_close_delay,
        () => this.disconnectNow(DisconnectCode.Stale, "stale"),
      );
    }
  }

  private async connectUnidirectional(req: ConnectRequest): Promise<void> {
    try {
      const { result, after } = await this.connect(req);
      if (this.state !== "connected") return;
      if (this.resume) this.writeBytes(this.resume.idLine(this.subs.values()));
      this.writePush(`{"connect":${result}}`);
      after?.();
    } catch (err) {
      if (this.state === "closed" || err instanceof Gone) return;
      this.release();
      const d = unidirectionalDisconnect(err, this.log);
      this.log.info("connect refused", { code: d.code, reason: d.reason });
      this.disconnectNow(d.code, d.reason);
    }
  }

  /** Authenticates and registers the connection; returns the connect result (JSON). */
  async connect(req: ConnectRequest): Promise<Outcome> {
    if (req === null || typeof req !== "object") throw new Disconnect(DisconnectCode.BadRequest);
    if (req.name !== undefined && typeof req.name !== "string") {
      throw new Disconnect(DisconnectCode.BadRequest);
    }
    if (req.version !== undefined && typeof req.version !== "string") {
      throw new Disconnect(DisconnectCode.BadRequest);
    }
    this.clientName = (req.name ?? "").slice(0, 64);
    this.clientVersion = (req.version ?? "").slice(0, 64);
    const creds = await this.authenticate(req);
    const now = Math.floor(Date.now() / 1000);
    if (creds.expireAt > 0 && creds.expireAt <= now) throw new ClientError(ErrorCode.Expired);
    const limit = this.node.config.client_user_connection_limit;
    if (limit > 0 && creds.user !== "" && this.node.hub.userConnections(creds.user).length >= limit) {
      throw new Disconnect(DisconnectCode.ConnectionLimit);
    }
    if (this.state !== "connecting") throw new Gone();
    this.user = creds.user;
    this.connInfo = creds.info;
    this.meta = creds.meta;
    this.expireAt = creds.expireAt;
    if (this.transport.emulation || this.transport.unidirectional) this.session = crypto.randomUUID();
    this.node.hub.add(this);
    this.state = "connected";
    const serverSubs = await this.subscribeServerSide(creds, req.subs);
    const config = this.node.config;
    const fields: Record<string, unknown> = {
      client: this.id,
      version: this.node.version,
      expires: this.expireAt > 0,
      ttl: this.expireAt > 0 ? this.expireAt - now : 0,
      data: raw(creds.data),
      subs: serverSubs.size > 0 ? raw(encodeSubsMap(serverSubs)) : undefined,
      ping: Math.floor(config.ping_interval / 1000),
      pong: !this.transport.unidirectional && config.ping_interval > 0 && config.pong_timeout > 0,
      session: this.session,
      node: this.transport.emulation ? this.node.id : undefined,
      time: config.client_connect_include_server_time ? Date.now() : undefined,
    };
    this.log.debug("client connected", { user: this.user });
    return {
      result: jsonObject(fields),
      after: () => {
        if (this.resume) this.deliverResumed(this.resume);
        for (const sub of this.subs.values()) if (sub.serverSide) this.activate(sub);
        this.schedulePing(true);
        this.scheduleExpiry();
      },
    };
  }

  private async authenticate(req: ConnectRequest): Promise<Credentials> {
    const config = this.node.config;
    if (req.token !== undefined && req.token !== "") {
      if (typeof req.token !== "string") throw new Disconnect(DisconnectCode.BadRequest);
      let claims;
      try {
        claims = await this.node.tokens.verifyConnectToken(req.token);
      } catch (err) {
        throw this.mapTokenError(err, "connection", new ClientError(ErrorCode.TokenExpired));
      }
      if (claims.user === "" && config.disallow_anonymous_connection_tokens) {
        throw new Disconnect(DisconnectCode.PermissionDenied);
      }
      return { ...claims, expireAt: config.client_insecure ? 0 : claims.expireAt };
    }
    if (config.allow_anonymous_connect_without_token || config.client_insecure) {
      return { user: "", expireAt: 0, channels: [], subs: {} };
    }
    this.log.info("client credentials not found");
    throw new Disconnect(DisconnectCode.BadRequest);
  }

  /** Maps token verification failures; `onExpired` differs between connect, refresh and subscribe. */
  mapTokenError(
    err: unknown,
    kind: string,
    onExpired: Error,
    onInvalid: Error = new Disconnect(DisconnectCode.InvalidToken),
  ): Error {
    if (err instanceof TokenExpiredError) return onExpired;
    if (err instanceof TokenVerifierUnavailableError) {
      this.log.error(`cannot verify ${kind} token`, { err });
      return new ClientError(ErrorCode.Internal);
    }
    if (err instanceof InvalidTokenError) {
      this.log.info(`invalid ${kind} token`, { err: err.message });
      return onInvalid;
    }
    this.log.error(`${kind} token verification failed`, { err });
    return new ClientError(ErrorCode.Internal);
  }

  // ---------------------------------------------------------------- subscriptions

  /** Server-side subscriptions from credentials plus permitted ones the client asked for. */
  private async subscribeServerSide(
    creds: Credentials,
    requested: ConnectRequest["subs"],
  ): Promise<Map<string, SubscribeResultFields>> {
    const wanted = new Map<string, { info?: Raw; data?: Raw; override?: SubscribeOverride }>();
    for (const ch of creds.channels) wanted.set(ch, {});
    for (const [ch, opts] of Object.entries(creds.subs)) wanted.set(ch, opts);
    const req = requested !== null && typeof requested === "object" && !Array.isArray(requested)
      ? requested
      : {};
    for (const ch of Object.keys(req)) {
      if (wanted.has(ch)) continue;
      const resolved = this.node.channels.resolve(ch);
      if (!resolved || this.node.channels.invalidName(ch)) throw new Disconnect(DisconnectCode.BadRequest);
      const allowed = this.node.channels.matchesRegex(ch, resolved) &&
        canSubscribeWithoutToken(this, resolved.options, {
          isPrivate: this.node.channels.isPrivate(ch),
          isUserLimited: this.node.channels.isUserLimited(ch),
          userAllowed: this.node.channels.userAllowed(ch, this.user),
        });
      if (allowed) wanted.set(ch, {});
    }
    const limit = this.node.config.client_channel_limit;
    if (limit > 0 && wanted.size > limit) throw new Disconnect(DisconnectCode.ChannelLimit);
    const results = new Map<string, SubscribeResultFields>();
    for (const [channel, opts] of wanted) {
      const resolved = this.node.resolveChannel(channel);
      const sub = new Subscription(channel, resolved, true, opts.override);
      sub.chanInfo = opts.info;
      this.resume?.position(sub);
      const r = (req as Record<string, unknown>)[channel] as Record<string, unknown> | undefined;
      let recovery = recoveryRequestFrom(r);
      if (this.resume) recovery = this.resume.recoveryFor(sub, recovery);
      const fields = await this.prepare(sub, recovery);
      this.resume?.afterPositioning(sub, recovery, fields);
      if (opts.data !== undefined) fields.data = opts.data;
      results.set(channel, fields);
    }
    return results;
  }

  /**
   * Registers `sub`, joins the hub and broker, positions/recovers it and adds presence. The
   * subscription stays "subscribing" (publications are buffered) until `activate` runs after the
   * reply carrying the returned fields has been written.
   */
  async prepare(sub: Subscription, recovery: RecoveryRequest): Promise<SubscribeResultFields> {
    const ch = sub.channel;
    this.subs.set(ch, sub);
    try {
      await this.node.addSubscription(ch, this);
      this.ensureCurrent(sub);
      const fields = await positionSubscription(this, sub, recovery);
      this.ensureCurrent(sub);
      if (sub.presence) {
        await this.node.presenceManager.addPresence(ch, this.id, this.infoFor(sub));
        this.ensureCurrent(sub);
      }
      return fields;
    } catch (err) {
      if (this.subs.get(ch) === sub) await this.removeSubscription(sub);
      throw err;
    }
  }

  private ensureCurrent(sub: Subscription): void {
    if (this.subs.get(sub.channel) !== sub || this.state === "closed") throw new Gone();
  }

  /** Makes a prepared subscription live: flushes what arrived meanwhile, announces the join. */
  activate(sub: Subscription): void {
    if (this.subs.get(sub.channel) !== sub || sub.state === "active") return;
    sub.state = "active";
    const buffered = sub.buffer;
    sub.buffer = [];
    for (const b of buffered) {
      if (this.subs.get(sub.channel) !== sub) break;
      this.sendPublication(sub, b.pub, b.sp, b.push);
    }
    if (sub.joinLeave && this.subs.get(sub.channel) === sub) {
      this.node.broker.publishJoin(sub.channel, this.infoFor(sub)).catch((err) =>
        this.log.error("join publish failed", { channel: sub.channel, err })
      );
    }
    this.scheduleSubExpiry(sub);
  }

  /** Sends what a `Last-Event-ID` resume recovered (one event each), then the reload notices. */
  private deliverResumed(resume: ResumeTracker): void {
    for (const { sub, pubs } of resume.takeRecovered()) this.sendRecovered(sub, pubs);
    for (const notice of resume.takeReloads()) this.writeBytes(reloadEvent(notice));
  }

  /** Recovered publications as ordinary pushes; `sub.offset` must be where the client stands. */
  private sendRecovered(sub: Subscription, pubs: Publication[]): void {
    for (const pub of pubs) {
      if (this.subs.get(sub.channel) !== sub) return;
      this.sendPublication(
        sub,
        pub,
        { offset: pub.offset ?? 0, epoch: sub.epoch },
        publicationPush(sub.channel, pub),
      );
    }
  }

  // ---------------------------------------------------------------- server API on this connection

  async serverSubscribe(opts: ServerSubscribeOptions): Promise<void> {
    if (this.state !== "connected" || this.subs.has(opts.channel)) return;
    const limit = this.node.config.client_channel_limit;
    if (limit > 0 && this.subs.size >= limit) {
      this.log.info("server-side subscribe over the channel limit", { channel: opts.channel });
      return;
    }
    const resolved = this.node.resolveChannel(opts.channel);
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
        this.log.error("server-side subscribe failed", { channel: opts.channel, err });
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
    if (this.resume && sub.positioned) this.writeBytes(this.resume.idLine(this.subs.values()));
    this.writePush(`{"channel":${JSON.stringify(opts.channel)},"subscribe":${body}}`);
    this.sendRecovered(sub, recovered);
    this.activate(sub);
  }

  async serverUnsubscribe(channel: string): Promise<void> {
    const sub = this.subs.get(channel);
    if (!sub) return;
    this.writePush(unsubscribePushBody(channel, 2000, unsubscribeReasons[2000]));
    await this.removeSubscription(sub);
  }

  serverRefresh(opts: ServerRefreshOptions): void {
    if (this.state !== "connected") return;
    if (opts.expired) {
      this.disconnectNow(DisconnectCode.Expired, "connection expired");
      return;
    }
    if (opts.expireAt !== undefined) this.expireAt = opts.expireAt;
    if (opts.info !== undefined) this.connInfo = opts.info;
    this.scheduleExpiry();
    if (this.transport.unidirectional) {
      const ttl = this.expireAt > 0 ? Math.max(0, this.expireAt - Math.floor(Date.now() / 1000)) : 0;
      this.writePush(`{"refresh":${jsonObject({ expires: this.expireAt > 0, ttl })}}`);
    }
  }

  /** Removes a subscription and everything it holds (hub, broker, presence, join → leave). */
  async removeSubscription(sub: Subscription): Promise<void> {
    if (this.subs.get(sub.channel) !== sub) return;
    this.subs.delete(sub.channel);
    this.resume?.forget(sub);
    this.subTimers.get(sub.channel)?.cancel();
    this.subTimers.delete(sub.channel);
    const ch = sub.channel;
    const info = this.infoFor(sub);
    const tasks: Promise<unknown>[] = [this.node.removeSubscription(ch, this)];
    if (sub.presence) tasks.push(this.node.presenceManager.removePresence(ch, this.id, this.user));
    if (sub.joinLeave && sub.state === "active") tasks.push(this.node.broker.publishLeave(ch, info));
    const results = await Promise.allSettled(tasks);
    for (const r of results) {
      if (r.status === "rejected") {
        this.log.error("unsubscribe cleanup failed", { channel: ch, err: r.reason });
      }
    }
  }

  /** Server-initiated unsubscribe of a client-side subscription (the SDK resubscribes for ≥ 2500). */
  unsubscribeWithPush(sub: Subscription, code: number): void {
    void this.removeSubscription(sub);
    this.writePush(unsubscribePushBody(sub.channel, code, unsubscribeReasons[code] ?? "unsubscribe"));
  }

  deliverPublication(channel: string, pub: Publication, sp: StreamPosition, push: PreparedPush): void {
    const sub = this.subs.get(channel);
    if (!sub) return;
    if (sub.state === "subscribing") {
      if (sub.buffer.length >= MAX_BUFFERED_PUBLICATIONS) {
        this.disconnectNow(DisconnectCode.Slow, "slow");
        return;
      }
      sub.buffer.push({ pub, sp, push });
      return;
    }
    this.sendPublication(sub, pub, sp, push);
  }

  private sendPublication(sub: Subscription, pub: Publication, sp: StreamPosition, push: PreparedPush): void {
    switch (checkContinuity(sub, pub, sp)) {
      case "skip":
        return;
      case "gap":
        this.log.info("insufficient state", { channel: sub.channel, offset: pub.offset, last: sub.offset });
        if (sub.serverSide) this.disconnectNow(DisconnectCode.InsufficientState, "insufficient state");
        else this.unsubscribeWithPush(sub, 2500);
        return;
      default:
        if (this.resume && sub.positioned) this.writeBytes(this.resume.idLine(this.subs.values()));
        this.writeBytes(push.bytesFor(this.transport.shape));
    }
  }

  deliverJoinLeave(channel: string, _kind: "join" | "leave", push: PreparedPush): void {
    const sub = this.subs.get(channel);
    if (sub && sub.state === "active" && sub.pushJoinLeave) {
      this.writeBytes(push.bytesFor(this.transport.shape));
    }
  }

  infoFor(sub?: Subscription) {
    return clientInfoFor(this.user, this.id, this.connInfo, sub?.chanInfo);
  }

  refreshPresence(): void {
    for (const sub of this.subs.values()) {
      if (sub.presence && sub.state === "active") {
        this.node.presenceManager.addPresence(sub.channel, this.id, this.infoFor(sub)).catch((err) =>
          this.log.error("presence update failed", { channel: sub.channel, err })
        );
      }
    }
  }

  private subscribeCommand = (req: Command["subscribe"] & object) => commands.subscribe(this, req);

  private async unsubscribeCommand(req: { channel: string }): Promise<Outcome> {
    const channel = commands.requireChannel(req);
    const sub = this.subs.get(channel);
    if (sub) await this.removeSubscription(sub);
    return { result: "{}" };
  }

  // ---------------------------------------------------------------- refresh and expiry

  private async refreshCommand(req: { token: string }): Promise<Outcome> {
    if (typeof req.token !== "string" || req.token === "") throw new Disconnect(DisconnectCode.BadRequest);
    let claims;
    try {
      claims = await this.node.tokens.verifyConnectToken(req.token);
    } catch (err) {
      throw this.mapTokenError(err, "refresh", new Disconnect(DisconnectCode.Expired));
    }
    if (claims.user !== this.user) {
      this.log.info("refresh token user mismatch");
      throw new Disconnect(DisconnectCode.InvalidToken);
    }
    const now = Math.floor(Date.now() / 1000);
    const expireAt = this.insecure ? 0 : claims.expireAt;
    if (expireAt > 0 && expireAt <= now) throw new ClientError(ErrorCode.Expired);
    this.expireAt = expireAt;
    if (claims.info !== undefined) this.connInfo = claims.info;
    this.scheduleExpiry();
    return {
      result: jsonObject({
        client: this.id,
        version: this.node.version,
        expires: expireAt > 0,
        ttl: expireAt > 0 ? expireAt - now : 0,
      }),
    };
  }

  private subRefreshCommand = (req: { channel: string; token: string }) => commands.subRefresh(this, req);

  private scheduleExpiry(): void {
    this.expireTimer?.cancel();
    this.expireTimer = undefined;
    if (this.expireAt <= 0) return;
    const delay = this.expireAt * 1000 - Date.now() + this.node.config.client_expired_close_delay;
    this.expireTimer = this.node.timers.schedule(delay, () => {
      if (this.state !== "connected") return;
      if (this.expireAt > 0 && this.expireAt * 1000 <= Date.now()) {
        this.disconnectNow(DisconnectCode.Expired, "connection expired");
      } else {
        this.scheduleExpiry();
      }
    });
  }

  scheduleSubExpiry(sub: Subscription): void {
    this.subTimers.get(sub.channel)?.cancel();
    this.subTimers.delete(sub.channel);
    if (sub.expireAt <= 0) return;
    const delay = sub.expireAt * 1000 - Date.now() + this.node.config.client_expired_sub_close_delay;
    this.subTimers.set(
      sub.channel,
      this.node.timers.schedule(delay, () => {
        if (this.subs.get(sub.channel) !== sub) return;
        if (sub.expireAt * 1000 > Date.now()) return this.scheduleSubExpiry(sub);
        if (sub.serverSide) this.disconnectNow(DisconnectCode.SubExpired, "subscription expired");
        else this.unsubscribeWithPush(sub, 2501);
      }),
    );
  }

  // ---------------------------------------------------------------- ping / pong

  private schedulePing(first = false): void {
    const interval = this.node.config.ping_interval;
    if (interval <= 0 || this.state !== "connected") return;
    // The first ping lands at a random point in [interval/2, interval] to spread the load.
    const delay = first ? interval / 2 + Math.random() * (interval / 2) : interval;
    this.pingTimer = this.node.timers.schedule(delay, () => this.sendPing());
  }

  private sendPing(): void {
    if (this.state !== "connected") return;
    this.writeBytes(this.transport.pingBytes);
    const pongTimeout = this.node.config.pong_timeout;
    if (!this.transport.unidirectional && pongTimeout > 0) {
      this.awaitingPong = true;
      this.pongTimer?.cancel();
      this.pongTimer = this.node.timers.schedule(pongTimeout, () => {
        if (this.awaitingPong && this.state === "connected") {
          this.log.info("no pong");
          this.disconnectNow(DisconnectCode.NoPong, "no pong");
        }
      });
    }
    this.schedulePing();
  }

  // ---------------------------------------------------------------- teardown

  /** Releases hub entries, subscriptions, presence and timers. Idempotent; never writes. */
  private release(): void {
    for (const t of [this.pingTimer, this.pongTimer, this.expireTimer, this.staleTimer]) t?.cancel();
    for (const t of this.subTimers.values()) t.cancel();
    this.subTimers.clear();
    if (this.released) return;
    this.released = true;
    for (const sub of [...this.subs.values()]) void this.removeSubscription(sub);
    this.node.hub.remove(this);
  }
}

function recoveryRequestFrom(r: Record<string, unknown> | undefined): RecoveryRequest {
  return {
    recover: r?.recover === true,
    offset: typeof r?.offset === "number" && Number.isInteger(r.offset) && r.offset >= 0 ? r.offset : 0,
    epoch: typeof r?.epoch === "string" ? r.epoch : "",
    rejectUnrecovered: false,
  };
}

export { recoveryRequestFrom };

function encodeSubsMap(subs: Map<string, SubscribeResultFields>): string {
  const parts: string[] = [];
  for (const [ch, fields] of subs) {
    parts.push(`${JSON.stringify(ch)}:${commands.encodeSubscribeFields(fields)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * Unidirectional clients cannot read error replies: connect errors become disconnects, as in
 * Centrifugo (109/110 → 3005, 111 → 3013, 103 → 3507, anything else → 3004).
 */
function unidirectionalDisconnect(err: unknown, log: Logger): Disconnect {
  if (isDisconnect(err)) return err;
  if (isClientError(err)) {
    switch (err.code) {
      case ErrorCode.TokenExpired:
      case ErrorCode.Expired:
        return new Disconnect(DisconnectCode.Expired);
      case ErrorCode.TooManyRequests:
        return new Disconnect(DisconnectCode.TooManyRequests);
      case ErrorCode.PermissionDenied:
        return new Disconnect(DisconnectCode.PermissionDenied);
      default:
        return new Disconnect(DisconnectCode.InternalServerError);
    }
  }
  log.error("connect failed", { err });
  return new Disconnect(DisconnectCode.InternalServerError);
}
