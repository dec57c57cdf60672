/**
 * `--workers`: processes started as users start them (mod.ts on this suite's runtime) on a real
 * Redis. Two workers behave like one node to the official SDK: clients spread over both (the kernel
 * picks, SO_REUSEPORT), `/emulation` requests land on either, API publications reach all, `info` and
 * `/metrics` show both; a worker killed mid-stream is restarted and its clients reconnect and
 * recover what was published meanwhile; SIGTERM to the supervisor stops all gracefully. Without a
 * broker, workers are refused with a message that says what to configure.
 */
import { afterAll, test, type TestContext } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { type Proc, sluice, start, writeConfig } from "../helpers/process.ts";
import { binary } from "../helpers/binary.ts";
import { type RedisServer, startRedis } from "../helpers/redis.mjs";
import { collect, connected, once, sdk, subscribed } from "../helpers/sdk.ts";
import type { TestServer } from "../helpers/server.ts";
import { userToken } from "../helpers/tokens.ts";
import { SECRET } from "../helpers/server.ts";
import process from "node:process";
import { loadConfig } from "../../src/config/mod.ts";
import type { Centrifuge, PublicationContext, SubscribedContext, Subscription } from "centrifuge";

const API_KEY = "workers-api-key";
let shared: Promise<RedisServer> | undefined;
afterAll(async () => await (await shared)?.stop());

async function startWorkers(t: TestContext, count: number) {
  const redis = await (shared ??= startRedis());
  const config = writeConfig({
    token_hmac_secret_key: SECRET,
    api_key: API_KEY,
    http_stream: true,
    sse: true,
    prometheus: true,
    namespaces: [{
      name: "feed",
      allow_subscribe_for_client: true,
      history_size: 1000,
      history_ttl: "300s",
      force_recovery: true,
      presence: true,
    }],
    plugins: { redis_broker: { address: redis.url, prefix: `wk${crypto.randomUUID().slice(0, 8)}` } },
  });
  const p = sluice(t, ["--config", config, "--workers", String(count), "--port", "0"]);
  t.onFailure(() => `    --- sluice --workers ${count} ---\n${p.output().slice(-3000)}`);
  const port = Number((await p.waitFor(/supervising workers workers=\d+ port=(\d+)/))[1]);
  const url = `http://127.0.0.1:${port}`;
  // A pooled keep-alive connection may still point at a worker the test killed: retry on a
  // connection error, as an API client would (publishes carry an idempotency key, so never twice).
  const api = async (method: string, body: unknown) => {
    for (let attempt = 1;; attempt++) {
      try {
        const res = await fetch(`${url}/api/${method}`, {
          method: "POST",
          headers: { "X-API-Key": API_KEY },
          body: JSON.stringify(body),
        });
        assertEquals(res.status, 200, method);
        return await res.json() as { result: Record<string, unknown> };
      } catch (err) {
        if (attempt === 3 || !(err instanceof TypeError)) throw err; // fetch: a network error
      }
    }
  };
  const nodes = async () =>
    (await api("info", {})).result.nodes as Array<{ name: string; num_clients: number }>;
  await waitFor(async () => (await nodes()).length === count, `${count} workers in info`, 15_000);
  return { p, url, api, nodes, server: { url } as TestServer };
}

const workerLines = (p: Proc) => p.output().split("\n").filter((l) => /worker started worker=/.test(l));

