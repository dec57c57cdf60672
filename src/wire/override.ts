/**
 * @module
 * Per-subscription option overrides, as tokens, the server API and proxies write them in
 * Centrifugo: `{"presence": {"value": true}, "force_recovery": {"value": false}}`. Parsed once
 * here; callers turn the `TypeError` into their own error (invalid token, 107, proxy fault).
 */

export const OVERRIDE_KEYS = [
  "presence",
  "join_leave",
  "force_push_join_leave",
  "force_recovery",
  "force_positioning",
] as const;

/** Flattened overrides: `{presence: true}`. */
export type SubscribeOverride = Partial<Record<typeof OVERRIDE_KEYS[number], boolean>>;

export interface OverrideParseOptions {
  /** Unknown option names: skipped (tokens, proxies: forward compatible) or refused (the API). */
  unknown: "ignore" | "refuse";
  /** Also accept `{"presence": true}` and skip `{"presence": null}`: hand-written proxy backends send both. */
  lenient?: boolean;
}

export function parseOverride(
  v: unknown,
  where: string,
  opts: OverrideParseOptions,
): SubscribeOverride | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`${where} must be an object`);
  const out: SubscribeOverride = {};
  for (const [key, raw] of Object.entries(v as Record<string, unknown>)) {
    if (!(OVERRIDE_KEYS as readonly string[]).includes(key)) {
      if (opts.unknown === "refuse") throw new TypeError(`${where}.${key} is not a known option`);
      continue;
    }
    if (raw === undefined || (raw === null && opts.lenient)) continue;
    // `{}` is protobuf JSON for BoolValue{value: false}: Go backends omit default fields.
    const value = typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? ((raw as { value?: unknown }).value ?? false)
      : opts.lenient && typeof raw === "boolean"
      ? raw
      : undefined;
    if (typeof value !== "boolean") throw new TypeError(`${where}.${key} must be {"value": boolean}`);
    out[key as typeof OVERRIDE_KEYS[number]] = value;
  }
  return out;
}
