/**
 * Prometheus `/metrics`: Centrifugo-named series move with traffic; plugin hook timings and
 * errors are counted; `internal_port` moves the API, metrics and health off the public listener.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { API_KEY, startServer } from "../helpers/server.ts";
import { connected, sdk, subscribed } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : undefined;
};

test("metrics follow connections, subscriptions, deliveries, commands, API calls and disconnects", async (t) => {
  const s = await startServer(t, {
    prometheus: true,
    allow_subscribe_for_client: true,
    allow_publish_for_subscriber: true,
  });
  const scrape = async () => {
    const res = await fetch(`${s.url}/metrics`);
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")!.startsWith("text/plain"));
    return await res.text();
  };
  const before = await scrape();
  assert(/centrifugo_node_build\{version="\d+\.\d+\.\d+"\} 1/.test(before));
  const client = sdk(t, s, "sse", { token: await userToken("m") });
  await connected(client);
  const sub = client.newSubscription("room");
  await subscribed(sub);
  await sub.publish({ x: 1 });
  await s.apiJson("publish", { channel: "room", data: { y: 2 } });
  await s.apiJson("publish", { channel: "bad:ns", data: 1 });
  await waitFor(
    async () => value(await scrape(), 'centrifugo_node_messages_received_count{type="publication"}') === 2,
    "received",
  );
  const m = await scrape();
  assertEquals(value(m, 'centrifugo_client_connections_accepted{transport="sse"}'), 1);
  assertEquals(value(m, 'centrifugo_client_connections_inflight{transport="sse"}'), 1);
  assertEquals(value(m, "centrifugo_node_num_clients"), 1);
  assertEquals(value(m, "centrifugo_node_num_subscriptions"), 1);
  assertEquals(value(m, 'centrifugo_client_command_duration_seconds_count{method="subscribe"}'), 1);
  assertEquals(value(m, 'centrifugo_client_command_duration_seconds_count{method="publish"}'), 1);
  assertEquals(value(m, 'centrifugo_api_command_duration_seconds_count{method="publish"}'), 2);
  assertEquals(value(m, 'centrifugo_api_command_errors_total{method="publish",code="102"}'), 1);
  assert(
    (value(m, 'centrifugo_transport_messages_sent{transport="sse"}') ?? 0) >= 4,
    "connect, subscribe, publish replies and 2 pubs",
  );
  assert((value(m, 'centrifugo_transport_messages_sent_size{transport="sse"}') ?? 0) > 100);
  await s.apiJson("disconnect", { user: "m" });
  await waitFor(
    async () => value(await scrape(), 'centrifugo_client_num_server_disconnects{code="3503"}') === 1,
    "disconnect counted",
  );
  await waitFor(
    async () => value(await scrape(), 'centrifugo_client_connections_inflight{transport="sse"}') === 0,
    "inflight back to 0",
  );
});

test("plugin hook timings and failures are counted per plugin and hook", async (t) => {
  const s = await startServer(t, { prometheus: true, allow_subscribe_for_client: true }, [{
    name: "flaky",
    onRpc: (e) => {
      if (e.method === "boom") throw new Error("broken");
      return { data: "ok" };
    },
  }]);
  const client = sdk(t, s, "http_stream", { token: await userToken("p") });
  await connected(client);
  await client.rpc("fine", {});
  await client.rpc("boom", {}).catch(() => {});
  const m = await (await fetch(`${s.url}/metrics`)).text();
  assertEquals(value(m, 'sluice_plugin_hook_duration_seconds_count{plugin="flaky",hook="onRpc"}'), 2);
  assertEquals(value(m, 'sluice_plugin_hook_errors_total{plugin="flaky",hook="onRpc"}'), 1);
  assertEquals(value(m, 'centrifugo_client_num_reply_errors{method="rpc",code="100"}'), 1);
});

test("internal_port: server API, metrics and health only on the internal listener", async (t) => {
  const s = await startServer(t, { prometheus: true, internal_port: 1 });
  const runtime = await getRuntime();
  const internal = await runtime.listen({
    port: 0,
    hostname: "127.0.0.1",
    handler: (r, c) => s.server.internalFetch!(r, c),
  });
  t.cleanup(() => internal.close(true));
  const iurl = `http://127.0.0.1:${internal.port}`;
  for (const path of ["/metrics", "/health"]) {
    assertEquals((await fetch(`${s.url}${path}`)).status, 404, `public ${path}`);
    assertEquals((await fetch(`${iurl}${path}`)).status, 200, `internal ${path}`);
  }
  const publish = (base: string) =>
    fetch(`${base}/api/publish`, {
      method: "POST",
      headers: { "X-API-Key": API_KEY },
      body: '{"channel":"c","data":1}',
    });
  assertEquals((await publish(s.url)).status, 404);
  assertEquals((await publish(iurl)).status, 200);
  assertEquals((await fetch(`${iurl}/connection/http_stream`, { method: "POST", body: "{}" })).status, 404);
});
