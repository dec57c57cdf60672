/**
 * @module
 * The commands of a connected client, dispatched through `COMMANDS` by method: subscribe,
 * unsubscribe, sub_refresh, publish, presence, presence_stats, history, rpc and refresh, with
 * Centrifugo's validation and permission order. `connect` is the connection's own first step
 * (`client_connect.ts`); `send` and a second `connect` are protocol errors decided by the client.
 */
import type { Outcome } from "./connection.ts";
import type { ChannelledConnection } from "./client_channels.ts";
import { hasHistory, type ResolvedChannel } from "./channel.ts";
import { encodeClientInfo, encodePublication, jsonObject, raw, RawJson, toRaw } from "./codec.ts";
import type { SubscribeRequest } from "../wire/protocol.ts";
import { FLAG_REJECT_UNRECOVERED } from "../wire/protocol.ts";
import { canHistory, canPresence, canPublish, canSubscribeWithoutToken } from "./permissions.ts";
import { encodeSubscribeResult, Subscription } from "./subscription.ts";
import { ClientError, Disconnect, DisconnectCode, ErrorCode } from "../errors.ts";
import type { CommandMethod } from "../wire/protocol.ts";
import type { SubscribeOverride, SubscriptionTokenClaims } from "../auth/jwt.ts";
import { jsonText } from "../wire/json.ts";
import type { PublishResult } from "./hooks.ts";
import { mapTokenError } from "./client_connect.ts";

/** A channel field must be a non-empty string; anything else is a protocol violation (3501). */
export function requireChannel(req: unknown): string {
  const channel = (req as { channel?: unknown } | null)?.channel;
  if (typeof channel !== "string" || channel === "") throw new Disconnect(DisconnectCode.BadRequest);
  return channel;
}

/** Resolves a channel for a client operation: 107 for a bad name or regex mismatch, 102 for unknown. */
function resolveForClient(client: ChannelledConnection, channel: string): ResolvedChannel {
  const resolved = client.node.resolveChannel(channel);
  if (!client.node.channels.matchesRegex(channel, resolved)) throw new ClientError(ErrorCode.BadRequest);
  return resolved;
}

/**
 * How a malformed optional field is answered. Centrifugo decodes most command bodies strictly
 * (a wrong type closes the connection, 3501) but checks history's `since` itself (error 107).
 */
type Malformed = "disconnect" | "error";

function malformed(how: Malformed): Error {
  return how === "disconnect"
    ? new Disconnect(DisconnectCode.BadRequest)
    : new ClientError(ErrorCode.BadRequest);
}

/** An optional non-negative integer field (offset, flag): 0 when absent or null. */
function optionalNonNegativeInt(v: unknown, how: Malformed): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw malformed(how);
  return v;
}

/** An optional string field (token, epoch): "" when absent or null. */
function optionalString(v: unknown, how: Malformed): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw malformed(how);
  return v;
}

export async function unsubscribe(client: ChannelledConnection, req: { channel: string }): Promise<Outcome> {
  const channel = requireChannel(req);
  const sub = client.channels.get(channel);
  if (sub) await client.channels.remove(sub);
  return { result: "{}" };
}

export async function subscribe(client: ChannelledConnection, req: SubscribeRequest): Promise<Outcome> {
  const channel = requireChannel(req);
  if (client.channels.has(channel)) throw new ClientError(ErrorCode.AlreadySubscribed);
  const resolved = resolveForClient(client, channel);
  const limit = client.node.config.client_channel_limit;
  if (limit > 0 && client.channels.size >= limit) throw new ClientError(ErrorCode.LimitExceeded);
  const token = optionalString(req.token, "disconnect");
  const grant = token !== ""
    ? grantFromToken(await verifySubscriptionToken(client, channel, token))
    : await grantWithoutToken(client, channel, resolved, req.data);
  const o = resolved.options;
  const sub = new Subscription(channel, resolved, false, grant.override);
  sub.chanInfo = grant.info;
  const history = hasHistory(o);
  if (req.positioned === true && history && (o.allow_positioning || canHistory(client, channel, o, true))) {
    sub.positioned = true;
  }
  if (req.recoverable === true && history && (o.allow_recovery || canHistory(client, channel, o, true))) {
    sub.recoverable = true;
    sub.positioned = true;
  }
  if (req.join_leave === true && sub.joinLeave && canPresence(client, channel, o, true)) {
    sub.pushJoinLeave = true;
  }
  const now = Math.floor(client.node.now() / 1000);
  const expireAt = client.insecure ? 0 : grant.expireAt;
  if (expireAt > 0 && expireAt <= now) throw new ClientError(ErrorCode.Expired);
  sub.expireAt = expireAt;
  // Hook-granted subscriptions are refreshed by `onSubRefresh` when a plugin chose to (unless the
  // hook left this one to the SDK); token ones by the SDK.
  sub.serverRefresh = expireAt > 0 && client.node.hooks.serverRefresh.subscriptions &&
    ((grant.byHook && !grant.clientRefresh) || o.proxy_sub_refresh);
  // Sluice filters by no tags: a tags filter is refused, as Centrifugo refuses one where the
  // namespace does not allow it — not ignored, which would deliver what the client filtered out.
  if (req.tf !== undefined && req.tf !== null) throw new ClientError(ErrorCode.BadRequest);
  const flag = optionalNonNegativeInt(req.flag, "disconnect");
  const fields = await client.channels.prepare(sub, {
    recover: req.recover === true,
    offset: optionalNonNegativeInt(req.offset, "disconnect"),
    epoch: optionalString(req.epoch, "disconnect"),
    rejectUnrecovered: (flag & FLAG_REJECT_UNRECOVERED) !== 0,
  });
  if (expireAt > 0 && !sub.serverRefresh) {
    fields.expires = true;
    fields.ttl = expireAt - now;
  }
  if (grant.data !== undefined) fields.data = grant.data;
  return { result: encodeSubscribeResult(fields), after: () => client.channels.activate(sub) };
}

