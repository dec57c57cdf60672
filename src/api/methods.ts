/**
 * @module
 * The server API methods, as Centrifugo's API executor runs them: the same checks in the same
 * order, the same result shapes. A method gets its request already decoded (`request.ts`: every
 * field present, typed, zero when unset) and returns the JSON text of its result object or throws
 * a `ClientError`: 107 "bad request" (every validation failure; the reason goes to the log), 102
 * unknown channel, 104 not found, 108 feature off, 112 unrecoverable position. Calls are trusted:
 * no channel permission checks, and no client-side channel name rules (Centrifugo applies them to
 * clients only).
 */
import type { Node } from "../core/node.ts";
import type { PublishResult } from "../broker/broker.ts";
import { hasHistory, type ResolvedChannel } from "../core/channel.ts";
import { encodeClientInfo, encodePublication, jsonObject, toRaw } from "../core/codec.ts";
import { ClientError, DisconnectCode, ErrorCode, isClientError } from "../errors.ts";
import { payloadTextFromBytes } from "../wire/binary.ts";
import { base64ToBytes } from "../wire/base64.ts";
import type { SubscribeOverride } from "../wire/override.ts";
import type { MethodName } from "./request.ts";
import { compileChannelPattern } from "./channel_pattern.ts";
import { infoMetrics } from "./info_metrics.ts";

/** 107 with Centrifugo's one message; `detail` says why, for the log. */
export class BadRequest extends ClientError {
  constructor(readonly detail: string) {
    super(ErrorCode.BadRequest, "bad request");
  }
}

export const bad = (detail: string): BadRequest => new BadRequest(detail);

/** Centrifugo's 104: an unknown `rpc` method, an unknown batch command. */
export const notFound = (): ClientError => new ClientError(ErrorCode.MethodNotFound, "not found");

// ---------------------------------------------------------------------------------- requests

interface PublishFields {
  data: unknown;
  b64data: string;
  skip_history: boolean;
  tags?: Record<string, string>;
  idempotency_key: string;
  // `delta` and `version`/`version_epoch` are decoded and not used: Sluice has neither delta
  // compression nor publication versions.
}

interface UserTarget {
  user: string;
  client: string;
  session: string;
  // `label_filter` and `all_users` are decoded and not used, as in Centrifugo's OSS API.
}

interface StreamPositionField {
  offset: number;
  epoch: string;
}

type BoolValue = { value: boolean } | undefined;

interface Requests {
  publish: PublishFields & { channel: string };
  broadcast: PublishFields & { channels: string[] };
  subscribe: UserTarget & {
    channel: string;
    expire_at: number;
    info: unknown;
    b64info: string;
    data: unknown;
    b64data: string;
    recover_since?: StreamPositionField;
    override?: Record<string, BoolValue>;
  };
  unsubscribe: UserTarget & { channel: string };
  disconnect: UserTarget & { disconnect?: { code: number; reason: string }; whitelist: string[] };
  refresh: UserTarget & { expired: boolean; expire_at: number; info: unknown };
  presence: { channel: string };
  presence_stats: { channel: string };
  history: { channel: string; limit: number; since?: StreamPositionField; reverse: boolean };
  history_remove: { channel: string };
  channels: { pattern: string };
  info: Record<string, never>;
  rpc: { method: string; params: unknown };
}

/** A method: its decoded request in, the JSON text of its result out. */
export type ApiMethod = (node: Node, request: Record<string, unknown>) => Promise<string>;

// ---------------------------------------------------------------------------------- helpers

/** The channel's namespace options, or 102 when its namespace is not configured. */
function namespace(node: Node, channel: string): ResolvedChannel {
  const resolved = node.channels.resolve(channel);
  if (!resolved) throw new ClientError(ErrorCode.UnknownChannel);
  return resolved;
}

/**
 * Base64 as Go's standard decoder reads it: padding required, line breaks skipped, nothing else
 * (atob alone would also take missing padding and spaces).
 */
function decodeBase64(text: string, field: string): Uint8Array {
  const b64 = text.replace(/[\r\n]/g, "");
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw bad(`${field} is not base64`);
  return base64ToBytes(b64);
}

/**
 * JSON text for a payload given as `value` (any JSON) or `b64` (base64 of any bytes, which wins
 * when set: JSON text as it is, other bytes as `{"$binary": …}` — protobuf clients get the bytes
 * back exactly; see `wire/binary.ts`). Undefined when neither is set.
 */
