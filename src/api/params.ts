/**
 * @module
 * Validation of server API request fields. Every failure is a 107 `ClientError` naming the field,
 * so a malformed request is always answered "bad request", never 500.
 */
import { ClientError, ErrorCode } from "../errors.ts";
import { toRaw } from "../core/codec.ts";
import { parseOverride, type SubscribeOverride } from "../wire/override.ts";
import type { StreamPosition } from "../wire/protocol.ts";
import { base64ToBytes } from "../wire/base64.ts";
import { payloadTextFromBytes } from "../wire/binary.ts";

export type Params = Record<string, unknown>;

export const bad = (message: string): ClientError => new ClientError(ErrorCode.BadRequest, message);

const present = (v: unknown) => v !== undefined && v !== null;

export function requireString(params: Params, key: string): string {
  const v = params[key];
  if (typeof v !== "string" || v === "") throw bad(`${key} required`);
  return v;
}

/** A string field that must be present but may be empty (`user: ""` addresses anonymous users). */
export function requireStringAllowEmpty(params: Params, key: string): string {
  const v = params[key];
  if (typeof v !== "string") throw bad(`${key} required`);
  return v;
}

export function optionalString(params: Params, key: string): string | undefined {
  const v = params[key];
  if (!present(v)) return undefined;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v === "" ? undefined : v;
}

export function optionalBool(params: Params, key: string): boolean {
  const v = params[key];
  if (!present(v)) return false;
  if (typeof v !== "boolean") throw bad(`${key} must be a boolean`);
  return v;
}

export function optionalInt(params: Params, key: string, min = 0): number | undefined {
  const v = params[key];
  if (!present(v)) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw bad(`${key} must be an integer ≥ ${min}`);
  }
  return v;
}

export function optionalStrings(params: Params, key: string): string[] {
  const v = params[key];
  if (!present(v)) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw bad(`${key} must be an array of strings`);
  }
  return v;
}

export function optionalTags(params: Params): Record<string, string> | undefined {
  const v = params.tags;
  if (!present(v)) return undefined;
  if (
    typeof v !== "object" || Array.isArray(v) ||
    !Object.values(v as object).every((t) => typeof t === "string")
  ) {
    throw bad("tags must be an object of strings");
  }
  return v as Record<string, string>;
}

/**
 * JSON text for a payload given as `key` (any JSON) or `b64key` (base64 of any bytes: JSON text
 * as it is, other bytes as `{"$binary": …}` — protobuf clients get the bytes back exactly; see
 * `wire/binary.ts`).
 */
export function payload(params: Params, key: string, required: boolean): string | undefined {
  const b64 = params[`b64${key}`];
  if (present(b64) && b64 !== "") {
    if (typeof b64 !== "string") throw bad(`b64${key} must be a base64 string`);
    let bytes: Uint8Array;
    try {
      bytes = base64ToBytes(b64);
    } catch {
      throw bad(`b64${key} must be a base64 string`);
    }
    return payloadTextFromBytes(bytes);
  }
  const v = params[key];
  if (v === undefined) {
    if (required) throw bad(`${key} required`);
    return undefined;
  }
  return toRaw(v);
}

export function optionalPosition(params: Params, key: string): StreamPosition | undefined {
  const v = params[key];
  if (!present(v)) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw bad(`${key} must be {offset, epoch}`);
  const sp = v as Params;
  return { offset: optionalInt(sp, "offset") ?? 0, epoch: optionalString(sp, "epoch") ?? "" };
}

export function optionalOverride(params: Params): SubscribeOverride | undefined {
  try {
    return parseOverride(params.override, "override", { unknown: "refuse" });
  } catch (err) {
    throw bad((err as Error).message);
  }
}
