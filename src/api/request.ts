/**
 * @module
 * Server API request bodies read the way Centrifugo reads them: Go's `encoding/json` decoding into
 * its typed request structs. What that means, and what this module reproduces:
 *
 * - a value of the wrong JSON type anywhere (a number for a string, an object for a list, a
 *   negative number for an unsigned field, a fraction for an integer) fails the whole request:
 *   Centrifugo answers HTTP 400 "Bad Request" before running anything (`ShapeError` here);
 * - `null` is "not set" everywhere except in a payload (`data`, `info`, `params`), which keeps the
 *   JSON `null` it was given; a `null` inside a string list or map is "";
 * - field names match exactly, else case-insensitively (`Channel` is `channel`); unknown fields are
 *   ignored;
 * - an absent field is its zero value ("" / false / 0), which the methods then judge (an empty
 *   `channel` is 107 "bad request", an empty `user` addresses anonymous connections).
 *
 * One thing it cannot see: JSON.parse turns `1.0` and `1e2` into integers, which Go refuses for an
 * integer field (it reads the literal). Those two spellings are accepted here.
 */

/** A scalar or collection type of a request field, named after the Go type it decodes into. */
type Kind =
  | "string"
  | "bool"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  /** Any JSON value, kept as it is (`apiproto.Raw`). */
  | "raw"
  /** `map[string]string` */
  | "string_map"
  /** `[]string` */
  | "strings"
  /** A request struct Sluice does not implement: an object (or null), its fields unchecked. */
  | "object";

/** A list of structs (`[]*T`): a null element is a nil pointer. */
export class ListOf {
  constructor(readonly shape: Shape) {}
}

/** A field's type: a kind, a nested struct (a pointer: absent or null is unset), or a list of them. */
export type FieldType = Kind | Shape | ListOf;

/** The fields of one request struct. */
export interface Shape {
  readonly [field: string]: FieldType;
}

/** A body that Go's typed decoding would refuse: `path` names the field, for the log. */
export class ShapeError extends Error {
  override name = "ShapeError";
  constructor(readonly path: string, readonly want: string) {
    super(`${path || "body"}: want ${want}`);
  }
}

const INT_RANGE: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, 2 ** 64 - 1],
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A key folded as Go's `encoding/json` folds field names: ASCII letters upper-cased, and the two
 * non-ASCII letters that fold onto ASCII ones (KELVIN SIGN → K, LONG S → S). Nothing else folds
 * onto the (ASCII) field names.
 */
function fold(key: string): string {
  let out = "";
  for (const ch of key) {
    if (ch >= "a" && ch <= "z") out += String.fromCharCode(ch.charCodeAt(0) - 32);
    else if (ch === "\u212a") out += "K";
    else if (ch === "\u017f") out += "S";
    else out += ch;
  }
  return out;
}

const foldedNames = new WeakMap<Shape, Map<string, string>>();

/** The field a body key sets: its exact name, else the one it matches case-insensitively. */
function fieldOf(shape: Shape, key: string): string | undefined {
  if (Object.hasOwn(shape, key)) return key;
  let names = foldedNames.get(shape);
  if (!names) {
    names = new Map(Object.keys(shape).map((name) => [fold(name), name]));
    foldedNames.set(shape, names);
  }
  return names.get(fold(key));
}

/**
 * A struct's fields from a JSON value: every field present with its zero value when the body does
 * not set it (nested structs and payloads: undefined). `null` is the empty struct. Throws
 * `ShapeError` for a value Go would refuse.
 */
export function decodeStruct(shape: Shape, value: unknown, path = ""): Record<string, unknown> {
  if (value !== null && !isObject(value)) throw new ShapeError(path, "an object");
  // every field at its zero value, copied from one record per shape (a batch decodes hundreds)
  const out: Record<string, unknown> = { ...zeroOf(shape) };
  if (value === null) return out;
  for (const key in value) {
    const name = fieldOf(shape, key);
    if (name === undefined) continue; // unknown fields are ignored
    const v = value[key];
    // null leaves a field as it is, except a payload, which keeps the null
    if (v === null && shape[name] !== "raw") continue;
    out[name] = decodeField(shape[name], v, path, name);
  }
  return out;
}

const zeros = new WeakMap<Shape, Readonly<Record<string, unknown>>>();

/** A shape's fields at their zero values (lists: one shared empty, frozen list). */
function zeroOf(shape: Shape): Readonly<Record<string, unknown>> {
  let z = zeros.get(shape);
  if (!z) {
    const fields: Record<string, unknown> = {};
    for (const name in shape) fields[name] = zero(shape[name]);
    zeros.set(shape, z = Object.freeze(fields));
  }
  return z;
}

const NO_ITEMS: readonly never[] = Object.freeze([]);

/** A field's path, for an error (built only then). */
const pathOf = (parent: string, name: string) => parent ? `${parent}.${name}` : name;

function zero(type: FieldType): unknown {
  if (type instanceof ListOf) return NO_ITEMS;
  switch (type) {
    case "string":
      return "";
    case "bool":
      return false;
    case "int32":
    case "int64":
    case "uint32":
    case "uint64":
      return 0;
    case "strings":
      return NO_ITEMS;
    default:
      return undefined;
  }
}

