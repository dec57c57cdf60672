/**
 * @module
 * Shipped plugin `redis_broker`: several Sluice nodes on one Redis behave as one.
 *
 * ```json
 * { "plugins": { "redis_broker": { "address": "redis://127.0.0.1:6379", "prefix": "sluice" } } }
 * ```
 * Options: `address` (URL; `redis://user:password@host:port/db`, `rediss://` for TLS; default
 * `redis://127.0.0.1:6379`), `prefix` (default `"sluice"`), `db`, `username`, `password`, `tls`
 * (`true` or `{ca, cert, key, servername, insecure_skip_verify}`, PEM text), `connect_timeout`
 * (default `"1s"`), `presence_ttl` (default `"60s"`).
 *
 * Client: ioredis — maintained, runs unchanged on Deno and Bun through their Node compatibility,
 * and reconnects and re-subscribes by itself.
 *
 * This file holds the options and the factory; `broker.ts` the broker, presence manager and
 * controller, `connection.ts` the two Redis connections, `scripts.ts` the Lua scripts.
 */
import { definePlugin, parseDuration, type Plugin } from "sluice";
import { type RedisBrokerOptions, RedisConnections, safeAddress } from "./connection.ts";
import { RedisBroker, RedisController, RedisPresenceManager, RedisShard } from "./broker.ts";

const NAME = "redis_broker";

function parseRedisOptions(options: Record<string, unknown>): RedisBrokerOptions {
  const fail = (key: string, expected: string): never => {
    throw new TypeError(
      `Invalid option "${key}" of plugin "${NAME}": expected ${expected}, got ${
        JSON.stringify(options[key])
      }`,
    );
  };
  const str = (key: string, dflt?: string) => {
    const v = options[key];
    if (v === undefined || v === null || v === "") return dflt;
    return typeof v === "string" ? v : fail(key, "a string");
  };
  const address = str("address", "redis://127.0.0.1:6379")!;
  if (!/^rediss?:\/\/[^/]/.test(address) || !URL.canParse(address)) {
    fail("address", 'a "redis://host:port" or "rediss://host:port" URL');
  }
  const prefix = str("prefix", "sluice")!;
  if (!/^[A-Za-z0-9_.:-]+$/.test(prefix)) fail("prefix", "letters, digits and _ . : -");
  const db = options.db;
  if (db !== undefined && (typeof db !== "number" || !Number.isInteger(db) || db < 0)) {
    fail("db", "a non-negative integer");
  }
  const tls = options.tls;
  if (
    tls !== undefined && typeof tls !== "boolean" &&
    (tls === null || typeof tls !== "object" || Array.isArray(tls))
  ) {
    fail("tls", "true or an object");
  }
  return {
    address,
    prefix,
    db: db as number | undefined,
    username: str("username"),
    password: str("password"),
    tls: tls as RedisBrokerOptions["tls"],
    connectTimeout: parseDuration(`plugins.${NAME}.connect_timeout`, options.connect_timeout ?? "1s"),
    presenceTtl: parseDuration(`plugins.${NAME}.presence_ttl`, options.presence_ttl ?? "60s"),
  };
}

export default function redisBroker(options: Record<string, unknown> = {}): Plugin {
  const opts = parseRedisOptions(options);
  const shard = new RedisShard(opts.prefix);
  let conns: RedisConnections | undefined;
  return definePlugin({
    name: NAME,
    provides: {
      broker: new RedisBroker(shard),
      presence: new RedisPresenceManager(shard),
      controller: new RedisController(shard),
    },
    setup(ctx) {
      // Publications sent while this node was re-subscribing never reached it: the node then has
      // clients compare their positions with the streams, so they recover instead of waiting.
      conns = new RedisConnections(opts, ctx.logger, () => setTimeout(() => shard.resubscribed(), 300));
      shard.attach(conns, ctx.logger);
      ctx.logger.info("redis broker configured", { address: safeAddress(opts.address), prefix: opts.prefix });
      return () => conns?.close();
    },
  });
}
