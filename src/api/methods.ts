/**
 * @module
 * The server API methods, with Centrifugo's request fields and result shapes. Each returns the
 * JSON text of its result object or throws a `ClientError` (107 validation, 102 unknown channel,
 * 108 feature off, 112 unrecoverable position). Calls are trusted: no channel permission checks.
 */
import type { Node } from "../core/node.ts";
import type { PublishResult } from "../broker/broker.ts";
import { hasHistory } from "../core/channel.ts";
import { encodeClientInfo, encodePublication, jsonObject } from "../core/codec.ts";
import { globToRegExp } from "../core/glob.ts";
import { ClientError, DisconnectCode, ErrorCode, isClientError } from "../errors.ts";
import {
  bad,
  optionalBool,
  optionalInt,
  optionalOverride,
  optionalPosition,
  optionalString,
  optionalStrings,
  optionalTags,
  type Params,
  payload,
  requireString,
  requireStringAllowEmpty,
} from "./params.ts";

/** A method returns the JSON text of its result object. */
export type ApiMethod = (node: Node, params: Params) => Promise<string>;

interface PublishPayload {
  data: string;
  skipHistory: boolean;
  tags?: Record<string, string>;
  idempotencyKey?: string;
}

function publishPayload(params: Params): PublishPayload {
  return {
    data: payload(params, "data", true)!,
    skipHistory: optionalBool(params, "skip_history"),
    tags: optionalTags(params),
    idempotencyKey: optionalString(params, "idempotency_key"),
  };
}

function publishOne(node: Node, channel: string, p: PublishPayload): Promise<string> {
  // node.publish is async (it never throws here): one promise less than an async wrapper
  return node.publish(channel, p.data, {
    skipHistory: p.skipHistory,
    tags: p.tags,
    idempotencyKey: p.idempotencyKey,
  }).then(publishResult);
}

const publishResult = (r: PublishResult): string => jsonObject({ offset: r.offset, epoch: r.epoch });

export type Settled = { ok: true; json: string } | { ok: false; error: { code: number; message: string } };

/** Runs one method, turning any failure into Centrifugo's error object (unexpected ones are 100). */
export async function settle(node: Node, method: string, fn: () => Promise<string>): Promise<Settled> {
  try {
    return { ok: true, json: await fn() };
  } catch (err) {
    if (isClientError(err)) return { ok: false, error: { code: err.code, message: err.message } };
    node.log.error("api method failed", { method, err });
    return { ok: false, error: { code: ErrorCode.Internal, message: "internal server error" } };
  }
}

/** `{"result":…}` or `{"error":…}`. */
export function envelope(r: Settled): string {
  return r.ok ? `{"result":${r.json}}` : `{"error":${JSON.stringify(r.error)}}`;
}

/** Resolves a channel or throws 107/102; `feature` adds the 108 check. */
function channelFor(node: Node, params: Params, feature?: "presence" | "history"): string {
  const channel = requireString(params, "channel");
  const resolved = node.resolveChannel(channel);
  if (feature === "presence" && !resolved.options.presence) throw new ClientError(ErrorCode.NotAvailable);
  if (feature === "history" && !hasHistory(resolved.options)) throw new ClientError(ErrorCode.NotAvailable);
  return channel;
}

function userTarget(params: Params) {
  return {
    user: requireStringAllowEmpty(params, "user"),
    client: optionalString(params, "client"),
    session: optionalString(params, "session"),
  };
}