function decodeField(type: FieldType, v: unknown, parent: string, name: string): unknown {
  if (type instanceof ListOf) {
    if (!Array.isArray(v)) throw new ShapeError(pathOf(parent, name), "a list");
    return v.map((item, i) =>
      item === null ? undefined : decodeStruct(type.shape, item, `${pathOf(parent, name)}[${i}]`)
    );
  }
  if (typeof type === "object") return decodeStruct(type, v, pathOf(parent, name));
  switch (type) {
    case "raw":
      return v;
    case "string":
      if (typeof v !== "string") throw new ShapeError(pathOf(parent, name), "a string");
      return v;
    case "bool":
      if (typeof v !== "boolean") throw new ShapeError(pathOf(parent, name), "a boolean");
      return v;
    case "strings":
      if (!Array.isArray(v)) throw new ShapeError(pathOf(parent, name), "a list of strings");
      return v.map((s, i) => {
        if (s === null) return "";
        if (typeof s !== "string") throw new ShapeError(`${pathOf(parent, name)}[${i}]`, "a string");
        return s;
      });
    case "string_map": {
      if (!isObject(v)) throw new ShapeError(pathOf(parent, name), "an object of strings");
      const out: Record<string, string> = {};
      for (const k in v) {
        const s = v[k];
        if (s !== null && typeof s !== "string") {
          throw new ShapeError(`${pathOf(parent, name)}.${k}`, "a string");
        }
        out[k] = s ?? "";
      }
      return out;
    }
    case "object":
      if (!isObject(v)) throw new ShapeError(pathOf(parent, name), "an object");
      return v;
    default: {
      const [min, max] = INT_RANGE[type];
      // -0 parses as a signed integer in Go, not as an unsigned one
      if (
        typeof v !== "number" || !Number.isInteger(v) || v < min || v > max ||
        (min === 0 && Object.is(v, -0))
      ) {
        throw new ShapeError(pathOf(parent, name), `an integer (${type})`);
      }
      return v;
    }
  }
}

// ---------------------------------------------------------------------------------- the structs

const streamPosition: Shape = { offset: "uint64", epoch: "string" };
const boolValue: Shape = { value: "bool" };

/** Centrifugo's `label_filter` (decoded and checked, then unused, as Centrifugo's OSS API does). */
const filterNode: Record<string, FieldType> = { op: "string", key: "string", cmp: "string", val: "string" };
filterNode.vals = "strings";
filterNode.nodes = new ListOf(filterNode);

const publishFields: Shape = {
  data: "raw",
  b64data: "string",
  skip_history: "bool",
  tags: "string_map",
  idempotency_key: "string",
  delta: "bool",
  version: "uint64",
  version_epoch: "string",
};

/** Which of a user's connections a call addresses. */
const userTarget: Shape = {
  user: "string",
  client: "string",
  session: "string",
  label_filter: filterNode,
  all_users: "bool",
};

/** The request struct of every method Sluice implements, by method name. */
export const SHAPES = {
  publish: { channel: "string", ...publishFields },
  broadcast: { channels: "strings", ...publishFields },
  subscribe: {
    channel: "string",
    ...userTarget,
    expire_at: "int64",
    info: "raw",
    b64info: "string",
    data: "raw",
    b64data: "string",
    recover_since: streamPosition,
    override: {
      presence: boolValue,
      join_leave: boolValue,
      force_recovery: boolValue,
      force_positioning: boolValue,
      force_push_join_leave: boolValue,
    },
  },
  unsubscribe: { channel: "string", ...userTarget },
  disconnect: { ...userTarget, disconnect: { code: "uint32", reason: "string" }, whitelist: "strings" },
  refresh: { ...userTarget, expired: "bool", expire_at: "int64", info: "raw" },
  presence: { channel: "string" },
  presence_stats: { channel: "string" },
  history: { channel: "string", limit: "int32", since: streamPosition, reverse: "bool" },
  history_remove: { channel: "string" },
  channels: { pattern: "string" },
  info: {},
  rpc: { method: "string", params: "raw" },
} satisfies Record<string, Shape>;

export type MethodName = keyof typeof SHAPES;

/**
 * A batch command's methods in the order Centrifugo looks for them (the first one set runs), then
 * the ones it knows but Sluice does not implement (PRO and newer features): their requests are
 * only checked to be objects, and they answer 104 "not found".
 */
export const COMMAND_METHODS: readonly MethodName[] = [
  "publish",
  "broadcast",
  "subscribe",
  "unsubscribe",
  "disconnect",
  "history",
  "history_remove",
  "presence",
  "presence_stats",
  "info",
  "rpc",
  "refresh",
  "channels",
];

const UNIMPLEMENTED_COMMANDS = [
  "connections",
  "update_user_status",
  "get_user_status",
  "delete_user_status",
  "block_user",
  "unblock_user",
  "revoke_token",
  "invalidate_user_tokens",
  "device_register",
  "device_update",
  "device_remove",
  "device_list",
  "device_topic_list",
  "device_topic_update",
  "user_topic_list",
  "user_topic_update",
  "send_push_notification",
  "update_push_status",
  "cancel_push",
  "map_publish",
  "map_remove",
  "map_read_state",
  "map_read_stream",
  "map_stats",
  "map_clear",
  "shared_poll_publish",
];

const command: Record<string, FieldType> = {};
for (const m of COMMAND_METHODS) command[m] = SHAPES[m];
for (const m of UNIMPLEMENTED_COMMANDS) command[m] = "object";

export const BATCH_SHAPE: Shape = { commands: new ListOf(command), parallel: "bool" };