function payload(value: unknown, b64: string, b64Field: string): string | undefined {
  if (b64 !== "") return payloadTextFromBytes(decodeBase64(b64, b64Field));
  return value === undefined ? undefined : toRaw(value);
}

function publishOne(node: Node, channel: string, data: string, r: PublishFields): Promise<string> {
  return node.publish(channel, data, {
    skipHistory: r.skip_history,
    tags: r.tags,
    idempotencyKey: r.idempotency_key || undefined,
  }).then(publishResult);
}

const publishResult = (r: PublishResult): string => jsonObject({ offset: r.offset, epoch: r.epoch });

/** Which connections a user-wide call reaches: `user: ""` (or none) is the anonymous ones. */
const target = (r: UserTarget) => ({
  user: r.user,
  client: r.client || undefined,
  session: r.session || undefined,
});

/** A publication as the API shows it: Centrifugo's API publications carry no `epoch`. */
function apiPublication(pub: Parameters<typeof encodePublication>[0]): string {
  return encodePublication(pub.epoch === undefined ? pub : { ...pub, epoch: undefined });
}

// ---------------------------------------------------------------------------------- settling

export type Settled = { ok: true; json: string } | { ok: false; error: { code: number; message: string } };

/**
 * Runs one method, turning any failure into Centrifugo's error object (unexpected ones are 100).
 * A bad request's reason is logged at info: the answer only says "bad request".
 */
export async function settle(node: Node, method: string, fn: () => Promise<string>): Promise<Settled> {
  try {
    return { ok: true, json: await fn() };
  } catch (err) {
    if (isClientError(err)) {
      if (err instanceof BadRequest) node.log.info("api bad request", { method, detail: err.detail });
      return { ok: false, error: { code: err.code, message: err.message } };
    }
    node.log.error("api method failed", { method, err });
    return { ok: false, error: { code: ErrorCode.Internal, message: "internal server error" } };
  }
}

/** `{"result":…}` or `{"error":…}`. */
export function envelope(r: Settled): string {
  return r.ok ? `{"result":${r.json}}` : `{"error":${JSON.stringify(r.error)}}`;
}

// ---------------------------------------------------------------------------------- methods