export const apiMethods: Record<string, ApiMethod> = {
  async publish(node, params) {
    const channel = requireString(params, "channel");
    return await publishOne(node, channel, publishPayload(params));
  },

  async broadcast(node, params) {
    const channels = params.channels;
    if (!Array.isArray(channels) || channels.length === 0) throw bad("channels required");
    // An empty name is that channel's own 107 (in `responses`), as in Centrifugo.
    if (!channels.every((c) => typeof c === "string")) throw bad("channels must be strings");
    const p = publishPayload(params);
    const responses = await Promise.all(
      (channels as string[]).map(async (ch) => {
        return envelope(await settle(node, "broadcast", () => publishOne(node, ch, p)));
      }),
    );
    return `{"responses":[${responses.join(",")}]}`;
  },

  async subscribe(node, params) {
    const target = userTarget(params);
    const channel = channelFor(node, params);
    await node.subscribeUser(target, {
      channel,
      info: payload(params, "info", false),
      data: payload(params, "data", false),
      expireAt: optionalInt(params, "expire_at"),
      override: optionalOverride(params),
      recoverSince: optionalPosition(params, "recover_since"),
    });
    return "{}";
  },

  async unsubscribe(node, params) {
    const target = userTarget(params);
    const channel = channelFor(node, params);
    await node.unsubscribeUser(target, channel);
    return "{}";
  },

  async disconnect(node, params) {
    const target = userTarget(params);
    let code: number = DisconnectCode.ForceNoReconnect;
    let reason = "force disconnect";
    const d = params.disconnect;
    if (d !== undefined && d !== null) {
      if (typeof d !== "object" || Array.isArray(d)) throw bad("disconnect must be {code, reason}");
      const c = (d as Params).code;
      if (typeof c !== "number" || !Number.isInteger(c) || c < 3000 || c > 4999) {
        throw bad("disconnect.code must be an integer in 3000–4999");
      }
      code = c;
      reason = optionalString(d as Params, "reason") ?? "";
      if (new TextEncoder().encode(reason).length > 127) {
        throw bad("disconnect.reason must be at most 127 bytes");
      }
    }
    await node.disconnectUser(target, code, reason, optionalStrings(params, "whitelist"));
    return "{}";
  },

  async refresh(node, params) {
    const target = userTarget(params);
    await node.refreshUser(target, {
      expired: optionalBool(params, "expired"),
      // As Centrifugo: an absent expire_at is 0, i.e. the connection stops expiring.
      expireAt: optionalInt(params, "expire_at") ?? 0,
      info: payload(params, "info", false),
    });
    return "{}";
  },

  async presence(node, params) {
    const channel = channelFor(node, params, "presence");
    const entries = await node.presence(channel);
    const body = Object.entries(entries).map(([id, info]) =>
      `${JSON.stringify(id)}:${encodeClientInfo(info)}`
    );
    return `{"presence":{${body.join(",")}}}`;
  },

  async presence_stats(node, params) {
    const channel = channelFor(node, params, "presence");
    const stats = await node.presenceStats(channel);
    return `{"num_clients":${stats.numClients},"num_users":${stats.numUsers}}`;
  },

  async history(node, params) {
    const channel = channelFor(node, params, "history");
    const limit = optionalInt(params, "limit", -1) ?? 0;
    const since = optionalPosition(params, "since");
    const reverse = optionalBool(params, "reverse");
    const resolved = node.resolveChannel(channel);
    const h = await node.history(channel, resolved, { since, limit, reverse });
    if (since && since.epoch !== "" && since.epoch !== h.epoch) {
      throw new ClientError(ErrorCode.UnrecoverablePosition);
    }
    const pubs = h.publications.map(encodePublication).join(",");
    return `{"publications":[${pubs}],"epoch":${JSON.stringify(h.epoch)},"offset":${h.offset}}`;
  },

  async history_remove(node, params) {
    const channel = channelFor(node, params, "history");
    await node.removeHistory(channel);
    return "{}";
  },

  async channels(node, params) {
    const pattern = optionalString(params, "pattern");
    const re = pattern ? globToRegExp(pattern) : undefined;
    const parts: string[] = [];
    for (const [name, n] of await node.allChannels()) {
      if (re && !re.test(name)) continue;
      parts.push(`${JSON.stringify(name)}:{"num_clients":${n}}`);
    }
    return `{"channels":{${parts.join(",")}}}`;
  },

  info(node) {
    return Promise.resolve(JSON.stringify({ nodes: node.nodes() }));
  },
};
