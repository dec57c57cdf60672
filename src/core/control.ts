/**
 * @module
 * Control messages between nodes, as one typed union with one decoder. They may come from other
 * processes (through Redis), so `decodeControl` checks every field before anything uses it; a
 * message that fails is answered with why, and the cluster logs and drops it.
 */
import type { ControlMessage } from "../broker/broker.ts";
import type { SubscribeOverride } from "../wire/override.ts";
import type { StreamPosition } from "../wire/protocol.ts";

/** Which connections a server API call addresses: a user's, narrowed by client or session id. */
export interface UserTarget {
  user: string;
  client?: string;
  session?: string;
}

export interface ServerSubscribeOptions {
  channel: string;
  /** Channel info, JSON text. */
  info?: string;
  /** Data for the subscribe push, JSON text. */
  data?: string;
  /** Unix seconds; 0 = never. */
  expireAt?: number;
  override?: SubscribeOverride;
  recoverSince?: StreamPosition;
}

export interface ServerRefreshOptions {
  expired?: boolean;
  /** Unix seconds; 0 = never. */
  expireAt?: number;
  /** New connection info, JSON text. */
  info?: string;
}

/** A node's entry in `info`. */
export interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  num_clients: number;
  num_users: number;
  num_channels: number;
  num_subs: number;
  uptime: number;
}

export type SurveyOp = "channels" | "emulation" | "metrics";
const SURVEY_OPS: readonly string[] = ["channels", "emulation", "metrics"] satisfies SurveyOp[];

export type Control =
  | { type: "node_info"; from: string; info: NodeInfo }
  | { type: "subscribe"; from?: string; target: UserTarget; opts: ServerSubscribeOptions }
  | { type: "unsubscribe"; from?: string; target: UserTarget; channel: string }
  | {
    type: "disconnect";
    from?: string;
    target: UserTarget;
    code: number;
    reason: string;
    whitelist: string[];
  }
  | { type: "refresh"; from?: string; target: UserTarget; opts: ServerRefreshOptions }
  | { type: "survey"; from: string; id: string; op: SurveyOp; payload: Record<string, unknown> }
  | { type: "survey_reply"; from: string; id: string; result: unknown };

/** A control message as the controller carries it (its fields are checked on the way in). */
export function encodeControl(msg: Control): ControlMessage {
  return msg as unknown as ControlMessage;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const optional = <T>(v: unknown, check: (v: unknown) => v is T): boolean => v === undefined || check(v);
const isInteger = (v: unknown): v is number => Number.isInteger(v);
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";

function target(v: unknown): UserTarget | undefined {
  if (!isObject(v) || !isString(v.user) || !optional(v.client, isString) || !optional(v.session, isString)) {
    return undefined;
  }
  return { user: v.user, client: v.client as string | undefined, session: v.session as string | undefined };
}

function subscribeOptions(v: unknown): ServerSubscribeOptions | undefined {
  if (
    !isObject(v) || !isString(v.channel) || !optional(v.info, isString) || !optional(v.data, isString) ||
    !optional(v.expireAt, isInteger) || !optional(v.override, isObject) ||
    !optional(v.recoverSince, isPosition)
  ) return undefined;
  return v as unknown as ServerSubscribeOptions;
}

function isPosition(v: unknown): v is StreamPosition {
  return isObject(v) && isInteger(v.offset) && isString(v.epoch);
}

function refreshOptions(v: unknown): ServerRefreshOptions | undefined {
  if (
    !isObject(v) || !optional(v.expired, isBoolean) || !optional(v.expireAt, isInteger) ||
    !optional(v.info, isString)
  ) {
    return undefined;
  }
  return v as ServerRefreshOptions;
}

function nodeInfo(v: unknown): NodeInfo | undefined {
  if (!isObject(v) || !isString(v.uid) || !isString(v.name) || !isString(v.version)) return undefined;
  const counts = ["num_clients", "num_users", "num_channels", "num_subs", "uptime"] as const;
  return counts.every((k) => isInteger(v[k])) ? v as unknown as NodeInfo : undefined;
}

/** The message as a `Control`, or why it is not one. */
export function decodeControl(msg: unknown): Control | string {
  if (!isObject(msg) || !isString(msg.type)) return "no type";
  if (!optional(msg.from, isString)) return "bad sender";
  const from = msg.from as string | undefined;
  switch (msg.type) {
    case "node_info": {
      const info = nodeInfo(msg.info);
      return isString(from) && info ? { type: "node_info", from, info } : "malformed";
    }
    case "subscribe": {
      const t = target(msg.target);
      const opts = subscribeOptions(msg.opts);
      return t && opts ? { type: "subscribe", from, target: t, opts } : "malformed";
    }
    case "unsubscribe": {
      const t = target(msg.target);
      return t && isString(msg.channel)
        ? { type: "unsubscribe", from, target: t, channel: msg.channel }
        : "malformed";
    }
    case "disconnect": {
      const t = target(msg.target);
      if (!t || !isInteger(msg.code) || !isString(msg.reason)) return "malformed";
      const whitelist = Array.isArray(msg.whitelist) ? msg.whitelist.filter(isString) : [];
      return { type: "disconnect", from, target: t, code: msg.code, reason: msg.reason, whitelist };
    }
    case "refresh": {
      const t = target(msg.target);
      const opts = refreshOptions(msg.opts);
      return t && opts ? { type: "refresh", from, target: t, opts } : "malformed";
    }
    case "survey": {
      if (!isString(from) || !isString(msg.id) || !SURVEY_OPS.includes(msg.op as string)) {
        return "malformed";
      }
      const payload = isObject(msg.payload) ? msg.payload : {};
      return { type: "survey", from, id: msg.id, op: msg.op as SurveyOp, payload };
    }
    case "survey_reply":
      return isString(from) && isString(msg.id)
        ? { type: "survey_reply", from, id: msg.id, result: msg.result }
        : "malformed";
    default:
      return "unknown type";
  }
}