const methods: { [M in MethodName]: (node: Node, r: Requests[M]) => Promise<string> } = {
  async publish(node, r) {
    if (r.channel === "") throw bad("channel required");
    const data = payload(r.data, r.b64data, "b64data");
    namespace(node, r.channel);
    if (data === undefined) throw bad("data required");
    return await publishOne(node, r.channel, data, r);
  },

  async broadcast(node, r) {
    if (r.channels.length === 0) throw bad("channels required");
    const data = payload(r.data, r.b64data, "b64data");
    // Each channel answers for itself, in order: a bad one does not stop the others.
    const responses = await Promise.all(r.channels.map(async (channel) =>
      envelope(
        await settle(node, "broadcast", () => {
          if (channel === "") throw bad("empty channel in channels");
          namespace(node, channel);
          if (data === undefined) throw bad("data required");
          return publishOne(node, channel, data, r);
        }),
      )
    ));
    return `{"responses":[${responses.join(",")}]}`;
  },

  async subscribe(node, r) {
    if (r.channel === "") throw bad("channel required");
    namespace(node, r.channel);
    const data = payload(r.data, r.b64data, "b64data");
    const info = payload(r.info, r.b64info, "b64info");
    // Centrifugo's connections refuse an expiry already past (the API answers 100 then); no
    // connection subscribes to a subscription that is over
    if (r.expire_at > 0 && r.expire_at <= Math.floor(node.now() / 1000)) throw bad("expire_at is past");
    let override: SubscribeOverride | undefined;
    if (r.override) {
      override = {};
      for (const [key, v] of Object.entries(r.override)) {
        if (v) override[key as keyof SubscribeOverride] = v.value;
      }
    }
    await node.subscribeUser(target(r), {
      channel: r.channel,
      info,
      data,
      // as Centrifugo: a time not after the epoch means no expiry
      expireAt: r.expire_at > 0 ? r.expire_at : undefined,
      override,
      recoverSince: r.recover_since && { offset: r.recover_since.offset, epoch: r.recover_since.epoch },
    });
    return "{}";
  },

  async unsubscribe(node, r) {
    if (r.channel !== "") namespace(node, r.channel);
    await node.unsubscribeUser(target(r), r.channel);
    return "{}";
  },

  async disconnect(node, r) {
    let code: number = DisconnectCode.ForceNoReconnect;
    let reason = "force disconnect";
    // Any code and reason, as Centrifugo takes them (cent's Disconnect() sends code 0): where no close
    // frame can carry them, a WebSocket ends without one and its client sees 1006 and reconnects.
    if (r.disconnect) ({ code, reason } = r.disconnect);
    await node.disconnectUser(target(r), code, reason, r.whitelist);
    return "{}";
  },

  async refresh(node, r) {
    await node.refreshUser(target(r), {
      expired: r.expired,
      // As Centrifugo: no expire_at (or one not after the epoch) means the connection stops expiring.
      expireAt: r.expire_at > 0 ? r.expire_at : 0,
      // As Centrifugo: new info comes with a new expiry; without one (or with one past) it is dropped
      info: r.expire_at > Math.floor(node.now() / 1000) ? payload(r.info, "", "") : undefined,
    });
    return "{}";
  },

  async presence(node, r) {
    if (r.channel === "") throw bad("channel required");
    if (!namespace(node, r.channel).options.presence) throw new ClientError(ErrorCode.NotAvailable);
    const entries = await node.presence(r.channel);
    const body = Object.entries(entries).map(([id, info]) =>
      `${JSON.stringify(id)}:${encodeClientInfo(info)}`
    );
    return `{"presence":{${body.join(",")}}}`;
  },

  async presence_stats(node, r) {
    if (r.channel === "") throw bad("channel required");
    if (!namespace(node, r.channel).options.presence) throw new ClientError(ErrorCode.NotAvailable);
    const stats = await node.presenceStats(r.channel);
    return `{"num_clients":${stats.numClients},"num_users":${stats.numUsers}}`;
  },

  async history(node, r) {
    if (r.channel === "") throw bad("channel required");
    const resolved = namespace(node, r.channel);
    if (!hasHistory(resolved.options)) throw new ClientError(ErrorCode.NotAvailable);
    const since = r.since && { offset: r.since.offset, epoch: r.since.epoch };
    // any negative limit is "no limit"
    const h = await node.history(r.channel, resolved, {
      since,
      limit: Math.max(r.limit, -1),
      reverse: r.reverse,
    });
    if (since && since.epoch !== "" && since.epoch !== h.epoch) {
      throw new ClientError(ErrorCode.UnrecoverablePosition);
    }
    const pubs = h.publications.map(apiPublication).join(",");
    return `{"publications":[${pubs}],"epoch":${JSON.stringify(h.epoch)},"offset":${h.offset}}`;
  },

  async history_remove(node, r) {
    if (r.channel === "") throw bad("channel required");
    if (!hasHistory(namespace(node, r.channel).options)) throw new ClientError(ErrorCode.NotAvailable);
    await node.removeHistory(r.channel);
    return "{}";
  },

  async channels(node, r) {
    let re: RegExp | undefined;
    if (r.pattern !== "") {
      re = compileChannelPattern(r.pattern);
      if (!re) throw bad("pattern does not compile");
    }
    const parts: string[] = [];
    for (const [name, n] of await node.allChannels()) {
      if (re && !re.test(name)) continue;
      parts.push(`${JSON.stringify(name)}:{"num_clients":${n}}`);
    }
    return `{"channels":{${parts.join(",")}}}`;
  },

  async info(node) {
    // this node's entry carries its metrics (Centrifugo's nodes exchange theirs; Sluice's do not)
    const metrics = await infoMetrics(node.metrics);
    const nodes = node.nodes().map((n) => n.uid === node.id ? { ...n, metrics } : n);
    return JSON.stringify({ nodes });
  },

  // Centrifugo's API `rpc` calls extensions registered in its own code; its open-source build has
  // none, and neither has Sluice (plugins answer client RPCs).
  rpc(_node, r) {
    return Promise.reject(r.method === "" ? bad("rpc method required") : notFound());
  },
};

/** Every method by name, taking the request `decodeStruct` made from the method's shape. */
export const apiMethods = methods as unknown as Record<MethodName, ApiMethod>;
