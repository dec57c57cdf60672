/**
 * Command decoding, reply/push encoding (omitempty rules), per-shape framing of prepared pushes and
 * their text for JSON WebSockets.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  CommandDecodeError,
  commandMethod,
  decodeCommands,
  encodeClientInfo,
  encodeErrorReply,
  encodePublication,
  encodeReply,
  frame,
  joinLeavePush,
  jsonObject,
  PreparedPush,
  publicationPush,
  raw,
  Shape,
  shapeOf,
  toRaw,
  utf8Length,
} from "../../src/core/codec.ts";
import type { Command } from "../../src/wire/protocol.ts";

const decoder = new TextDecoder();
const text = (b: Uint8Array) => decoder.decode(b);
const isDecodeError = (err: unknown) => err instanceof CommandDecodeError;

// -------------------------------------------------------------------------------------------------
// decodeCommands

test("decodeCommands: one command per line, in order", () => {
  const cmds = decodeCommands(
    '{"id":1,"connect":{"token":"t"}}\n{"id":2,"subscribe":{"channel":"news"}}\n{"id":3,"publish":{"channel":"news","data":{"a":1}}}',
  );
  assertEquals(cmds.length, 3);
  assertEquals(cmds.map((c) => c.id), [1, 2, 3]);
  assertEquals(cmds[0].connect, { token: "t" });
  assertEquals(cmds[1].subscribe, { channel: "news" });
  assertEquals(cmds[2].publish, { channel: "news", data: { a: 1 } });
});

test("decodeCommands: blank lines, CRLF and surrounding whitespace are skipped", () => {
  const cmds = decodeCommands('\n  {"id":1,"ping":{}}  \r\n\r\n\t\n{"id":2,"presence":{"channel":"c"}}\n\n');
  assertEquals(cmds.map((c) => c.id), [1, 2]);
  assertEquals(decodeCommands(""), []);
  assertEquals(decodeCommands("\n\n  \n"), []);
});

test("decodeCommands: a missing id becomes 0 and {} is a pong", () => {
  const [pong] = decodeCommands("{}");
  assertEquals(pong.id, 0);
  assertEquals(commandMethod(pong), undefined);
  const [noId] = decodeCommands('{"ping":{}}');
  assertEquals(noId.id, 0);
  assertEquals(commandMethod(noId), "ping");
});

test("decodeCommands: id 0 and the largest uint32 are accepted", () => {
  assertEquals(decodeCommands('{"id":0}')[0].id, 0);
  assertEquals(decodeCommands('{"id":4294967295,"ping":{}}')[0].id, 4294967295);
});

test("decodeCommands: invalid JSON is a CommandDecodeError", () => {
  assertThrows(() => decodeCommands('{"id":1,'), isDecodeError);
  assertThrows(() => decodeCommands("not json"), isDecodeError);
  // A bad line anywhere fails the whole frame.
  assertThrows(() => decodeCommands('{"id":1,"ping":{}}\n{oops}'), isDecodeError);
});

test("decodeCommands: a command that is not a JSON object is a CommandDecodeError", () => {
  for (const line of ["[]", '[{"id":1}]', "null", "1", '"connect"', "true"]) {
    assertThrows(() => decodeCommands(line), isDecodeError, `line ${line}`);
  }
});

test("decodeCommands: an id that is not a uint32 is a CommandDecodeError", () => {
  for (const id of ["-1", "1.5", '"1"', "true", "null", "{}", "4294967296", "1e20"]) {
    assertThrows(() => decodeCommands(`{"id":${id},"ping":{}}`), isDecodeError, `id ${id}`);
  }
});

test("decodeCommands: two methods in one command is a CommandDecodeError", () => {
  assertThrows(() => decodeCommands('{"id":1,"connect":{},"subscribe":{"channel":"a"}}'), isDecodeError);
  assertThrows(() => decodeCommands('{"id":1,"ping":{},"history":{"channel":"a"}}'), isDecodeError);
});

test("decodeCommands: a method body that is not an object is a CommandDecodeError; null counts as absent", () => {
  for (const body of ["1", '"x"', "[]", "true"]) {
    assertThrows(() => decodeCommands(`{"id":1,"subscribe":${body}}`), isDecodeError, `body ${body}`);
  }
  const [cmd] = decodeCommands('{"id":1,"connect":null,"subscribe":{"channel":"a"}}');
  assertEquals(commandMethod(cmd), "subscribe");
});

test("decodeCommands: CommandDecodeError is an Error with its own name", () => {
  const err = assertThrows(() => decodeCommands("x"), isDecodeError);
  assert(err instanceof Error, "is an Error");
  assertEquals((err as Error).name, "CommandDecodeError");
});

// -------------------------------------------------------------------------------------------------
// commandMethod

test("commandMethod: names the method a command carries", () => {
  const methods = [
    "connect",
    "subscribe",
    "unsubscribe",
    "publish",
    "presence",
    "presence_stats",
    "history",
    "ping",
    "send",
    "rpc",
    "refresh",
    "sub_refresh",
  ] as const;
  for (const m of methods) {
    const [cmd] = decodeCommands(JSON.stringify({ id: 7, [m]: {} }));
    assertEquals(commandMethod(cmd), m);
  }
  assertEquals(commandMethod({ id: 3 } as Command), undefined);
  // Unknown keys are not methods.
  const [unknown] = decodeCommands('{"id":1,"frobnicate":{}}');
  assertEquals(commandMethod(unknown), undefined);
});

// -------------------------------------------------------------------------------------------------
// Encoding

test("encodeClientInfo: user and client always, conn_info and chan_info only when set", () => {
  assertEquals(encodeClientInfo({ user: "", client: "c1" }), '{"user":"","client":"c1"}');
  assertEquals(
    encodeClientInfo({ user: "42", client: "c1", connInfo: '{"name":"A"}', chanInfo: "[1,2]" }),
    '{"user":"42","client":"c1","conn_info":{"name":"A"},"chan_info":[1,2]}',
  );
  assertEquals(
    encodeClientInfo({ user: "u", client: "c", chanInfo: "null" }),
    '{"user":"u","client":"c","chan_info":null}',
  );
  // Strings are escaped.
  const weird = encodeClientInfo({ user: 'a"b\n', client: "c" });
  assertEquals(JSON.parse(weird), { user: 'a"b\n', client: "c" });
});

test("encodePublication: data always; info, offset and tags omitted when empty", () => {
  assertEquals(encodePublication({ data: '{"a":1}' }), '{"data":{"a":1}}');
  assertEquals(encodePublication({ data: "1", offset: 0, tags: {} }), '{"data":1}');
  assertEquals(
    encodePublication({
      data: '"x"',
      info: { user: "u", client: "c" },
      offset: 5,
      tags: { k: "v" },
      time: 123,
    }),
    '{"data":"x","info":{"user":"u","client":"c"},"offset":5,"tags":{"k":"v"}}',
  );
  const parsed = JSON.parse(encodePublication({ data: "[1,2]", tags: { 'q"': "\n" } }));
  assertEquals(parsed, { data: [1, 2], tags: { 'q"': "\n" } });
});

test("jsonObject: omits undefined, false, 0 and empty string unless listed as always", () => {
  assertEquals(jsonObject({ a: undefined, b: false, c: 0, d: "" }), "{}");
  assertEquals(
    jsonObject({ a: 1, b: true, c: "s", d: [1], e: null }),
    '{"a":1,"b":true,"c":"s","d":[1],"e":null}',
  );
  assertEquals(jsonObject({ offset: 0, epoch: "", n: 0 }, ["offset", "epoch"]), '{"offset":0,"epoch":""}');
  assertEquals(jsonObject({ data: raw('{"x":[1]}'), none: raw(undefined) }), '{"data":{"x":[1]}}');
  assertEquals(jsonObject({ publications: raw("[]") }, ["publications"]), '{"publications":[]}');
});

test("encodeReply / encodeErrorReply: temporary only when true", () => {
  assertEquals(encodeReply(5, "publish", "{}"), '{"id":5,"publish":{}}');
  assertEquals(
    encodeErrorReply(4, { code: 103, message: "permission denied" }),
    '{"id":4,"error":{"code":103,"message":"permission denied"}}',
  );
  assertEquals(
    encodeErrorReply(4, { code: 100, message: "internal server error", temporary: true }),
    '{"id":4,"error":{"code":100,"message":"internal server error","temporary":true}}',
  );
  assertEquals(
    encodeErrorReply(1, { code: 100, message: "m", temporary: false }),
    '{"id":1,"error":{"code":100,"message":"m"}}',
  );
});

test("toRaw: JSON text without raw newlines; undefined becomes null", () => {
  assertEquals(toRaw(undefined), "null");
  assertEquals(toRaw({ a: "line1\nline2" }), '{"a":"line1\\nline2"}');
  assert(!toRaw({ s: "a\nb\r\nc" }).includes("\n"), "no raw newline");
});

// -------------------------------------------------------------------------------------------------
// Framing and PreparedPush

test("shapeOf maps (unidirectional, framing) to the four shapes", () => {
  assertEquals(shapeOf(false, "sse"), Shape.BidiSse);
  assertEquals(shapeOf(false, "ndjson"), Shape.BidiNdjson);
  assertEquals(shapeOf(true, "sse"), Shape.UniSse);
  assertEquals(shapeOf(true, "ndjson"), Shape.UniNdjson);
});

test("frame: SSE data event or NDJSON line", () => {
  assertEquals(text(frame('{"a":1}', "sse")), 'data: {"a":1}\n\n');
  assertEquals(text(frame('{"a":1}', "ndjson")), '{"a":1}\n');
});

test("PreparedPush: correct framing for all four shapes", () => {
  const push = publicationPush("news", { data: '{"text":"hi"}', offset: 3 });
  const body = '{"channel":"news","pub":{"data":{"text":"hi"},"offset":3}}';
  assertEquals(push.body, body);
  assertEquals(text(push.bytesFor(Shape.BidiSse)), `data: {"push":${body}}\n\n`);
  assertEquals(text(push.bytesFor(Shape.BidiNdjson)), `{"push":${body}}\n`);
  assertEquals(text(push.bytesFor(Shape.UniSse)), `data: ${body}\n\n`);
  assertEquals(text(push.bytesFor(Shape.UniNdjson)), `${body}\n`);
});

test("PreparedPush: the same shape returns the identical Uint8Array every time", () => {
  const push = new PreparedPush('{"channel":"c","pub":{"data":1}}');
  const shapes = [Shape.BidiSse, Shape.BidiNdjson, Shape.UniSse, Shape.UniNdjson];
  const first = shapes.map((s) => push.bytesFor(s));
  for (let round = 0; round < 3; round++) {
    shapes.forEach((s, i) => assert(push.bytesFor(s) === first[i], `shape ${s} is cached`));
  }
  // Different shapes are different buffers.
  assert(new Set(first).size === 4, "one buffer per shape");
  // Asked in another order, a fresh push still frames each shape correctly.
  const other = new PreparedPush('{"x":1}');
  assertEquals(text(other.bytesFor(Shape.UniNdjson)), '{"x":1}\n');
  assertEquals(text(other.bytesFor(Shape.BidiSse)), 'data: {"push":{"x":1}}\n\n');
});

test("PreparedPush: the text for JSON WebSockets is made once per envelope, its size in UTF-8 bytes", () => {
  const push = publicationPush("новости", { data: '{"text":"héllo 👋"}' });
  const body = '{"channel":"новости","pub":{"data":{"text":"héllo 👋"}}}';
  assertEquals(push.textFor(true), body, "unidirectional: the bare body");
  assertEquals(push.textFor(false), `{"push":${body}}`);
  assert(push.textFor(false) === push.textFor(false), "the same string for every socket");
  const encoder = new TextEncoder();
  assertEquals(push.textBytes(true), encoder.encode(body).byteLength);
  assertEquals(push.textBytes(false), encoder.encode(`{"push":${body}}`).byteLength);
});

test("utf8Length: the bytes TextEncoder makes, without encoding", () => {
  const encoder = new TextEncoder();
  for (const s of ["", "{}", "é", "ü€", "中文", "👋", "a👋b", "\ud800", "x\udc00", "\ud83d"]) {
    assertEquals(utf8Length(s), encoder.encode(s).byteLength, JSON.stringify(s));
  }
});

test("joinLeavePush: join and leave bodies carry the client info", () => {
  const info = { user: "u", client: "c", connInfo: '{"a":1}' };
  assertEquals(
    joinLeavePush("room", "join", info).body,
    '{"channel":"room","join":{"info":{"user":"u","client":"c","conn_info":{"a":1}}}}',
  );
  assertEquals(
    joinLeavePush("room", "leave", { user: "u", client: "c" }).body,
    '{"channel":"room","leave":{"info":{"user":"u","client":"c"}}}',
  );
  const parsed = JSON.parse(text(joinLeavePush("r", "join", info).bytesFor(Shape.BidiNdjson)));
  assertEquals(parsed, {
    push: { channel: "r", join: { info: { user: "u", client: "c", conn_info: { a: 1 } } } },
  });
});
