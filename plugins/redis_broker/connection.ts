/**
 * @module
 * Redis connections for the broker plugin (ioredis): one for commands, one in subscriber mode.
 * Commands fail at once while Redis is unreachable (no offline queue), so a publish is answered
 * with an error instead of hanging or being dropped silently; both connections reconnect by
 * themselves and the subscriber one re-subscribes its channels.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "sluice";

export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  address: string;
  /** Key and channel prefix, so several apps can share one Redis. */
  prefix: string;
  db?: number;
  username?: string;
  password?: string;
  /** TLS on (`true`) or TLS options (`ca`, `cert`, `key` as PEM text, `servername`, `insecure_skip_verify`). */
  tls?: boolean | {
    ca?: string;
    cert?: string;
    key?: string;
    servername?: string;
    insecure_skip_verify?: boolean;
  };
  /** ms to wait for Redis when starting and when reconnecting. */
  connectTimeout: number;
  /** ms a presence entry lives unless refreshed (nodes refresh every `client_presence_update_interval`). */
  presenceTtl: number;
}

/** The two connections and their health. */
export class RedisConnections {
  readonly cmd: Redis;
  readonly sub: Redis;
  private lastErrorLog = 0;
  private wasDown = false;
  /** `close()` was called: connections ending now are not "lost". */
  private closing = false;

  constructor(readonly opts: RedisBrokerOptions, private readonly log: Logger, onResubscribed: () => void) {
    const base = redisOptions(opts);
    this.cmd = new Redis(opts.address, { ...base, enableOfflineQueue: false, connectionName: "sluice-cmd" });
    this.sub = new Redis(opts.address, { ...base, enableOfflineQueue: false, connectionName: "sluice-sub" });
    for (const [conn, name] of [[this.cmd, "commands"], [this.sub, "subscriber"]] as const) {
      conn.on("error", (err: Error) => this.logError(name, err));
      conn.on("close", () => {
        if (this.closing) return;
        if (!this.wasDown) {
          log.warn("redis connection lost; reconnecting", {
            connection: name,
            address: safeAddress(opts.address),
          });
        }
        this.wasDown = true;
      });
      conn.on("ready", () => {
        if (!this.wasDown) return;
        log.info("redis connection restored", { connection: name });
        if (conn === this.sub) onResubscribed();
        if (this.cmd.status === "ready" && this.sub.status === "ready") this.wasDown = false;
      });
    }
  }

  /** Waits until both connections are ready, or fails with a clear message. */
  async connect(): Promise<void> {
    const ready = (conn: Redis) =>
      new Promise<void>((resolve, reject) => {
        if (conn.status === "ready") return resolve();
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `Redis at ${
                safeAddress(this.opts.address)
              } did not answer within ${this.opts.connectTimeout} ms`,
            ),
          );
        }, this.opts.connectTimeout);
        const onReady = () => (cleanup(), resolve());
        const cleanup = () => {
          clearTimeout(timer);
          conn.off("ready", onReady);
        };
        conn.on("ready", onReady);
      });
    await Promise.all([ready(this.cmd), ready(this.sub)]);
  }

  get healthy(): boolean {
    return this.cmd.status === "ready" && this.sub.status === "ready";
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** One line per few seconds while Redis is down, not one per retry. */
  private logError(connection: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5_000) return;
    this.lastErrorLog = now;
    this.log.error("redis error", { connection, address: safeAddress(this.opts.address), err: err.message });
  }
}

function redisOptions(opts: RedisBrokerOptions): RedisOptions {
  const o: RedisOptions = {
    lazyConnect: false,
    connectTimeout: opts.connectTimeout,
    maxRetriesPerRequest: 1,
    autoResubscribe: true,
    // Keep retrying forever, a little slower each time (capped at 2 s).
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  };
  if (opts.db !== undefined) o.db = opts.db;
  if (opts.username !== undefined) o.username = opts.username;
  if (opts.password !== undefined) o.password = opts.password;
  if (opts.tls) {
    const t = opts.tls === true ? {} : opts.tls;
    o.tls = {
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      servername: t.servername,
      rejectUnauthorized: !t.insecure_skip_verify,
    };
  }
  return o;
}

/** The address without its password, for logs. */
export function safeAddress(address: string): string {
  try {
    const u = new URL(address);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable address)";
  }
}
