/**
 * @module
 * The connect step shared by every transport: authenticate (token or anonymous policy), register
 * the connection, set up its server-side subscriptions, and build the connect result. Also the
 * mapping of token errors to Centrifugo's codes and of connect errors to disconnects for
 * unidirectional clients.
 */
import { Gone, NO_EMULATED_HEADERS, type Outcome } from "./connection.ts";
import type { ChannelledConnection } from "./client_channels.ts";
import {
  encodeSubscribeResult,
  type RecoveryRequest,
  type SubscribeResultFields,
  Subscription,
} from "./subscription.ts";
import { jsonObject, raw } from "./codec.ts";
import type { ConnectRequest, Raw } from "../wire/protocol.ts";
import { canSubscribeWithoutToken } from "./permissions.ts";
import type { SubscribeOverride } from "../auth/jwt.ts";
import { InvalidTokenError, TokenExpiredError, TokenVerifierUnavailableError } from "../auth/jwt.ts";
import {
  ClientError,
  Disconnect,
  DisconnectCode,
  ErrorCode,
  isClientError,
  isDisconnect,
} from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ConnectingResult } from "./hooks.ts";
import { jsonText } from "../wire/json.ts";

export interface Credentials {
  user: string;
  /** Unix seconds, 0 = never. */
  expireAt: number;
  info?: Raw;
  meta?: Raw;
  data?: Raw;
  channels: string[];
  subs: Record<string, { info?: Raw; data?: Raw; override?: SubscribeOverride }>;
  /** From an `onConnecting` hook: its channels are final (client-requested ones are not added). */
  fromHook?: boolean;
}

/** Authenticates and registers the connection; returns the connect result (JSON) and what follows it. */
export async function connect(client: ChannelledConnection, req: ConnectRequest): Promise<Outcome> {
  if (req === null || typeof req !== "object") throw new Disconnect(DisconnectCode.BadRequest);
  for (const key of ["name", "version"] as const) {
    if (req[key] !== undefined && typeof req[key] !== "string") {
      throw new Disconnect(DisconnectCode.BadRequest);
    }
  }
  client.clientName = (req.name ?? "").slice(0, 64);
  client.clientVersion = (req.version ?? "").slice(0, 64);
  client.emulatedHeaders = emulatedHeadersOf(req);
  const { node, transport } = client;
  const config = node.config;
  const creds = await authenticate(client, req);
  const now = Math.floor(client.node.now() / 1000);
  if (creds.expireAt > 0 && creds.expireAt <= now) throw new ClientError(ErrorCode.Expired);
  const limit = config.client_user_connection_limit;
  if (limit > 0 && creds.user !== "" && node.hub.userConnections(creds.user).length >= limit) {
    throw new Disconnect(DisconnectCode.ConnectionLimit);
  }
  if (client.state !== "connecting") throw new Gone();
  client.user = creds.user;
  client.connInfo = creds.info;
  client.meta = creds.meta;
  client.expireAt = creds.expireAt;
  if (transport.emulation || transport.unidirectional) client.session = crypto.randomUUID();
  node.hub.add(client);
  client.state = "connected";
  const serverSubs = await subscribeServerSide(client, creds, req.subs);
  // When a plugin refreshes connections on the server (onRefresh), the SDK is not asked to.
  const clientSideRefresh = client.expireAt > 0 && !node.hooks.serverRefresh.connections;
  const fields: Record<string, unknown> = {
    client: client.id,
    version: node.version,
    expires: clientSideRefresh,
    ttl: clientSideRefresh ? client.expireAt - now : 0,
    data: raw(creds.data),
    subs: serverSubs.size > 0 ? raw(encodeSubsMap(serverSubs)) : undefined,
    ping: Math.floor(config.ping_interval / 1000),
    pong: !transport.unidirectional && config.ping_interval > 0 && config.pong_timeout > 0,
    session: client.session,
    node: transport.emulation ? node.id : undefined,
    time: config.client_connect_include_server_time ? Date.now() : undefined,
  };
  client.debug("client connected", { user: client.user });
  return { result: jsonObject(fields), after: () => client.connected() };
}

