/** The broker contract on a real Redis (one redis-server for the whole file). */
import { brokerContract } from "./broker_contract.ts";
import { afterAll } from "../harness.ts";
import { sleep } from "../assert.ts";
import { type RedisServer, startRedis } from "../helpers/redis.mjs";
import redisBroker from "../../plugins/redis_broker/plugin.ts";
import { createLogger } from "../../src/log.ts";
import type { PluginContext } from "../../src/plugin_api/types.ts";

let redis: Promise<RedisServer> | undefined;
afterAll(async () => await (await redis)?.stop());

brokerContract("redis", async () => {
  const server = await (redis ??= startRedis());
  const prefix = `contract${crypto.randomUUID().slice(0, 8)}`;
  const plugin = redisBroker({ address: server.url, prefix });
  const teardown = await plugin.setup!({
    logger: createLogger({ level: "none" }),
    options: {},
  } as unknown as PluginContext);
  const p = plugin.provides!;
  return {
    broker: p.broker!,
    presence: p.presence!,
    controller: p.controller!,
    historyRecords() {
      const keys = server.cli("--scan", "--pattern", `${prefix}.*`).split("\n");
      return Promise.resolve(keys.filter((k) => /\.(stream|meta)\./.test(k)).length);
    },
    // Redis expires keys on its own clock: the time has to pass for real.
    passTime: (ms) => sleep(ms),
    async cleanup() {
      if (typeof teardown === "function") await teardown();
    },
  };
});
