/**
 * Graceful shutdown as users see it: SIGTERM sends every stream disconnect 3001, the SDK keeps
 * trying, the restarted server (same port, history in Redis) takes it back and the publications
 * made while it was down are recovered.
 */
import { test } from "../harness.ts";
import { assertEquals, assertMatch, waitFor } from "../assert.ts";
import { portOf, sluice, writeConfig } from "../helpers/process.ts";
import { startRedis } from "../helpers/redis.mjs";
import { startServer } from "../helpers/server.ts";
import { collect, once, sdk, subscribed } from "../helpers/sdk.ts";
import { API_KEY, SECRET } from "../helpers/server.ts";
import { userToken } from "../helpers/tokens.ts";

test("SIGTERM → 3001 → the SDK reconnects to the restarted server and recovers what it missed", async (t) => {
  const redis = await startRedis();
  t.cleanup(() => redis.stop());
  const prefix = `rs${crypto.randomUUID().slice(0, 8)}`;
  const namespaces = [{
    name: "feed",
    allow_subscribe_for_client: true,
    history_size: 100,
    history_ttl: "300s",
    force_recovery: true,
  }];
  const config = {
    http_stream: true,
    sse: true,
    token_hmac_secret_key: SECRET,
    api_key: API_KEY,
    namespaces,
    plugins: { redis_broker: { address: redis.url, prefix } },
  };
  const path = writeConfig(config);
  const first = sluice(t, ["--config", path, "--port", "0"]);
  const port = await portOf(first);
  const url = `http://127.0.0.1:${port}`;
  // another node on the same Redis keeps taking publishes while the first one is down
  const other = await startServer(t, {
    namespaces,
    plugins: { redis_broker: { address: redis.url, prefix } },
  });

  const server = { url } as Parameters<typeof sdk>[1];
  const client = sdk(t, server, "http_stream", { token: await userToken("rex"), maxReconnectDelay: 300 });
  const disconnects: number[] = [];
  client.on("connecting", (ctx: { code: number }) => disconnects.push(ctx.code));
  const up = once(client, "connected");
  client.connect();
  await up;
  const sub = client.newSubscription("feed:news");
  const pubs = collect<{ data: { n: number } }>(sub, "publication");
  await subscribed(sub);
  for (let n = 1; n <= 3; n++) await other.apiJson("publish", { channel: "feed:news", data: { n } });
  await waitFor(() => pubs.length === 3, "before the restart");

  first.kill("TERM");
  await first.exited;
  await waitFor(() => disconnects.includes(3001), "the SDK told 3001 (shutdown: reconnect)");
  for (let n = 4; n <= 6; n++) await other.apiJson("publish", { channel: "feed:news", data: { n } });

  const resubscribed = once<Record<string, unknown>>(sub, "subscribed", 20_000);
  const second = sluice(t, ["--config", path, "--port", String(port)]);
  await portOf(second);
  assertMatch(await resubscribed, { wasRecovering: true, recovered: true });
  await waitFor(() => pubs.length === 6, "recovered publications", 10_000);
  assertEquals(pubs.map((p) => p.data.n), [1, 2, 3, 4, 5, 6]);
}, { timeout: 60_000 });