async function authenticate(client: ChannelledConnection, req: ConnectRequest): Promise<Credentials> {
  const config = client.node.config;
  const hooks = client.node.hooks;
  if (hooks.has("onConnecting")) {
    const requested = req.subs !== null && typeof req.subs === "object" && !Array.isArray(req.subs)
      ? Object.keys(req.subs)
      : [];
    const result = await hooks.decide(
      "onConnecting",
      (signal) => ({
        client: {
          id: client.id,
          transport: client.transport.name,
          headers: client.requestHeaders,
          remoteAddr: client.conn?.remoteAddr,
        },
        token: typeof req.token === "string" && req.token !== "" ? req.token : undefined,
        data: req.data,
        name: client.clientName,
        version: client.clientVersion,
        channels: requested,
        // The event's own (mutable) record, never the frozen shared one.
        emulatedHeaders: { ...client.emulatedHeaders },
        protocol: client.transport.protobuf ? "protobuf" : "json",
        encoding: "json",
        signal,
      }),
      client.id,
    );
    if (result) return credentialsFromHook(result);
  }
  if (req.token !== undefined && req.token !== "") {
    if (typeof req.token !== "string") throw new Disconnect(DisconnectCode.BadRequest);
    let claims;
    try {
      claims = await client.node.tokens.verifyConnectToken(req.token);
    } catch (err) {
      throw mapTokenError(client.log, err, "connection", new ClientError(ErrorCode.TokenExpired));
    }
    if (claims.user === "" && config.disallow_anonymous_connection_tokens) {
      throw new Disconnect(DisconnectCode.PermissionDenied);
    }
    return { ...claims, expireAt: config.client_insecure ? 0 : claims.expireAt };
  }
  if (config.allow_anonymous_connect_without_token || config.client_insecure) {
    return { user: "", expireAt: 0, channels: [], subs: {} };
  }
  client.log.info("client credentials not found");
  throw new Disconnect(DisconnectCode.BadRequest);
}

/** A channel subscribed without info, data or override (shared: read, never changed). */
const NO_OPTIONS = Object.freeze({});

/** Server-side subscriptions from the credentials, plus permitted ones the client asked for. */
async function subscribeServerSide(
  client: ChannelledConnection,
  creds: Credentials,
  requested: ConnectRequest["subs"],
): Promise<Map<string, SubscribeResultFields>> {
  const { node } = client;
  const rules = node.channels;
  const resume = client.channels.resume;
  const wanted = new Map<string, { info?: Raw; data?: Raw; override?: SubscribeOverride }>();
  for (const ch of creds.channels) wanted.set(ch, NO_OPTIONS);
  for (const [ch, opts] of Object.entries(creds.subs)) wanted.set(ch, opts);
  const req = requested !== null && typeof requested === "object" && !Array.isArray(requested)
    ? requested
    : {};
  for (const ch of creds.fromHook ? [] : Object.keys(req)) {
    if (wanted.has(ch)) continue;
    const resolved = rules.resolve(ch);
    if (!resolved || rules.invalidName(ch)) throw new Disconnect(DisconnectCode.BadRequest);
    const allowed = rules.matchesRegex(ch, resolved) &&
      canSubscribeWithoutToken(client, resolved.options, {
        isPrivate: rules.isPrivate(ch),
        isUserLimited: rules.isUserLimited(ch),
        userAllowed: rules.userAllowed(ch, client.user),
      });
    if (allowed) wanted.set(ch, NO_OPTIONS);
  }
  const limit = node.config.client_channel_limit;
  if (limit > 0 && wanted.size > limit) throw new Disconnect(DisconnectCode.ChannelLimit);
  const results = new Map<string, SubscribeResultFields>();
  for (const [channel, opts] of wanted) {
    const sub = new Subscription(channel, node.resolveChannel(channel), true, opts.override);
    sub.chanInfo = opts.info;
    resume?.position(sub);
    let recovery = recoveryRequestFrom((req as Record<string, unknown>)[channel]);
    if (resume) recovery = resume.recoveryFor(sub, recovery);
    const prepared = client.channels.prepare(sub, recovery);
    const fields = prepared instanceof Promise ? await prepared : prepared;
    resume?.afterPositioning(sub, recovery, fields);
    if (opts.data !== undefined) fields.data = opts.data;
    results.set(channel, fields);
  }
  return results;
}

/** No position sent back: the request of most server-side subscriptions (read, never changed). */
const NO_RECOVERY: RecoveryRequest = Object.freeze({
  recover: false,
  offset: 0,
  epoch: "",
  rejectUnrecovered: false,
});

