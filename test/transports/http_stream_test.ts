/**
 * http_stream (bidirectional HTTP streaming with `/emulation`) with the SDK's protobuf build:
 * binary replies on the stream, protobuf `EmulationRequest`s for the commands. http_stream with JSON
 * is what the SDK suites of test/channels/ and test/auth/ run (beside websocket and sse).
 */
import { test } from "../harness.ts";
import { assertEquals, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { userToken } from "../helpers/tokens.ts";

const config = {
  history_size: 100,
  history_ttl: "300s",
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
};

test("http_stream + protobuf: the SDK's protobuf build with emulation — binary replies both ways", async (t) => {
  const s = await startServer(t, config);
  const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
  const c = new ProtobufCentrifuge([{
    transport: "http_stream",
    endpoint: `${s.url}/connection/http_stream`,
  }], {
    token: await userToken("ph"),
    emulationEndpoint: `${s.url}/emulation`,
    fetch: globalThis.fetch.bind(globalThis),
    readableStream: ReadableStream,
  });
  t.cleanup(() => c.disconnect());
  const ctx = new Promise<{ transport: string }>((resolve) => c.once("connected", resolve));
  c.connect();
  assertEquals((await ctx).transport, "http_stream");
  const sub = c.newSubscription("room");
  const got: Array<{ data: Uint8Array }> = [];
  sub.on("publication", (p) => got.push(p as unknown as { data: Uint8Array }));
  const ready = new Promise((resolve) => sub.once("subscribed", resolve));
  sub.subscribe(); // through /emulation, as a protobuf EmulationRequest
  await ready;
  const text = JSON.stringify({ via: "emulation", n: 2 });
  await sub.publish(new TextEncoder().encode(text));
  await waitFor(() => got.length === 1, "own publication");
  assertEquals(new TextDecoder().decode(got[0].data), text);
  assertEquals(s.node.hub.channelSubscribers("room"), 1);
});
