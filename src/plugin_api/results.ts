/**
 * @module
 * The one place each hook's answer is checked: `RESULT_CHECKS`, by hook name. An answer that fails
 * its check is the plugin's fault — logged with the plugin and hook named, and the client gets
 * 100. Results are strict: a key the result type does not have is an error too (a plugin that
 * returns `{temp: 42}` from `onPublish` meant `{data: {temp: 42}}`; silently delivering the
 * original would hide the bug).
 */
import { OVERRIDE_KEYS } from "../wire/override.ts";
import { didYouMean } from "../did_you_mean.ts";
import type { HookName } from "./types.ts";

type Check = (value: unknown) => string | undefined;

/** Why `value` cannot be sent as JSON, or undefined when it can (or is absent). */
export function checkJson(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    if (JSON.stringify(value) === undefined) return `${what} is not JSON (a function or a symbol?)`;
  } catch (err) {
    return `${what} is not JSON: ${(err as Error).message}`;
  }
  return undefined;
}

export function checkOverride(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `${what} must be an object`;
  for (const [k, v] of Object.entries(value)) {
    if (!(OVERRIDE_KEYS as readonly string[]).includes(k)) {
      return `${what}.${k} is not an override option${didYouMean(k, OVERRIDE_KEYS)}`;
    }
    if (typeof v !== "boolean") return `${what}.${k} must be a boolean`;
  }
  return undefined;
}

export function checkExpireAt(value: unknown, what = "expireAt"): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    return `${what} must be Unix seconds`;
  }
  return undefined;
}

/** An object whose keys are all in `keys`; `required` ones are shown without "?" in the message. */
function checkKeys(
  value: unknown,
  keys: readonly string[],
  hint = "",
  required = ["user"],
): string | undefined {
  const shape = `{${keys.map((k) => required.includes(k) ? k : `${k}?`).join(", ")}}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `expected an object ${shape}, got ${Array.isArray(value) ? "an array" : typeof value}`;
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      return `unknown key "${key}"${didYouMean(key, keys)}: a result is ${shape}${hint}`;
    }
  }
  return undefined;
}

function checkStrings(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((c) => typeof c === "string")) {
    return `${what} must be an array of strings`;
  }
  return undefined;
}

const CONNECTING_KEYS = ["user", "expireAt", "info", "data", "channels", "subs", "meta"];
const SUB_OPTION_KEYS = ["info", "data", "override"];

function checkConnectingResult(value: unknown): string | undefined {
  const problem = checkKeys(value, CONNECTING_KEYS);
  if (problem) return problem;
  const r = value as Record<string, unknown>;
  if (typeof r.user !== "string") return 'user must be a string ("" for anonymous)';
  return checkExpireAt(r.expireAt) ?? checkStrings(r.channels, "channels") ?? checkSubs(r.subs) ??
    checkJson(r.info, "info") ?? checkJson(r.data, "data") ?? checkJson(r.meta, "meta");
}

function checkSubs(subs: unknown): string | undefined {
  if (subs === undefined) return undefined;
  if (subs === null || typeof subs !== "object" || Array.isArray(subs)) return "subs must be an object";
  for (const [ch, opts] of Object.entries(subs)) {
    const where = `subs["${ch}"]`;
    const shape = checkKeys(opts, SUB_OPTION_KEYS);
    if (shape) return `${where}: ${shape}`;
    const o = opts as Record<string, unknown>;
    const problem = checkJson(o.info, `${where}.info`) ?? checkJson(o.data, `${where}.data`) ??
      checkOverride(o.override, `${where}.override`);
    if (problem) return problem;
  }
  return undefined;
}

/** `onRefresh`: `{expired: true}` or `{expireAt?, info?, meta?}`. */
function checkRefreshResult(value: unknown): string | undefined {
  const r = value as Record<string, unknown>;
  return checkKeys(value, ["expired", "expireAt", "info", "meta"]) ?? checkExpired(r.expired) ??
    checkExpireAt(r.expireAt) ?? checkJson(r.info, "info") ?? checkJson(r.meta, "meta");
}

/** `onSubRefresh`: `{expired: true}` or `{expireAt?, info?}`. */
function checkSubRefreshResult(value: unknown): string | undefined {
  const r = value as Record<string, unknown>;
  return checkKeys(value, ["expired", "expireAt", "info"]) ?? checkExpired(r.expired) ??
    checkExpireAt(r.expireAt) ?? checkJson(r.info, "info");
}

function checkExpired(value: unknown): string | undefined {
  return value === undefined || typeof value === "boolean" ? undefined : "expired must be a boolean";
}

function checkSubscribeResult(value: unknown): string | undefined {
  const r = value as Record<string, unknown>;
  return checkKeys(value, ["info", "data", "expireAt", "override", "clientRefresh"]) ??
    checkJson(r.info, "info") ?? checkJson(r.data, "data") ?? checkExpireAt(r.expireAt) ??
    checkOverride(r.override, "override") ??
    (r.clientRefresh === undefined || typeof r.clientRefresh === "boolean"
      ? undefined
      : "clientRefresh must be a boolean");
}

function checkPublishResult(value: unknown): string | undefined {
  const problem = checkKeys(
    value,
    ["data", "skipHistory", "tags"],
    "; to replace what is published, return {data: …}",
  );
  if (problem) return problem;
  const r = value as Record<string, unknown>;
  if (r.skipHistory !== undefined && typeof r.skipHistory !== "boolean") {
    return "skipHistory must be a boolean";
  }
  if (
    r.tags !== undefined && (r.tags === null || typeof r.tags !== "object" || Array.isArray(r.tags) ||
      !Object.values(r.tags).every((t) => typeof t === "string"))
  ) return "tags must be an object of strings";
  return checkJson(r.data, "data");
}

function checkRpcResult(value: unknown): string | undefined {
  return checkKeys(value, ["data"], "; return the reply as {data: …}") ??
    checkJson((value as Record<string, unknown>).data, "data");
}

/** Every hook whose answer the server uses, with its check. Observe and app hooks answer nothing. */
export const RESULT_CHECKS: Partial<Record<HookName, Check>> = {
  onConnecting: checkConnectingResult,
  onRefresh: checkRefreshResult,
  onSubscribe: checkSubscribeResult,
  onSubRefresh: checkSubRefreshResult,
  onPublish: checkPublishResult,
  onRpc: checkRpcResult,
};
