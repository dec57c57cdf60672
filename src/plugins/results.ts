/**
 * @module
 * Checks for values plugins hand back (hook results), and their conversion to the JSON text the
 * core carries. A result that fails a check is the plugin's fault: the client gets 100.
 */
import { OVERRIDE_KEYS } from "../core/override.ts";

/** JSON text of a plugin-supplied value, or undefined when absent. */
export function jsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

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
    if (!(OVERRIDE_KEYS as readonly string[]).includes(k)) return `${what}.${k} is not an override option`;
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

/** `onRefresh` / `onSubRefresh`: `{expired: true}` or `{expireAt?, info?, meta?}`. */
export function checkRefreshResult(value: unknown): string | undefined {
  if (typeof value !== "object" || Array.isArray(value)) return "expected an object";
  const r = value as Record<string, unknown>;
  if (r.expired !== undefined && typeof r.expired !== "boolean") return "expired must be a boolean";
  return checkExpireAt(r.expireAt) ?? checkJson(r.info, "info") ?? checkJson(r.meta, "meta");
}