/** What allowed a subscription, and with which channel info/data/expiry. */
interface Grant {
  info?: string;
  data?: string;
  expireAt: number;
  override?: SubscribeOverride;
  byHook?: boolean;
  /** The hook asked for the SDK to refresh it. */
  clientRefresh?: boolean;
}

function grantFromToken(claims: SubscriptionTokenClaims): Grant {
  return { info: claims.info, data: claims.data, expireAt: claims.expireAt, override: claims.override };
}

/**
 * Without a token: private channels are refused; a user-limited channel listing the user is
 * allowed; otherwise `onSubscribe` hooks decide, then the namespace's `allow_*` rules.
 */
async function grantWithoutToken(
  client: ChannelledConnection,
  channel: string,
  resolved: ResolvedChannel,
  data: unknown,
): Promise<Grant> {
  const rules = client.node.channels;
  const hooks = client.node.hooks;
  const o = resolved.options;
  const flags = {
    isPrivate: rules.isPrivate(channel),
    isUserLimited: rules.isUserLimited(channel),
    userAllowed: rules.userAllowed(channel, client.user),
  };
  const userLimited = flags.isUserLimited && o.allow_user_limited_channels;
  if (!flags.isPrivate && !userLimited) {
    if (o.proxy_subscribe && !hooks.has("onSubscribe")) throw new ClientError(ErrorCode.NotAvailable);
    const r = await hooks.decide(
      "onSubscribe",
      (signal) => ({
        client: client.context(),
        channel,
        namespace: resolved.namespace,
        options: o,
        data,
        signal,
      }),
      client.id,
    );
    if (r) {
      return {
        info: jsonText(r.info),
        data: jsonText(r.data),
        expireAt: r.expireAt ?? 0,
        override: r.override,
        byHook: true,
        clientRefresh: r.clientRefresh,
      };
    }
  }
  if (!canSubscribeWithoutToken(client, o, flags)) throw new ClientError(ErrorCode.PermissionDenied);
  return { expireAt: 0 };
}

async function verifySubscriptionToken(
  client: ChannelledConnection,
  channel: string,
  token: string,
): Promise<SubscriptionTokenClaims> {
  let claims: SubscriptionTokenClaims;
  try {
    claims = await client.node.tokens.verifySubscriptionToken(token);
  } catch (err) {
    // Centrifugo: expired → 109 (the SDK fetches a new token), invalid → 103.
    throw mapTokenError(
      client.log,
      err,
      "subscription",
      new ClientError(ErrorCode.TokenExpired),
      new ClientError(ErrorCode.PermissionDenied),
    );
  }
  if (
    claims.channel !== channel || claims.user !== client.user ||
    (claims.client && claims.client !== client.id)
  ) {
    client.log.info("subscription token does not match", { channel });
    throw new Disconnect(DisconnectCode.InvalidToken);
  }
  return claims;
}

