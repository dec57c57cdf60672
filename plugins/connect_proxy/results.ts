/**
 * @module
 * The `result` of each proxy's answer, read as Centrifugo reads it into the hook's result:
 * `null` fields count as absent, `b64info`/`b64data` (when not empty) win over `info`/`data` and
 * must decode to JSON, overrides take Centrifugo's `{value: …}` form. A field of the wrong type is
 * the backend's fault.
 */
import {
  type ConnectingResult,
  parseOverride,
  type PublishResult,
  type RefreshResult,
  type RpcResult,
  type SubRefreshResult,
  type SubscribeOptionsResult,
  type SubscribeOverride,
  type SubscribeResult,
} from "sluice";
import { fault, isObject } from "./envelope.ts";
import type { Kind } from "./settings.ts";

/** A string field: absent, null or a string; `""` counts as absent. */
function stringField(kind: Kind, r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw fault(kind, `${key} must be a string, got ${JSON.stringify(v)}`);
  return v === "" ? undefined : v;
}

/** Unix seconds; 0 or absent = none. */
function expireAtField(kind: Kind, r: Record<string, unknown>, key = "expire_at"): number | undefined {
  const v = r[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw fault(kind, `${key} must be Unix seconds, got ${JSON.stringify(v)}`);
  }
  return v;
}

function boolField(kind: Kind, r: Record<string, unknown>, key: string): boolean {
  const v = r[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw fault(kind, `${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** `<name>` (raw JSON) or `b64<name>` (base64 of JSON text; wins when not empty). */
function jsonField(kind: Kind, r: Record<string, unknown>, name: string, what = name): unknown {
  const b64 = stringField(kind, r, `b64${name}`);
  if (b64 !== undefined) {
    let text: string;
    try {
      const bin = atob(b64);
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw fault(kind, `b64${what} is not valid base64 of UTF-8 text`);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw fault(kind, `b64${what} does not decode to JSON (Sluice speaks the JSON protocol)`);
    }
  }
  const v = r[name];
  return v === null ? undefined : v;
}

/** Centrifugo's override: `{presence: {value: true}, ...}` (a bare boolean is accepted too). */
function overrideField(kind: Kind, r: Record<string, unknown>, what: string): SubscribeOverride | undefined {
  try {
    const parsed = parseOverride(r.override, what, { unknown: "ignore", lenient: true });
    return parsed && Object.keys(parsed).length > 0 ? parsed : undefined;
  } catch (e) {
    throw fault(kind, (e as Error).message);
  }
}
export function connectResult(r: Record<string, unknown>): ConnectingResult {
  const kind = "connect";
  const user = r.user === undefined || r.user === null ? "" : r.user;
  if (typeof user !== "string") throw fault(kind, `user must be a string, got ${JSON.stringify(user)}`);
  const out: ConnectingResult = { user };
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const data = jsonField(kind, r, "data");
  if (data !== undefined) out.data = data;
  const meta = r.meta === null ? undefined : r.meta;
  if (meta !== undefined) out.meta = meta;
  if (r.channels !== undefined && r.channels !== null) {
    if (!Array.isArray(r.channels) || !r.channels.every((c) => typeof c === "string")) {
      throw fault(kind, "channels must be an array of strings");
    }
    if (r.channels.length > 0) out.channels = [...r.channels];
  }
  if (r.subs !== undefined && r.subs !== null) {
    if (!isObject(r.subs)) throw fault(kind, "subs must be an object {channel: options}");
    const subs: Record<string, SubscribeOptionsResult> = {};
    for (const [channel, o] of Object.entries(r.subs)) {
      const what = `subs[${JSON.stringify(channel)}]`;
      if (o === null || o === undefined) {
        subs[channel] = {};
        continue;
      }
      if (!isObject(o)) throw fault(kind, `${what} must be an object`);
      const opts: SubscribeOptionsResult = {};
      const chInfo = jsonField(kind, o, "info", `${what}.info`);
      if (chInfo !== undefined) opts.info = chInfo;
      const chData = jsonField(kind, o, "data", `${what}.data`);
      if (chData !== undefined) opts.data = chData;
      const override = overrideField(kind, o, `${what}.override`);
      if (override) opts.override = override;
      subs[channel] = opts;
    }
    if (Object.keys(subs).length > 0) out.subs = subs;
  }
  return out;
}

export function refreshResult(r: Record<string, unknown>): RefreshResult {
  const kind = "refresh";
  if (boolField(kind, r, "expired")) return { expired: true };
  const out: RefreshResult = {};
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const meta = r.meta === null ? undefined : r.meta;
  if (meta !== undefined) out.meta = meta;
  return out;
}

export function subscribeResult(r: Record<string, unknown>): SubscribeResult {
  const kind = "subscribe";
  const out: SubscribeResult = {};
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const data = jsonField(kind, r, "data");
  if (data !== undefined) out.data = data;
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const override = overrideField(kind, r, "override");
  if (override) out.override = override;
  return out;
}

export function publishResult(r: Record<string, unknown>): PublishResult {
  const kind = "publish";
  const out: PublishResult = {};
  // Centrifugo: `data` when present, else `b64data`.
  if (r.data !== undefined && r.data !== null) out.data = r.data;
  else {
    const data = jsonField(kind, r, "data");
    if (data !== undefined) out.data = data;
  }
  if (boolField(kind, r, "skip_history")) out.skipHistory = true;
  if (r.tags !== undefined && r.tags !== null) {
    if (!isObject(r.tags) || !Object.values(r.tags).every((v) => typeof v === "string")) {
      throw fault(kind, "tags must be an object of strings");
    }
    if (Object.keys(r.tags).length > 0) out.tags = { ...r.tags } as Record<string, string>;
  }
  return out;
}

export function rpcResult(r: Record<string, unknown>): RpcResult {
  const data = jsonField("rpc", r, "data");
  return data === undefined ? {} : { data };
}

export function subRefreshResult(r: Record<string, unknown>): SubRefreshResult {
  const kind = "sub_refresh";
  if (boolField(kind, r, "expired")) return { expired: true };
  const out: SubRefreshResult = {};
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  return out;
}