/** A position sent back by the client in connect `subs` (garbage fields count as absent). */
export function recoveryRequestFrom(value: unknown): RecoveryRequest {
  if (value === undefined) return NO_RECOVERY;
  const r = value as Record<string, unknown> | undefined;
  return {
    recover: r?.recover === true,
    offset: typeof r?.offset === "number" && Number.isInteger(r.offset) && r.offset >= 0 ? r.offset : 0,
    epoch: typeof r?.epoch === "string" ? r.epoch : "",
    rejectUnrecovered: false,
  };
}

function encodeSubsMap(subs: Map<string, SubscribeResultFields>): string {
  const parts: string[] = [];
  for (const [ch, fields] of subs) parts.push(`${JSON.stringify(ch)}:${encodeSubscribeResult(fields)}`);
  return `{${parts.join(",")}}`;
}

/** Maps token verification failures; `onExpired` differs between connect, refresh and subscribe. */
export function mapTokenError(
  log: Logger,
  err: unknown,
  kind: string,
  onExpired: Error,
  onInvalid: Error = new Disconnect(DisconnectCode.InvalidToken),
): Error {
  if (err instanceof TokenExpiredError) return onExpired;
  if (err instanceof TokenVerifierUnavailableError) {
    log.error(`cannot verify ${kind} token`, { err });
    return new ClientError(ErrorCode.Internal);
  }
  if (err instanceof InvalidTokenError) {
    log.info(`invalid ${kind} token`, { err: err.message });
    return onInvalid;
  }
  log.error(`${kind} token verification failed`, { err });
  return new ClientError(ErrorCode.Internal);
}

/**
 * Unidirectional clients cannot read error replies: connect errors become disconnects whose code
 * says whether to come back, as the SDK decides for bidirectional clients (temporary errors
 * retry, others stop). 109/110 → 3005 (reconnect with a fresh token), 111 → 3013, temporary
 * (100, or `temporary: true`) → 3004 (reconnect); permanent ones are terminal: 101 → 3500,
 * 103 → 3507, 106 → 3505, 108 → 3508, anything else (a bad channel in the token, an app's own
 * code) → 3501. A permanent refusal must never become a reconnect loop.
 */
export function unidirectionalDisconnect(err: unknown, log: Logger): Disconnect {
  if (isDisconnect(err)) return err;
  if (isClientError(err)) {
    switch (err.code) {
      case ErrorCode.TokenExpired:
      case ErrorCode.Expired:
        return new Disconnect(DisconnectCode.Expired);
      case ErrorCode.TooManyRequests:
        return new Disconnect(DisconnectCode.TooManyRequests);
    }
    if (err.temporary) return new Disconnect(DisconnectCode.InternalServerError);
    switch (err.code) {
      case ErrorCode.Unauthorized:
        return new Disconnect(DisconnectCode.InvalidToken);
      case ErrorCode.PermissionDenied:
        return new Disconnect(DisconnectCode.PermissionDenied);
      case ErrorCode.LimitExceeded:
        return new Disconnect(DisconnectCode.ChannelLimit);
      case ErrorCode.NotAvailable:
        return new Disconnect(DisconnectCode.NotAvailable);
      default:
        return new Disconnect(DisconnectCode.BadRequest);
    }
  }
  log.error("connect failed", { err });
  return new Disconnect(DisconnectCode.InternalServerError);
}

/** Validates an `onConnecting` answer; a malformed one is the plugin's fault (100). */
function credentialsFromHook(r: ConnectingResult): Credentials {
  const subs: Credentials["subs"] = {};
  for (const [ch, o] of Object.entries(r.subs ?? {})) {
    subs[ch] = { info: jsonText(o.info), data: jsonText(o.data), override: o.override };
  }
  return {
    user: r.user,
    expireAt: r.expireAt ?? 0,
    info: jsonText(r.info),
    data: jsonText(r.data),
    meta: jsonText(r.meta),
    channels: r.channels ?? [],
    subs,
    fromHook: true,
  };
}

/** String-valued entries of the connect request's `headers` (at most 64, names lower-cased). */
function emulatedHeadersOf(req: ConnectRequest): Readonly<Record<string, string>> {
  const h = req.headers;
  if (h === null || typeof h !== "object" || Array.isArray(h)) return NO_EMULATED_HEADERS;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h).slice(0, 64)) if (typeof v === "string") out[k.toLowerCase()] = v;
  return out;
}
