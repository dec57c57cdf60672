/**
 * @module
 * One connected session: the protocol state machine of a client on any transport.
 *
 * Every frame a bidirectional client sends enters through `receive` and is decoded there, once —
 * the body that opened the stream (its connect command first) and every `/emulation` request.
 * Commands run one at a time in arrival order (a per-connection chain), except pongs, which only
 * touch a flag; each is dispatched through the `COMMANDS` table by method. Handlers answer by
 * returning a result (written as the reply), throwing a `ClientError` (error reply, connection
 * stays) or a `Disconnect` (connection closes with a code). Anything else is logged and answered
 * with 100, so no input can crash the process. The handlers, the connect step
 * (`client_connect.ts`) and the subscriptions (`ClientChannels`) work against `Connection`
 * (`connection.ts`), which this class implements.
 */
import type { Node, ServerRefreshOptions, ServerSubscribeOptions } from "./node.ts";
import type { PreparedPush } from "./codec.ts";
import {
  CommandDecodeError,
  commandMethod,
  decodeCommands,
  disconnectPushBody,
  encodeErrorReply,
  encodeReply,
  frame,
  jsonObject,
  utf8Length,
} from "./codec.ts";
import type { Command, ConnectRequest, Publication, Raw, StreamPosition } from "../wire/protocol.ts";
import { ClientError, DisconnectCode, ErrorCode, isClientError, isDisconnect } from "../errors.ts";
import type { TimerHandle } from "./timers.ts";
import type { Logger } from "../log.ts";
import { clientInfoFor, type Subscription } from "./subscription.ts";
import { COMMANDS } from "./client_commands.ts";
import { decodeProtobufCommands, protobufReplyFromJson } from "./codec_protobuf.ts";
import type { ResolvedChannel } from "./channel.ts";
import { ResumeTracker } from "./resume.ts";
import { ClientChannels } from "./client_channels.ts";
import { connect, unidirectionalDisconnect } from "./client_connect.ts";
import {
  type ClientRequestInfo,
  type ClientTransport,
  type Connection,
  type ConnectionState,
  Gone,
  NO_EMULATED_HEADERS,
  NO_REQUEST_HEADERS,
  type OutgoingMessage,
} from "./connection.ts";
import { type ClientContext, refreshExtension, type RefreshResult } from "./hooks.ts";
import { jsonText } from "../wire/json.ts";

export type { ClientRequestInfo, ClientTransport, Outcome } from "./connection.ts";

/** Commands a connection may have waiting before it is considered abusive. */
const MAX_PENDING_COMMANDS = 256;
const encoder = new TextEncoder();
/** Invalid UTF-8 in a JSON frame is a malformed frame, not replacement characters. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** The idle command chain, shared: one settled promise instead of one per connection. */
const RESOLVED: Promise<void> = Promise.resolve();
/** How soon a failed `onRefresh` is tried again. */
const REFRESH_RETRY_MS = 10_000;

export class Client implements Connection {
  readonly id: string = crypto.randomUUID();
  session = "";
  user = "";
  state: ConnectionState = "connecting";
  connInfo?: Raw;
  meta?: Raw;
  /** Unix seconds; 0 = never expires. */
  expireAt = 0;
  clientName = "";
  clientVersion = "";
  /** "Emulated" headers from the connect request (SDK `headers` option). */
  emulatedHeaders: Readonly<Record<string, string>> = NO_EMULATED_HEADERS;
  readonly channels: ClientChannels;
  private chain: Promise<void> = RESOLVED;
  private pending = 0;
  /**
   * A ping was sent and no pong has come back: the pong timer closes the connection while it is
   * so, and a pong otherwise is a bad request.
   */
  private pingOutstanding = false;
  private released = false;
  /** The first frame (which must carry connect) has arrived. */
  private connectSeen = false;
  private pingTimer?: TimerHandle;
  private pongTimer?: TimerHandle;
  private expireTimer?: TimerHandle;
  private staleTimer?: TimerHandle;

  /** Frames and bytes written on this transport (shared by its connections, read by /metrics). */
  private readonly sent: { count: number; bytes: number };

