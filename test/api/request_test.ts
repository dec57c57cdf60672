/**
 * Server API request decoding as Go's encoding/json decodes into Centrifugo's request structs, and
 * the `channels` pattern as Centrifugo's glob library compiles it.
 */
import { test } from "../harness.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { BATCH_SHAPE, decodeStruct, ShapeError, SHAPES } from "../../src/api/request.ts";
import { compileChannelPattern } from "../../src/api/channel_pattern.ts";

const refused = (e: unknown) => e instanceof ShapeError;

test("request: unset fields are zero values; null is unset except in a payload", () => {
  assertEquals(decodeStruct(SHAPES.history, { channel: "a", since: null, limit: null }), {
    channel: "a",
    limit: 0,
    since: undefined,
    reverse: false,
  });
  assertEquals(decodeStruct(SHAPES.history, null), {
    channel: "",
    limit: 0,
    since: undefined,
    reverse: false,
  });
  const pub = decodeStruct(SHAPES.publish, { channel: "a", data: null, tags: { a: null, b: "x" } });
  assertEquals([pub.data, pub.tags, pub.b64data], [null, { a: "", b: "x" }, ""]);
  assertEquals(decodeStruct(SHAPES.broadcast, { channels: ["a", null] }).channels, ["a", ""]);
});

test("request: names match exactly, else case-insensitively as Go folds them; unknown ones are ignored", () => {
  const got = decodeStruct(SHAPES.subscribe, { CHANNEL: "c", User: "u", surprise: { deep: [1] } });
  assertEquals([got.channel, got.user], ["c", "u"]);
  // KELVIN SIGN folds onto K and LONG S onto S in Go: these are `idempotency_key` and `skip_history`
  const pub = decodeStruct(SHAPES.publish, { "idempotency_\u212aey": "k", "\u017fkip_hi\u017ftory": true });
  assertEquals([pub.idempotency_key, pub.skip_history], ["k", true]);
  // other non-ASCII letters fold onto nothing ASCII (JavaScript's toUpperCase would map ı to I)
  assertEquals(decodeStruct(SHAPES.history, { "l\u0131mit": 5 }).limit, 0);
  assertEquals(decodeStruct(SHAPES.info, { anything: 1 }), {});
  // the last of two spellings wins, as in Go
  assertEquals(decodeStruct(SHAPES.presence, { channel: "a", Channel: "b" }).channel, "b");
});

test("request: integers as Go's integer types take them", () => {
  assertEquals(decodeStruct(SHAPES.history, { limit: -(2 ** 31) }).limit, -(2 ** 31));
  for (const limit of [2 ** 31, 1.5, "1", true]) {
    assertThrows(() => decodeStruct(SHAPES.history, { limit }), refused, `limit ${limit}`);
  }
  // unsigned: no negatives, not even -0
  assertThrows(() => decodeStruct(SHAPES.history, { since: { offset: -1 } }), refused);
  assertThrows(() => decodeStruct(SHAPES.history, { since: { offset: -0 } }), refused);
  assertEquals(decodeStruct(SHAPES.history, { since: { offset: 2 ** 40 } }).since, {
    offset: 2 ** 40,
    epoch: "",
  });
  assertThrows(() => decodeStruct(SHAPES.disconnect, { disconnect: { code: 2 ** 32 } }), refused);
});

test("request: a value of the wrong kind anywhere refuses the whole request", () => {
  const bad: Array<[keyof typeof SHAPES | "batch", unknown]> = [
    ["publish", []],
    ["publish", "x"],
    ["publish", { channel: 1 }],
    ["publish", { tags: [] }],
    ["publish", { tags: { a: 1 } }],
    ["broadcast", { channels: "a" }],
    ["subscribe", { override: { presence: true } }],
    ["subscribe", { label_filter: { nodes: [{ op: 1 }] } }],
    ["batch", { commands: {} }],
    ["batch", { commands: [5] }],
    ["batch", { commands: [{ publish: { channel: 1 } }] }],
    ["batch", { commands: [{ map_publish: "x" }] }],
  ];
  for (const [method, body] of bad) {
    const shape = method === "batch" ? BATCH_SHAPE : SHAPES[method];
    assertThrows(() => decodeStruct(shape, body), refused, `${method} ${JSON.stringify(body)}`);
  }
  const batch = decodeStruct(BATCH_SHAPE, { commands: [null, {}, { map_publish: { key: 5 } }] });
  const commands = batch.commands as Array<Record<string, unknown> | undefined>;
  assertEquals(commands[0], undefined);
  assertEquals(commands[1]?.publish, undefined);
  assertEquals(commands[2]?.map_publish, { key: 5 });
});

test("channels pattern: Centrifugo's glob syntax; what does not compile is undefined", () => {
  const matches = (pattern: string, channel: string) => compileChannelPattern(pattern)!.test(channel);
  assertEquals(matches("chat:*", "chat:a:b"), true);
  assertEquals(matches("chat:?", "chat:ü"), true);
  assertEquals(matches("chat:[ab]1", "chat:b1"), true);
  assertEquals(matches("chat:[!ab]1", "chat:b1"), false);
  assertEquals(matches("chat:[a-c]", "chat:c"), true);
  assertEquals(matches("{chat,news}:x", "news:x"), true);
  assertEquals(matches("{chat,news:{a,b}}", "news:b"), true);
  assertEquals(matches("chat:\\*", "chat:*"), true);
  assertEquals(matches("chat:\\*", "chat:a"), false);
  // outside their brackets `]`, `}` and `,` are letters; `.` is never special
  assertEquals(matches("a]b}c,d", "a]b}c,d"), true);
  assertEquals(matches("a.b", "axb"), false);
  for (const pattern of ["chat:[", "chat:[]", "chat:[!]", "chat:[a-]", "chat:[b-a]", "chat:[ab", "x\ufffd"]) {
    assertEquals(compileChannelPattern(pattern), undefined, pattern);
  }
});
