/**
 * @module
 * The protobuf side of the wire, read with the protocol's own definition: `client.proto` of
 * github.com/centrifugal/protocol at the version Centrifugo v6.9.1 pins, taken from the Go module
 * cache (`go mod download`), never from Sluice's trimmed copy — a field Sluice does not know must
 * still show up as a difference.
 *
 * Commands are written from the same JSON objects the JSON transports send; replies are read back
 * into the JSON protocol's shape (snake_case names, zero values left out, `data` bytes parsed as
 * the JSON they carry) so both encodings compare with the same normaliser.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import protobuf from "protobufjs";

const PROTOCOL_MODULE = "github.com/centrifugal/protocol@v0.19.2";

let loaded: { command: protobuf.Type; reply: protobuf.Type; emulation: protobuf.Type } | undefined;

function types() {
  if (loaded) return loaded;
  let dir: string;
  try {
    const out = execFileSync("go", ["mod", "download", "-json", PROTOCOL_MODULE], {
      encoding: "utf8",
      cwd: "/",
      env: { ...process.env, GOFLAGS: "-mod=mod" },
    });
    dir = JSON.parse(out).Dir;
  } catch (err) {
    throw new Error(`cannot fetch ${PROTOCOL_MODULE} with go (needed for protobuf scenarios): ${err}`);
  }
  const root = new protobuf.Root().loadSync(join(dir, "definitions", "client.proto"), { keepCase: true });
  const pkg = "centrifugal.centrifuge.protocol.";
  loaded = {
    command: root.lookupType(pkg + "Command"),
    reply: root.lookupType(pkg + "Reply"),
    emulation: root.lookupType(pkg + "EmulationRequest"),
  };
  return loaded;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Request fields that are raw JSON in the JSON protocol and bytes in protobuf. */
const BYTES_IN_REQUESTS: Record<string, string[]> = {
  connect: ["data"],
  subscribe: ["data"],
  publish: ["data"],
  rpc: ["data"],
  send: ["data"],
};

/** A JSON-protocol command object → protobuf Command bytes (not delimited). */
function commandMessage(cmd: Record<string, unknown>): protobuf.Message {
  const copy: Record<string, unknown> = { ...cmd };
  for (const [method, fields] of Object.entries(BYTES_IN_REQUESTS)) {
    const req = copy[method] as Record<string, unknown> | undefined;
    if (!req) continue;
    const next: Record<string, unknown> = { ...req };
    for (const f of fields) {
      if (next[f] !== undefined) next[f] = encoder.encode(JSON.stringify(next[f]));
    }
    if (method === "connect" && next.subs) {
      next.subs = Object.fromEntries(
        Object.entries(next.subs as Record<string, Record<string, unknown>>).map(([k, v]) => [k, { ...v }]),
      );
    }
    copy[method] = next;
  }
  const { command } = types();
  const problem = command.verify(copy);
  if (problem) throw new Error(`bad protobuf command ${JSON.stringify(cmd)}: ${problem}`);
  return command.fromObject(copy);
}

/** Commands, each prefixed with its length (a varint): one frame or request body. */
export function encodeCommands(cmds: Array<Record<string, unknown>>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const c of cmds) types().command.encodeDelimited(commandMessage(c), w);
  return w.finish();
}

/** An EmulationRequest body carrying delimited commands. */
export function encodeEmulation(
  node: string,
  session: string,
  cmds: Array<Record<string, unknown>>,
): Uint8Array {
  const { emulation } = types();
  return emulation.encode(emulation.fromObject({ node, session, data: encodeCommands(cmds) })).finish();
}

/**
 * Bytes that carried JSON become that JSON again; anything else (which a JSON-only peer could not
 * have sent) stays visible as base64.
 */
function bytesValue(b: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(b));
  } catch {
    return { $bytes: btoa(String.fromCharCode(...b)) };
  }
}

/** A decoded message as a plain object, bytes fields replaced by their JSON. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesValue(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/**
 * Varint-delimited Replies from `buf` (a WebSocket frame, or what has arrived of a stream). Returns
 * the replies and how many bytes they used (a partial one at the end waits for more bytes).
 */
export function decodeReplies(buf: Uint8Array): { replies: unknown[]; used: number } {
  const { reply } = types();
  const reader = protobuf.Reader.create(buf);
  const replies: unknown[] = [];
  let used = 0;
  while (reader.pos < buf.length) {
    const start = reader.pos;
    let len: number;
    try {
      len = reader.uint32();
    } catch {
      break; // the varint itself is incomplete
    }
    if (reader.pos + len > buf.length) {
      reader.pos = start;
      break;
    }
    const msg = reply.decode(buf.subarray(reader.pos, reader.pos + len));
    reader.pos += len;
    used = reader.pos;
    // defaults: false leaves out what the wire did not carry, as the JSON encoder omits zero values
    replies.push(plain(reply.toObject(msg, { longs: Number, enums: String })));
  }
  return { replies, used };
}