  /** The request's headers; let go once connected when no hook can read them (`Connection`). */
  requestHeaders: Headers;
  readonly conn?: { readonly remoteAddr?: string };

  /**
   * `request` is read here and not kept: its two fields are the client's own (one object less
   * per connection; the last event id only matters to the resume tracker made now).
   */
  constructor(readonly node: Node, readonly transport: ClientTransport, request: ClientRequestInfo) {
    this.requestHeaders = request.headers;
    this.conn = request.conn;
    this.sent = node.metrics.transportCounts(transport.name);
    const resume = transport.eventIds ? ResumeTracker.for(request.lastEventId) : undefined;
    this.channels = new ClientChannels(this, resume);
  }

  /**
   * This connection's logger, made for each use and not kept: every connection logs its connect
   * and its end (at debug level, usually filtered out), and a logger kept from the connect on
   * cost an idle connection ~150 bytes (the logger and its fields) for nothing.
   */
  get log(): Logger {
    return this.node.log.child({ client: this.id, transport: this.transport.name });
  }

  /** A debug line: with debug off (the usual case) no logger is made for it. */
  debug(msg: string, fields?: Record<string, unknown>): void {
    if (this.node.log.enabled("debug")) this.log.debug(msg, fields);
  }

  /** Bidirectional SSE / HTTP streaming: commands come in `/emulation` requests, by session. */
  get commandsBySession(): boolean {
    return this.transport.emulation;
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
    return this.channels.isActive(channel);
  }

  infoFor(sub?: Subscription) {
    return clientInfoFor(this.user, this.id, this.connInfo, sub?.chanInfo);
  }

  private contextCache?: { info?: Raw; meta?: Raw; user: string; value: ClientContext };

  /** The connection as plugin hooks see it (info and meta parsed once per change). */
  context(): ClientContext {
    const c = this.contextCache;
    if (c && c.info === this.connInfo && c.meta === this.meta && c.user === this.user) return c.value;
    const value: ClientContext = {
      id: this.id,
      user: this.user,
      transport: this.transport.name,
      protocol: this.transport.protobuf ? "protobuf" : "json",
      info: this.connInfo === undefined ? undefined : JSON.parse(this.connInfo),
      meta: this.meta === undefined ? undefined : JSON.parse(this.meta),
      headers: this.requestHeaders,
      emulatedHeaders: this.emulatedHeaders,
    };
    this.contextCache = { info: this.connInfo, meta: this.meta, user: this.user, value };
    return value;
  }

  // ---------------------------------------------------------------- entry points

  /**
   * Every frame of commands a bidirectional client sends — the body that opened the stream
   * (which must start with connect) and each `/emulation` request — decoded here, once. False
   * when this connection takes no commands (a unidirectional one, whose session id exists for
   * the server API): the request is then answered as if the session did not exist.
   */
  receive(data: string | Uint8Array): boolean {
    if (this.transport.unidirectional) return false;
    if (this.state === "closed") return true;
    let cmds: Command[];
    try {
      // The protocol is the connection's, not the frame's: Centrifugo reads a binary WebSocket
      // message of a JSON connection as JSON text (and a text one of a protobuf connection as bytes).
      if (this.transport.protobuf) {
        cmds = decodeProtobufCommands(typeof data === "string" ? encoder.encode(data) : data);
      } else {
        cmds = decodeCommands(typeof data === "string" ? data : strictUtf8.decode(data));
      }
    } catch (err) {
      this.log.info("malformed command", { err: (err as CommandDecodeError).message });
      this.disconnectNow(DisconnectCode.BadRequest, "bad request");
      return true;
    }
    if (!this.connectSeen) {
      this.connectSeen = true;
      const first = cmds.shift();
      if (!first || commandMethod(first) !== "connect" || !first.id) {
        this.log.info("first command must be connect", { method: first ? commandMethod(first) : undefined });
        this.disconnectNow(DisconnectCode.BadRequest, "bad request");
        return true;
      }
      this.enqueue(() => this.connectBidirectional(first.id, first.connect!));
    }
    for (const cmd of cmds) {
      // As Centrifugo: any command without an id (but send) is a pong, answered out of order (never
      // queued behind slow commands); a pong to no ping is a bad request.
      if (!cmd.id && cmd.send === undefined) {
        if (!this.pingOutstanding) {
          this.log.info("pong without a ping");
          this.disconnectNow(DisconnectCode.BadRequest, "bad request");
          return true;
        }
        this.pingOutstanding = false;
        continue;
      }
      if (this.pending >= MAX_PENDING_COMMANDS) {
        this.log.warn("too many pending commands");
        this.disconnectNow(DisconnectCode.TooManyRequests, "too many requests");
        return true;
      }
      this.enqueue(() => this.dispatch(cmd));
    }
    return true;
  }

