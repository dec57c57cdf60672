/**
 * @module
 * JSON encoding of replies and pushes, and transport framing.
 *
 * Encoders build JSON text by concatenation around pre-serialised raw payloads, so application
 * data is never parsed or stringified again on the way out. A `PreparedPush` caches the bytes of
 * one push per wire shape (and its JSON text for text transports): the hub makes one per
 * publication and every subscriber gets the same `Uint8Array` (or string).
 */
import type { ClientInfo, Command, Publication, Raw, StreamPosition } from "../wire/protocol.ts";
import { COMMAND_METHODS } from "../wire/protocol.ts";
import { encodeClientInfo, encodePublication, RawJson, str } from "../wire/json.ts";
import { protobufReplyFromJson } from "./codec_protobuf.ts";

export { encodeClientInfo, encodePublication, RawJson, str };

const encoder = new TextEncoder();

/** How messages are delimited on a transport. */
export type Framing = "sse" | "ndjson";

/**
 * A wire shape is the pair (envelope, framing): bidirectional transports wrap pushes in
 * `{"push":…}`, unidirectional ones send them bare.
 */
export const Shape = { BidiSse: 0, BidiNdjson: 1, UniSse: 2, UniNdjson: 3, BidiProtobuf: 4 } as const;
export type Shape = typeof Shape[keyof typeof Shape];
export const SHAPE_COUNT = 5;

export function shapeOf(unidirectional: boolean, framing: Framing): Shape {
  return ((unidirectional ? 2 : 0) + (framing === "sse" ? 0 : 1)) as Shape;
}

export function frame(json: string, framing: Framing): Uint8Array {
  return encoder.encode(framing === "sse" ? `data: ${json}\n\n` : `${json}\n`);
}

/**
 * UTF-8 length of `text`, counted without encoding it: what a text message weighs in a client's
 * queue (the runtime encodes it on the way to the socket). A lone surrogate counts as the
 * replacement character it becomes (3 bytes).
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1); // NaN past the end
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair's two code units are 4 bytes
        i++;
        continue;
      }
    }
    bytes += c < 0x800 ? 1 : 2;
  }
  return bytes;
}

/** `{"push":` and `}` around a push body. */
const PUSH_WRAPPER_BYTES = 9;

/**
 * One push encoded lazily, at most once per wire shape (bytes) and per envelope (text, for text
 * transports), shared by all receivers: a fan-out to stream connections only makes no text, one to
 * JSON WebSockets only makes no bytes.
 */
export class PreparedPush {
  private readonly bytes: (Uint8Array | undefined)[] = new Array(SHAPE_COUNT);
  /** `{"push":body}`, made when a bidirectional text transport first asks. */
  private bidiText: string | undefined;
  /** UTF-8 bytes of `body`, counted when a text transport first asks (-1: not yet). */
  private bodyBytes = -1;
  /** `body` is the push object's JSON text without the `{"push":…}` wrapper. */
  constructor(readonly body: string) {}

  /** The push as one JSON text message: bare (unidirectional) or in its `{"push":…}` envelope. */
  textFor(unidirectional: boolean): string {
    return unidirectional ? this.body : (this.bidiText ??= `{"push":${this.body}}`);
  }

  /** UTF-8 bytes of `textFor(unidirectional)`. */
  textBytes(unidirectional: boolean): number {
    if (this.bodyBytes < 0) this.bodyBytes = utf8Length(this.body);
    return unidirectional ? this.bodyBytes : this.bodyBytes + PUSH_WRAPPER_BYTES;
  }

  bytesFor(shape: Shape): Uint8Array {
    let b = this.bytes[shape];
    if (!b && shape === Shape.BidiProtobuf) {
      b = protobufReplyFromJson(`{"push":${this.body}}`);
      this.bytes[shape] = b;
    }
    if (!b) {
      const uni = shape >= Shape.UniSse;
      const json = uni ? this.body : `{"push":${this.body}}`;
      b = frame(json, shape === Shape.BidiSse || shape === Shape.UniSse ? "sse" : "ndjson");
      this.bytes[shape] = b;
    }
    return b;
  }
}

/** Push body `{"channel":…,"<kind>":<body>}`. */
export function pushBody(channel: string, kind: string, body: string): string {
  return `{"channel":${str(channel)},"${kind}":${body}}`;
}

export function publicationPush(channel: string, pub: Publication): PreparedPush {
  return new PreparedPush(pushBody(channel, "pub", encodePublication(pub)));
}

