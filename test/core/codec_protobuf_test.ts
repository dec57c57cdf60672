/**
 * The protobuf edge against an independent implementation: commands encoded by protobufjs (what
 * the SDK's protobuf build uses) from proto/client.proto decode to the command objects the JSON
 * protocol gives; replies and pushes Sluice encodes decode with protobufjs to the same values.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { decodeProtobufCommands, protobufReplyFromJson } from "../../src/core/codec_protobuf.ts";
import { RawJson } from "../../src/wire/json.ts";
import { PreparedPush, publicationPush, Shape } from "../../src/core/codec.ts";
import { root } from "../helpers/process.ts";

const proto =
  protobuf.parse(readFileSync(join(root, "proto", "client.proto"), "utf8"), { keepCase: true }).root;
const Command = proto.lookupType("centrifugal.centrifuge.protocol.Command");
const Reply = proto.lookupType("centrifugal.centrifuge.protocol.Reply");
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function encodeCommands(commands: Record<string, unknown>[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const c of commands) Command.encodeDelimited(Command.fromObject(c), writer);
  return writer.finish();
}

function decodeReplies(data: Uint8Array): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(data);
  const out: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) {
    out.push(Reply.toObject(Reply.decodeDelimited(reader), { longs: Number, defaults: false }));
  }
  return out;
}

test("protobuf commands decode to the JSON protocol's command objects (payloads as JSON, 64-bit as numbers)", () => {
  const decoded = decodeProtobufCommands(encodeCommands([
    {
      id: 1,
      connect: {
        token: "t",
        data: bytes({ hello: 1 }),
        name: "js",
        headers: { data: "header named data", "x-a": "b" },
        subs: { "feed:a": { recover: true, offset: 7, epoch: "e" } },
      },
    },
    { id: 2, publish: { channel: "c", data: bytes({ text: "über" }) } },
    { id: 3, history: { channel: "c", limit: 10, since: { offset: 5, epoch: "x" } } },
    {}, // a pong
  ]));
  assertEquals(decoded, [
    {
      id: 1,
      connect: {
        token: "t",
        data: { hello: 1 },
        name: "js",
        headers: { data: "header named data", "x-a": "b" },
        subs: { "feed:a": { recover: true, offset: 7, epoch: "e" } },
      },
    },
    { id: 2, publish: { channel: "c", data: new RawJson('{"text":"über"}') } },
    { id: 3, history: { channel: "c", limit: 10, since: { offset: 5, epoch: "x" } } },
    {},
  ] as unknown as ReturnType<typeof decodeProtobufCommands>);
});

test("protobuf: bytes that are not JSON (or not JSON.stringify's form, when published) travel as $binary", () => {
  const [pub, rpc, pretty] = decodeProtobufCommands(encodeCommands([
    { id: 1, publish: { channel: "c", data: [0xff, 1] } },
    { id: 2, rpc: { method: "m", data: [0xff, 1] } },
    { id: 3, publish: { channel: "c", data: new TextEncoder().encode('{ "a": 1 }') } },
  ])) as unknown as Array<Record<string, Record<string, unknown>>>;
  assertEquals(pub.publish.data, new RawJson('{"$binary":"/wE="}'));
  assertEquals(rpc.rpc.data, { $binary: "/wE=" });
  assertEquals(pretty.publish.data, new RawJson(`{"$binary":"${btoa('{ "a": 1 }')}"}`));
});

test("protobuf: truncated frames are malformed commands", () => {
  const whole = encodeCommands([{ id: 1, publish: { channel: "c", data: bytes(1) } }]);
  assertThrows(() => decodeProtobufCommands(whole.subarray(0, whole.length - 2)));
});

test("protobuf replies and pushes: JSON payloads arrive as their JSON text's bytes, encoded once per push", () => {
  const [reply] = decodeReplies(
    protobufReplyFromJson(
      '{"id":4,"subscribe":{"recoverable":true,"epoch":"e","offset":3,"data":{"a":[1]}}}',
    ),
  );
  assertEquals(reply.id, 4);
  const sub = reply.subscribe as Record<string, unknown>;
  assertEquals([sub.recoverable, sub.epoch, sub.offset], [true, "e", 3]);
  assertEquals(new TextDecoder().decode(sub.data as Uint8Array), '{"a":[1]}');

  const push: PreparedPush = publicationPush("room", {
    data: '{"t":1,"x":"y"}',
    offset: 9,
    info: { user: "u", client: "c", connInfo: '{"n":"Ann"}' },
  });
  const first = push.bytesFor(Shape.BidiProtobuf);
  assert(push.bytesFor(Shape.BidiProtobuf) === first, "the same bytes for every protobuf subscriber");
  const [p] = decodeReplies(first);
  const pub = (p.push as Record<string, unknown>).pub as Record<string, unknown>;
  assertEquals((p.push as Record<string, unknown>).channel, "room");
  assertEquals(new TextDecoder().decode(pub.data as Uint8Array), '{"t":1,"x":"y"}');
  assertEquals(pub.offset, 9);
  const info = pub.info as Record<string, unknown>;
  assertEquals([info.user, new TextDecoder().decode(info.conn_info as Uint8Array)], ["u", '{"n":"Ann"}']);
  assertEquals(decodeReplies(protobufReplyFromJson("{}")), [{}], "a ping is an empty reply");
});