  /** Unidirectional start: a bare ConnectRequest, answered with a connect push. */
  startUnidirectional(req: ConnectRequest): Promise<void> {
    return this.enqueue(() => this.connectUnidirectional(req));
  }

  /** The client went away (stream cancelled or request aborted): release everything, write nothing. */
  transportGone(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.release(DisconnectCode.ConnectionClosed, "connection closed");
    this.debug("client gone");
  }

  /** Closes the connection with a disconnect push (unless the transport is already gone). */
  disconnectNow(code: number, reason: string): void {
    const wasClosed = this.state === "closed";
    this.state = "closed";
    if (!wasClosed && code !== DisconnectCode.ConnectionClosed) this.node.metrics.serverDisconnect(code);
    this.release(code, reason);
    if (this.transport.isClosed) return;
    if (code === DisconnectCode.Slow) {
      // The queue is what is slow: flushing it (or adding to it) would not help.
      this.transport.abort();
    } else {
      if (code !== DisconnectCode.ConnectionClosed && !this.transport.disconnectInClose) {
        this.writePush(disconnectPushBody(code, reason));
      }
      this.transport.close(code, reason);
    }
    if (!wasClosed) this.debug("disconnected", { code, reason });
  }

  // ---------------------------------------------------------------- writing

  /** Writes one message given as JSON text: kept as text on a text transport, else encoded. */
  writeJson(json: string): void {
    const transport = this.transport;
    if (transport.text) this.send(json, utf8Length(json));
    else this.writeBytes(transport.protobuf ? protobufReplyFromJson(json) : frame(json, transport.framing));
  }

  /** Writes a push body, wrapped in `{"push":…}` on bidirectional transports. */
  writePush(body: string): void {
    this.writeJson(this.transport.unidirectional ? body : `{"push":${body}}`);
  }

  /** A push prepared once for all its receivers: the shared text, or the shared bytes of this shape. */
  writePrepared(push: PreparedPush): void {
    const transport = this.transport;
    if (transport.text) {
      this.send(push.textFor(transport.unidirectional), push.textBytes(transport.unidirectional));
    } else {
      this.writeBytes(push.bytesFor(transport.shape));
    }
  }

  writeBytes(bytes: Uint8Array): void {
    this.send(bytes, bytes.byteLength);
  }

  private send(message: OutgoingMessage, size: number): void {
    if (this.transport.isClosed) return;
    this.sent.count++;
    this.sent.bytes += size;
    if (!this.transport.write(message, size)) {
      this.log.info("client queue over its limit", { limit: this.node.config.client_queue_max_size });
      this.disconnectNow(DisconnectCode.Slow, "slow");
    }
  }

  // ---------------------------------------------------------------- hub and node callbacks

  deliverPublication(channel: string, pub: Publication, sp: StreamPosition, push: PreparedPush): void {
    this.channels.deliverPublication(channel, pub, sp, push);
  }

  deliverJoinLeave(channel: string, _kind: "join" | "leave", push: PreparedPush): void {
    this.channels.deliverJoinLeave(channel, push);
  }

  refreshPresence(): void {
    this.channels.refreshPresence();
  }

  checkPosition(channel: string, top: StreamPosition): void {
    this.channels.checkPosition(channel, top);
  }

  serverSubscribe(opts: ServerSubscribeOptions): Promise<void> {
    return this.channels.serverSubscribe(opts);
  }

  serverUnsubscribe(channel: string): Promise<void> {
    return this.channels.serverUnsubscribe(channel);
  }

