/**
 * @module
 * Centrifugal's protobuf protocol, as a translation at the edge: protobuf commands become the same
 * command objects the JSON protocol decodes to, and the JSON text of replies and pushes becomes
 * protobuf `Reply` messages — so one protocol implementation serves both. Messages are framed
 * varint-length-delimited, as the SDK's protobuf build writes and reads them. The message code is
 * generated from `proto/client.proto` (`npm run gen:proto`); framing is the library's
 * size-delimited encoding.
 *
 * Payloads (`data`, `info`) are JSON inside Sluice (see `wire/binary.ts`): a protobuf client's bytes
 * travel as their JSON text when they are JSON, else as `{"$binary": …}`, and reach protobuf
 * subscribers as the same bytes either way.
 */
import { fromBinary, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { sizeDelimitedEncode, sizeDelimitedPeek } from "@bufbuild/protobuf/wire";
import { CommandSchema, EmulationRequestSchema, ReplySchema } from "../wire/proto/client_pb.ts";
import { type Command, COMMAND_METHODS } from "../wire/protocol.ts";
import { base64ToBytes, bytesToBase64 } from "../wire/base64.ts";
import { payloadBytesFromValue, payloadTextFromBytes } from "../wire/binary.ts";
import { RawJson } from "../wire/json.ts";

/** A frame that is not a valid protobuf command (the client is disconnected as malformed). */
export class ProtobufDecodeError extends Error {
  override name = "ProtobufDecodeError";
}

/** Fields that are `bytes` in the protocol and JSON values in Sluice's JSON replies. */
const BYTES_FIELDS = new Set(["data", "conn_info", "chan_info"]);
/** Map fields: their keys are names (channels, client ids, tags), never field names. */
const MAP_FIELDS = new Set(["subs", "presence", "tags", "headers"]);

// ------------------------------------------------------------------ commands in

/** Varint-delimited protobuf commands → command objects, as `decodeCommands` gives for JSON. */
export function decodeProtobufCommands(bytes: Uint8Array): Command[] {
  const out: Command[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const peek = sizeDelimitedPeek(rest);
    if (peek.eof || peek.offset + peek.size > rest.length) {
      throw new ProtobufDecodeError("truncated protobuf command");
    }
    let message;
    try {
      message = fromBinary(CommandSchema, rest.subarray(peek.offset, peek.offset + peek.size));
    } catch (err) {
      throw new ProtobufDecodeError(`malformed protobuf command: ${(err as Error).message}`);
    }
    const json = toJson(CommandSchema, message, { useProtoFieldName: true }) as Record<string, unknown>;
    out.push(commandFromProtoJson(json));
    rest = rest.subarray(peek.offset + peek.size);
  }
  return out;
}

function commandFromProtoJson(json: Record<string, unknown>): Command {
  const cmd: Record<string, unknown> = {};
  if (json.id !== undefined) cmd.id = json.id;
  for (const method of COMMAND_METHODS) {
    const body = json[method] as Record<string, unknown> | undefined;
    if (body === undefined) continue;
    if (method === "publish" && typeof body.data === "string") {
      // A publication keeps its payload's text, so protobuf subscribers get the publisher's bytes.
      const { data, ...rest } = body;
      const converted = convertPayloads(rest, method, FROM_PROTO_JSON) as Record<string, unknown>;
      converted.data = new RawJson(payloadTextFromBytes(base64ToBytes(data), true));
      cmd[method] = converted;
    } else cmd[method] = convertPayloads(body, method, FROM_PROTO_JSON);
  }
  return cmd as unknown as Command;
}

/** How one direction converts a message's payload (`bytes`) fields and its other scalars. */
interface PayloadConversion {
  bytes(value: unknown, key: string): unknown;
  scalar(value: unknown, key: string): unknown;
}

/** Walks a message (proto-JSON shape), converting `bytes` fields and scalars; map keys are kept. */
function convertPayloads(value: unknown, key: string, conversion: PayloadConversion): unknown {
  if (Array.isArray(value)) return value.map((v) => convertPayloads(v, key, conversion));
  if (value === null || typeof value !== "object") return conversion.scalar(value, key);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (BYTES_FIELDS.has(k)) out[k] = conversion.bytes(v, k);
    else if (MAP_FIELDS.has(k) && v !== null && typeof v === "object") {
      out[k] = Object.fromEntries(
        Object.entries(v).map(([name, x]) => [name, convertPayloads(x, "", conversion)]),
      );
    } else out[k] = convertPayloads(v, k, conversion);
  }
  return out;
}

/**
 * Proto-JSON of a request → the shape Sluice's JSON protocol has: `bytes` payloads (base64 in
 * proto-JSON) parsed as the JSON text they must be, 64-bit numbers (strings in proto-JSON) as
 * numbers.
 */
const FROM_PROTO_JSON: PayloadConversion = {
  bytes: (v, k) => typeof v === "string" ? jsonFromBase64(v) : convertPayloads(v, k, FROM_PROTO_JSON),
  scalar: (v, k) => (k === "offset" || k === "flag") && typeof v === "string" ? Number(v) : v,
};

/** JSON payload values → the base64 proto-JSON carries `bytes` in. */
const TO_PROTO_JSON: PayloadConversion = {
  bytes: (v) => bytesToBase64(payloadBytesFromValue(v)),
  scalar: (v) => v,
};

/** A payload's bytes as the JSON value they travel as (`{"$binary": …}` for bytes that are not JSON). */
function jsonFromBase64(b64: string): unknown {
  if (b64 === "") return undefined;
  return JSON.parse(payloadTextFromBytes(base64ToBytes(b64)));
}

/** A protobuf `/emulation` body: `{node, session, data}` with `data` the delimited commands. */
export function decodeEmulationRequest(
  bytes: Uint8Array,
): { node: string; session: string; data: Uint8Array } {
  try {
    const { node, session, data } = fromBinary(EmulationRequestSchema, bytes);
    return { node, session, data };
  } catch (err) {
    throw new ProtobufDecodeError(`malformed protobuf emulation request: ${(err as Error).message}`);
  }
}

// ------------------------------------------------------------------ replies and pushes out

/** The JSON text of one reply or `{"push":…}` → one varint-delimited protobuf `Reply`. */
export function protobufReplyFromJson(jsonText: string): Uint8Array {
  const message = fromJson(
    ReplySchema,
    convertPayloads(JSON.parse(jsonText), "", TO_PROTO_JSON) as JsonValue,
    {
      ignoreUnknownFields: true,
    },
  );
  return sizeDelimitedEncode(ReplySchema, message);
}