export async function subRefresh(
  client: ChannelledConnection,
  req: { channel: string; token: string },
): Promise<Outcome> {
  const channel = requireChannel(req);
  const sub = client.channels.get(channel);
  if (!sub || sub.state !== "active") throw new ClientError(ErrorCode.PermissionDenied);
  if (sub.serverRefresh) throw new Disconnect(DisconnectCode.BadRequest); // the server refreshes this one
  const token = optionalString(req.token, "disconnect");
  if (token === "") throw new ClientError(ErrorCode.BadRequest);
  let claims: SubscriptionTokenClaims;
  try {
    claims = await client.node.tokens.verifySubscriptionToken(token);
  } catch (err) {
    // An expired refresh token closes the connection (3005): the SDK reconnects, resubscribes,
    // gets 109 and fetches a fresh subscription token. An empty success would leave it expired.
    throw mapTokenError(client.log, err, "sub refresh", new Disconnect(DisconnectCode.Expired));
  }
  if (
    claims.channel !== channel || claims.user !== client.user ||
    (claims.client && claims.client !== client.id)
  ) {
    throw new Disconnect(DisconnectCode.InvalidToken);
  }
  const now = Math.floor(client.node.now() / 1000);
  const expireAt = client.insecure ? 0 : claims.expireAt;
  if (expireAt > 0 && expireAt < now) throw new ClientError(ErrorCode.Expired);
  sub.expireAt = expireAt;
  if (claims.info !== undefined) sub.chanInfo = claims.info;
  client.channels.scheduleExpiry(sub);
  return { result: jsonObject({ expires: expireAt > 0, ttl: expireAt > 0 ? expireAt - now : 0 }) };
}

export async function publish(
  client: ChannelledConnection,
  req: { channel: string; data?: unknown },
): Promise<Outcome> {
  const channel = requireChannel(req);
  const resolved = resolveForClient(client, channel);
  if (req.data === undefined) throw new ClientError(ErrorCode.BadRequest, "data required");
  const hooks = client.node.hooks;
  const o = resolved.options;
  if (o.proxy_publish) {
    // A publish proxy decides alone, as in Centrifugo; without one the namespace cannot take publishes.
    if (!hooks.has("onPublish")) throw new ClientError(ErrorCode.NotAvailable);
  } else if (!canPublish(client, channel, o)) {
    throw new ClientError(ErrorCode.PermissionDenied);
  }
  let p: PublishState = { data: req.data, skipHistory: false };
  if (hooks.has("onPublish")) {
    p = await hooks.transform(
      "onPublish",
      p,
      (state, signal) => ({
        client: client.context(),
        channel,
        namespace: resolved.namespace,
        options: o,
        // A protobuf publication arrives as its JSON text (kept for byte-exact delivery); hooks get values.
        data: state.data instanceof RawJson ? JSON.parse(state.data.text) : state.data,
        signal,
      }),
      applyPublishResult,
      client.id,
    );
  }
  await client.node.publish(channel, toRaw(p.data), {
    clientInfo: client.infoFor(client.channels.get(channel)),
    skipHistory: p.skipHistory,
    tags: p.tags,
  });
  return { result: "{}" };
}

interface PublishState {
  data: unknown;
  skipHistory: boolean;
  tags?: Record<string, string>;
}

/** Merges a (checked) onPublish answer into what will be published. */
function applyPublishResult(state: PublishState, r: PublishResult): PublishState {
  return {
    data: r.data !== undefined ? r.data : state.data,
    skipHistory: r.skipHistory ?? state.skipHistory,
    tags: r.tags ?? state.tags,
  };
}

export async function rpc(
  client: ChannelledConnection,
  req: { method?: unknown; data?: unknown },
): Promise<Outcome> {
  if (req.method !== undefined && typeof req.method !== "string") {
    throw new Disconnect(DisconnectCode.BadRequest);
  }
  const method = (req.method as string | undefined) ?? "";
  // As Centrifugo: no RPC handler at all is "not available"; handlers that do not know it, 104.
  if (!client.node.hooks.has("onRpc")) throw new ClientError(ErrorCode.NotAvailable);
  const r = await client.node.hooks.decide("onRpc", (signal) => ({
    client: client.context(),
    method,
    data: req.data,
    signal,
  }), client.id);
  if (!r) throw new ClientError(ErrorCode.MethodNotFound);
  return { result: jsonObject({ data: raw(jsonText(r.data)) }) };
}

export async function presence(client: ChannelledConnection, req: { channel: string }): Promise<Outcome> {
  const channel = requireChannel(req);
  const resolved = resolveForClient(client, channel);
  if (!resolved.options.presence) throw new ClientError(ErrorCode.NotAvailable);
  if (!canPresence(client, channel, resolved.options)) throw new ClientError(ErrorCode.PermissionDenied);
  const entries = await client.node.presence(channel);
  const body = Object.entries(entries).map(([id, info]) => `${JSON.stringify(id)}:${encodeClientInfo(info)}`);
  return { result: `{"presence":{${body.join(",")}}}` };
}