export function joinLeavePush(channel: string, kind: "join" | "leave", info: ClientInfo): PreparedPush {
  return new PreparedPush(pushBody(channel, kind, `{"info":${encodeClientInfo(info)}}`));
}

export function disconnectPushBody(code: number, reason: string): string {
  // omitempty, as Centrifugo's encoder: a code 0 or an empty reason (the server API takes them) is left out
  if (code !== 0 && reason !== "") return `{"disconnect":{"code":${code},"reason":${str(reason)}}}`;
  return code !== 0
    ? `{"disconnect":{"code":${code}}}`
    : reason !== ""
    ? `{"disconnect":{"reason":${str(reason)}}}`
    : `{"disconnect":{}}`;
}

export function unsubscribePushBody(channel: string, code: number, reason: string): string {
  const body = `{"code":${code},"reason":${str(reason)}}`;
  // no channel (a server API call without one): the field is left out, as protobuf's JSON does
  return channel === "" ? `{"unsubscribe":${body}}` : pushBody(channel, "unsubscribe", body);
}

/** A reply to command `id` with result `method` (JSON text of the result object). */
export function encodeReply(id: number, method: string, result: string): string {
  return `{"id":${id},"${method}":${result}}`;
}

export function encodeErrorReply(
  id: number,
  error: { code: number; message: string; temporary?: boolean },
): string {
  const temp = error.temporary ? `,"temporary":true` : "";
  // An empty message is left out, as the reference encoder does (a proxy's error may have none).
  const message = error.message === "" ? "" : `,"message":${str(error.message)}`;
  return `{"id":${id},"error":{"code":${error.code}${message}${temp}}}`;
}

/**
 * Builds a JSON object from fields, omitting `undefined`, `false`, `0` and `""` the way the
 * reference encoder does (omitempty). Values marked `raw()` are inserted as JSON text.
 */
export function jsonObject(fields: Record<string, unknown>, always: readonly string[] = []): string {
  const parts: string[] = [];
  for (const key in fields) {
    const value = fields[key];
    if (!always.includes(key) && (value === undefined || value === false || value === 0 || value === "")) {
      continue;
    }
    if (value instanceof RawJson) parts.push(`"${key}":${value.text}`);
    else parts.push(`"${key}":${JSON.stringify(value)}`);
  }
  return `{${parts.join(",")}}`;
}

export const raw = (
  text: string | undefined,
): RawJson | undefined => (text === undefined ? undefined : new RawJson(text));

export function encodeStreamPosition(sp: StreamPosition): { offset: number; epoch: string } {
  return { offset: sp.offset, epoch: sp.epoch };
}

/** Serialises an application value to raw JSON text (no raw newlines, by JSON.stringify's design). */
export function toRaw(value: unknown): Raw {
  if (value instanceof RawJson) return value.text;
  return value === undefined ? "null" : JSON.stringify(value);
}

export class CommandDecodeError extends Error {
  override name = "CommandDecodeError";
}

/**
 * Splits a newline-delimited frame into commands. Each must be a JSON object whose `id`, if
 * present, is a non-negative integer and which carries at most one known method. Blank lines are
 * skipped. Throws `CommandDecodeError` on the first malformed line.
 */
export function decodeCommands(text: string): Command[] {
  const out: Command[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new CommandDecodeError("command is not valid JSON");
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new CommandDecodeError("command must be a JSON object");
    }
    const cmd = value as Record<string, unknown>;
    if (
      cmd.id !== undefined &&
      (typeof cmd.id !== "number" || !Number.isInteger(cmd.id) || cmd.id < 0 || cmd.id > 0xffffffff)
    ) {
      throw new CommandDecodeError("command id must be a uint32");
    }
    let methods = 0;
    for (const m of COMMAND_METHODS) {
      const body = cmd[m];
      if (body === undefined || body === null) continue;
      if (typeof body !== "object" || Array.isArray(body)) {
        throw new CommandDecodeError(`${m} must be an object`);
      }
      methods++;
    }
    if (methods > 1) throw new CommandDecodeError("command carries more than one method");
    out.push({ ...cmd, id: (cmd.id as number | undefined) ?? 0 } as Command);
  }
  return out;
}

/** The method a decoded command carries, or undefined for a pong (`{}`). */
export function commandMethod(cmd: Command): (typeof COMMAND_METHODS)[number] | undefined {
  for (const m of COMMAND_METHODS) {
    const body = (cmd as unknown as Record<string, unknown>)[m];
    if (body !== undefined && body !== null) return m;
  }
  return undefined;
}