  serverRefresh(opts: ServerRefreshOptions): void {
    if (this.state !== "connected") return;
    if (opts.expired) {
      this.disconnectNow(DisconnectCode.Expired, "connection expired");
      return;
    }
    if (opts.expireAt !== undefined) this.expireAt = opts.expireAt;
    if (opts.info !== undefined) this.connInfo = opts.info;
    if (this.expireAt > 0 && this.expireAt * 1000 <= this.node.now()) {
      // The close delay pads expiries to come, not ones already past.
      this.disconnectNow(DisconnectCode.Expired, "connection expired");
      return;
    }
    this.scheduleExpiry();
    // Every transport is told, as Centrifugo's server-side refresh does (the SDKs update their expiry).
    this.sendRefreshPush();
  }

  // ---------------------------------------------------------------- command processing

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.pending++;
    const run: Promise<void> = this.chain.then(fn).catch((err) => {
      this.log.error("command processing failed", { err });
    }).finally(() => {
      // Idle again: back to the shared settled promise, so an idle connection keeps none.
      if (--this.pending === 0 && this.chain === run) this.chain = RESOLVED;
    });
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
    const started = performance.now();
    let errorCode: number | undefined;
    try {
      const outcome = await COMMANDS[method](this, cmd[method]);
      if (this.state !== "connected") return;
      this.writeJson(encodeReply(cmd.id, method, outcome.result));
      outcome.after?.();
    } catch (err) {
      errorCode = this.answerError(cmd.id, method, err);
    } finally {
      this.node.metrics.command(method, (performance.now() - started) / 1000, errorCode);
    }
  }

  /** Answers a failed command; returns the error code the client got (for metrics), if any. */
  private answerError(id: number, method: string, err: unknown): number | undefined {
    if (err instanceof Gone) return undefined;
    if (isDisconnect(err)) {
      this.log.info("disconnect from command", { method, code: err.code, reason: err.reason });
      this.disconnectNow(err.code, err.reason);
      return err.code;
    }
    if (isClientError(err)) {
      this.debug("command error", { method, code: err.code, message: err.message });
      this.writeJson(encodeErrorReply(id, err));
      return err.code;
    }
    this.log.error("command failed", { method, err });
    this.writeJson(encodeErrorReply(id, new ClientError(ErrorCode.Internal)));
    return ErrorCode.Internal;
  }

  // ---------------------------------------------------------------- connect

  private async connectBidirectional(id: number, req: ConnectRequest): Promise<void> {
    try {
      const { result, after } = await connect(this, req);
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
      const { result, after } = await connect(this, req);
      if (this.state !== "connected") return;
      this.channels.writeEventId();
      this.writePush(`{"connect":${result}}`);
      after?.();
    } catch (err) {
      if (this.state === "closed" || err instanceof Gone) return;
      this.release();
      const d = unidirectionalDisconnect(err, this.log);
      this.log.info("connect refused", { code: d.code, reason: d.reason, err: (err as Error)?.message });
      this.disconnectNow(d.code, d.reason);
    }
  }

  /** Right after the connect reply/push: subscriptions go live, timers start, plugins hear of it. */
  connected(): void {
    this.node.metrics.connectionOpened(this.transport.name);
    this.channels.activateServerSide();
    this.schedulePing(true);
    this.scheduleExpiry();
    if (this.node.hooks.has("onConnect")) {
      this.node.hooks.observe("onConnect", { client: this.context() }, this.id);
    }
    if (!this.node.keepsRequestHeaders) this.requestHeaders = NO_REQUEST_HEADERS;
  }

  // ---------------------------------------------------------------- refresh and expiry

  extendExpiry(expireAt: number, info?: Raw): void {
    this.expireAt = expireAt;
    if (info !== undefined) this.connInfo = info;
    this.scheduleExpiry();
  }

  private scheduleExpiry(): void {
    this.expireTimer?.cancel();
    this.expireTimer = undefined;
    if (this.expireAt <= 0) return;
    if (this.node.hooks.serverRefresh.connections) {
      this.expireTimer = this.node.timers.schedule(
        this.expireAt * 1000 - this.node.now(),
        () => void this.refreshByHook(),
      );
      return;
    }
    const delay = this.expireAt * 1000 - this.node.now() + this.node.config.client_expired_close_delay;
    this.expireTimer = this.node.timers.schedule(delay, () => {
      if (this.state !== "connected") return;
      if (this.expireAt > 0 && this.expireAt * 1000 <= this.node.now()) {
        this.disconnectNow(DisconnectCode.Expired, "connection expired");
      } else {
        this.scheduleExpiry();
      }
    });
  }

  /**
   * Server-side refresh through `onRefresh` at expiry: extend, end (3005), or — when the hook
   * fails — keep the connection and ask again shortly, as Centrifugo does with its refresh proxy.
   */
  private async refreshByHook(): Promise<void> {
    if (this.state !== "connected") return;
    let result: RefreshResult | undefined;
    try {
      result = await this.node.hooks.decide(
        "onRefresh",
        (signal) => ({ client: this.context(), signal }),
        this.id,
      );
    } catch (err) {
      if (isDisconnect(err)) return this.disconnectNow(err.code, err.reason);
      this.log.info("refresh hook failed; retrying", { err: (err as Error).message });
      this.expireTimer = this.node.timers.schedule(REFRESH_RETRY_MS, () => void this.refreshByHook());
      return;
    }
    if (this.state !== "connected") return;
    const extended = refreshExtension(result, this.node.now());
    if (!extended) return this.disconnectNow(DisconnectCode.Expired, "connection expired");
    if (extended.info !== undefined) this.connInfo = jsonText(extended.info);
    if (extended.meta !== undefined) this.meta = jsonText(extended.meta);
    this.expireAt = extended.expireAt;
    // No refresh push here, even to unidirectional clients: Centrifugo sends one only for the
    // server API's refresh, not for its refresh proxy.
    this.scheduleExpiry();
  }

  private sendRefreshPush(): void {
    const ttl = this.expireAt > 0 ? Math.max(0, this.expireAt - Math.floor(this.node.now() / 1000)) : 0;
    this.writePush(`{"refresh":${jsonObject({ expires: this.expireAt > 0, ttl })}}`);
  }

  // ---------------------------------------------------------------- ping / pong

  private schedulePing(first = false): void {
    const interval = this.node.config.ping_interval;
    if (interval <= 0 || this.state !== "connected") return;
    // The first ping lands at a random point in [interval/2, interval] to spread the load.
    const delay = first ? interval / 2 + Math.random() * (interval / 2) : interval;
    this.pingTimer = this.node.timers.schedule(delay, this.sendPing, this);
  }

  private sendPing(): void {
    if (this.state !== "connected") return;
    const ping = this.transport.ping;
    this.send(ping, typeof ping === "string" ? utf8Length(ping) : ping.byteLength);
    if (!this.transport.unidirectional) this.pingOutstanding = true;
    const pongTimeout = this.node.config.pong_timeout;
    if (!this.transport.unidirectional && pongTimeout > 0) {
      this.pongTimer?.cancel();
      this.pongTimer = this.node.timers.schedule(pongTimeout, () => {
        if (this.pingOutstanding && this.state === "connected") {
          this.log.info("no pong");
          this.disconnectNow(DisconnectCode.NoPong, "no pong");
        }
      });
    }
    this.schedulePing();
  }

  // ---------------------------------------------------------------- teardown

  /**
   * Releases hub entries, subscriptions, presence and timers. Idempotent; never writes. With a
   * code, a connection that was registered reports `onDisconnect` to plugins.
   */
  private release(code?: number, reason = ""): void {
    for (const t of [this.pingTimer, this.pongTimer, this.expireTimer, this.staleTimer]) t?.cancel();
    if (this.released) return;
    this.released = true;
    const registered = this.node.hub.has(this);
    this.channels.removeAll();
    this.node.hub.remove(this);
    if (registered) this.node.metrics.connectionClosed(this.transport.name);
    if (registered && code !== undefined && this.node.hooks.has("onDisconnect")) {
      this.node.hooks.observe("onDisconnect", { client: this.context(), code, reason }, this.id);
    }
  }
}