export async function presenceStats(
  client: ChannelledConnection,
  req: { channel: string },
): Promise<Outcome> {
  const channel = requireChannel(req);
  const resolved = resolveForClient(client, channel);
  if (!resolved.options.presence) throw new ClientError(ErrorCode.NotAvailable);
  if (!canPresence(client, channel, resolved.options)) throw new ClientError(ErrorCode.PermissionDenied);
  const stats = await client.node.presenceStats(channel);
  return { result: `{"num_clients":${stats.numClients},"num_users":${stats.numUsers}}` };
}

export async function history(
  client: ChannelledConnection,
  req: { channel: string; limit?: number; since?: { offset?: number; epoch?: string }; reverse?: boolean },
): Promise<Outcome> {
  const channel = requireChannel(req);
  const resolved = resolveForClient(client, channel);
  if (!hasHistory(resolved.options)) throw new ClientError(ErrorCode.NotAvailable);
  if (!canHistory(client, channel, resolved.options)) throw new ClientError(ErrorCode.PermissionDenied);
  if (
    req.limit !== undefined &&
    (typeof req.limit !== "number" || !Number.isInteger(req.limit) || req.limit < -1)
  ) {
    throw new ClientError(ErrorCode.BadRequest);
  }
  const max = client.node.config.client_history_max_publication_limit;
  let limit = req.limit ?? 0;
  if (max > 0 && (limit < 0 || limit > max)) limit = max;
  let since: { offset: number; epoch: string } | undefined;
  if (req.since !== undefined && req.since !== null) {
    if (typeof req.since !== "object") throw new ClientError(ErrorCode.BadRequest);
    since = {
      offset: optionalNonNegativeInt(req.since.offset, "error"),
      epoch: optionalString(req.since.epoch, "error"),
    };
  }
  const reverse = req.reverse === true;
  const result = await client.node.history(channel, resolved, { since, limit, reverse });
  if (since && since.epoch !== "" && since.epoch !== result.epoch) {
    throw new ClientError(ErrorCode.UnrecoverablePosition);
  }
  const pubs = `[${result.publications.map(encodePublication).join(",")}]`;
  return {
    result: jsonObject({ publications: raw(pubs), epoch: result.epoch, offset: result.offset }, [
      "publications",
      "epoch",
      "offset",
    ]),
  };
}

/** `refresh`: a new connection token from the SDK (not when a plugin refreshes on the server). */
export async function refresh(client: ChannelledConnection, req: { token: string }): Promise<Outcome> {
  if (typeof req.token !== "string" || req.token === "") throw new Disconnect(DisconnectCode.BadRequest);
  if (client.node.hooks.serverRefresh.connections) {
    client.log.info("client refresh while the server refreshes connections itself");
    throw new Disconnect(DisconnectCode.BadRequest);
  }
  let claims;
  try {
    claims = await client.node.tokens.verifyConnectToken(req.token);
  } catch (err) {
    throw mapTokenError(client.log, err, "refresh", new Disconnect(DisconnectCode.Expired));
  }
  if (claims.user !== client.user) {
    client.log.info("refresh token user mismatch");
    throw new Disconnect(DisconnectCode.InvalidToken);
  }
  const now = Math.floor(client.node.now() / 1000);
  const expireAt = client.insecure ? 0 : claims.expireAt;
  if (expireAt > 0 && expireAt <= now) throw new ClientError(ErrorCode.Expired);
  client.extendExpiry(expireAt, claims.info);
  // Centrifugo's refresh result carries only the expiry (the SDK reads nothing else).
  return { result: jsonObject({ expires: expireAt > 0, ttl: expireAt > 0 ? expireAt - now : 0 }) };
}

// deno-lint-ignore no-explicit-any
type Handler = (client: ChannelledConnection, body: any) => Promise<Outcome>;

/** A `ping` command is not part of protocol v2 (pings go server → client): bad request, as Centrifugo. */
const badRequest: Handler = () => Promise.reject(new Disconnect(DisconnectCode.BadRequest));

/** Every command method after connect, with its handler (the body is the command's field of that name). */
export const COMMANDS: Readonly<Record<Exclude<CommandMethod, "connect" | "send">, Handler>> = {
  subscribe,
  unsubscribe,
  publish,
  presence,
  presence_stats: presenceStats,
  history,
  refresh,
  sub_refresh: subRefresh,
  rpc,
  ping: badRequest,
};