test(
  "two workers on Redis: SDK clients spread over both, publish, /metrics and info show both",
  async (t) => {
    const w = await startWorkers(t, 2);
    const clients: Array<{ client: Centrifuge; sub: Subscription; got: PublicationContext[] }> = [];
    for (let i = 0; i < 16; i++) {
      const client = sdk(t, w.server, i % 2 ? "sse" : "http_stream", { token: await userToken(`u${i}`) });
      await connected(client);
      const sub = client.newSubscription("feed:room");
      const got = collect<PublicationContext>(sub, "publication");
      await subscribed(sub);
      clients.push({ client, sub, got });
    }
    // Both workers hold some of the 16 streams (all on one: 2 × 2^-16).
    // info's counts come from each node's announcement (every few seconds).
    const nodes = await waitFor(
      async () => {
        const all = await w.nodes();
        return all.reduce((a, n) => a + n.num_clients, 0) === 16 ? all : undefined;
      },
      "16 clients in info",
      10_000,
    ) as Array<{ name: string; num_clients: number }>;
    assertEquals(nodes.map((n) => n.name.replace(/^.*\//, "")).sort(), ["w1", "w2"]);
    assert(nodes.every((n) => n.num_clients > 0), JSON.stringify(nodes));

    for (let i = 1; i <= 5; i++) await w.api("publish", { channel: "feed:room", data: { i } });
    await waitFor(() => clients.every((c) => c.got.length === 5), "every client gets 5 publications");
    for (const c of clients) assertEquals(c.got.map((p) => (p.data as { i: number }).i), [1, 2, 3, 4, 5]);

    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    assert(/sluice_worker_up\{worker="[^"]*\/w1"\} 1/.test(metrics), metrics.slice(0, 2000));
    assert(/sluice_worker_up\{worker="[^"]*\/w2"\} 1/.test(metrics), "w2 in /metrics");
    assertEquals(Number(/^centrifugo_node_num_clients (\d+)$/m.exec(metrics)![1]), 16, "clients added up");
    assertEquals(
      (/^centrifugo_node_build\{[^}]*\} (\d+)$/m.exec(metrics) ?? [])[1],
      "1",
      "build info not summed",
    );
  },
  { timeout: 60_000 },
);

test(
  "a worker killed mid-stream is restarted; its clients reconnect and recover what they missed",
  async (t) => {
    const w = await startWorkers(t, 2);
    const clients: Array<
      { sub: Subscription; got: PublicationContext[]; resubscribed: SubscribedContext[] }
    > = [];
    for (let i = 0; i < 12; i++) {
      const client = sdk(t, w.server, "http_stream", { token: await userToken(`k${i}`) });
      await connected(client);
      const sub = client.newSubscription("feed:kill");
      const got = collect<PublicationContext>(sub, "publication");
      await subscribed(sub);
      clients.push({ sub, got, resubscribed: collect<SubscribedContext>(sub, "subscribed") });
    }
    await w.api("publish", { channel: "feed:kill", data: { i: 1 } });
    await waitFor(() => clients.every((c) => c.got.length === 1), "first publication");

    const victim = await waitFor(
      async () => {
        const all = await w.nodes();
        return all.reduce((a, n) => a + n.num_clients, 0) === 12
          ? all.find((n) => n.num_clients > 0)
          : undefined;
      },
      "12 clients in info",
      10_000,
    ) as { name: string; num_clients: number };
    const id = Number(/w(\d+)$/.exec(victim.name)![1]);
    const pid = Number(new RegExp(`worker started worker=${id} pid=(\\d+)`).exec(w.p.output())![1]);
    process.kill(pid, "SIGKILL");
    // Published while the victim's clients are away: they must come back through recovery.
    for (let i = 2; i <= 6; i++) {
      await w.api("publish", { channel: "feed:kill", data: { i }, idempotency_key: `kill-${i}` });
    }
    await w.p.waitFor(new RegExp(`worker exited; restarting it worker=${id}`));
    await waitFor(() => workerLines(w.p).length === 3, "the worker restarted", 15_000);
    await waitFor(
      () => clients.every((c) => c.got.length === 6),
      "every client has all 6 publications",
      15_000,
    );
    for (const c of clients) assertEquals(c.got.map((p) => (p.data as { i: number }).i), [1, 2, 3, 4, 5, 6]);
    // The victim's clients came back through recovery; the others never left.
    const back = clients.filter((c) => c.resubscribed.length > 0);
    assertEquals(back.length, victim.num_clients, "the killed worker's clients resubscribed");
    for (const c of back) {
      assertEquals([c.resubscribed[0].wasRecovering, c.resubscribed[0].recovered], [true, true]);
    }
    await waitFor(async () => (await w.nodes()).length === 2, "two workers again", 15_000);
  },
  { timeout: 60_000 },
);

test("SIGTERM to the supervisor stops every worker gracefully; clients get 3001", async (t) => {
  const w = await startWorkers(t, 2);
  const client = sdk(t, w.server, "http_stream", { token: await userToken("bye") });
  await connected(client);
  const gone = once<{ code: number }>(client, "connecting", 10_000);
  process.kill(w.p.pid, "SIGTERM");
  assertEquals((await gone).code, 3001);
  assertEquals(await w.p.exited, 0);
  assertEquals(w.p.output().match(/worker stopped worker=\d code=0/g)?.length, 2, w.p.output());
  // A shutdown closes Redis on purpose: nothing about a lost connection.
  assert(!w.p.output().includes("redis connection lost"), w.p.output());
}, { timeout: 60_000 });

test("workers without a broker are refused, naming what to configure", async (t) => {
  const p = sluice(t, ["--workers", "2", "--port", "0"]);
  assertEquals(await p.exited, 1);
  assert(/workers: 2 .*redis_broker/.test(p.output()), p.output());
});

test('workers config: a number, "auto" (0 = one per core); anything else is an error naming the key', () => {
  assertEquals(loadConfig({ file: { workers: 4 } }).config.workers, 4);
  assertEquals(loadConfig({ file: { workers: "auto" } }).config.workers, 0);
  assertEquals(loadConfig({ env: { SLUICE_WORKERS: "auto" } }).config.workers, 0);
  assertEquals(loadConfig({ env: { SLUICE_WORKERS: "3" } }).config.workers, 3);
  for (const bad of ["many", 0, -1, 1.5, 1000]) {
    let key = "";
    try {
      loadConfig({ file: { workers: bad } });
    } catch (err) {
      key = (err as { key?: string }).key ?? "";
    }
    assertEquals(key, "workers", JSON.stringify(bad));
  }
});

test("the compiled binary runs workers too (it starts itself again)", async (t) => {
  const redis = await (shared ??= startRedis());
  const config = writeConfig({
    token_hmac_secret_key: SECRET,
    api_key: API_KEY,
    plugins: { redis_broker: { address: redis.url, prefix: `wb${crypto.randomUUID().slice(0, 8)}` } },
  });
  const p = start(t, await binary(), ["--config", config, "--workers", "2", "--port", "0"]);
  t.onFailure(() => p.output());
  const port = Number((await p.waitFor(/supervising workers workers=2 port=(\d+)/))[1]);
  await p.waitFor(
    /worker serving worker=1[\s\S]*worker serving worker=2|worker serving worker=2[\s\S]*worker serving worker=1/,
  );
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/info`, {
        method: "POST",
        headers: { "X-API-Key": API_KEY },
        body: "{}",
      });
      return ((await res.json()).result.nodes as unknown[]).length === 2;
    },
    "two workers in info",
    10_000,
  );
  process.kill(p.pid, "SIGTERM");
  assertEquals(await p.exited, 0);
}, { timeout: 120_000 });
