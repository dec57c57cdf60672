// Types of redis.mjs for the TypeScript suite.
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The running server's process id. */
  readonly pid: number;
  /**
   * Stops the server (SIGTERM) and removes its data folder; with `persistent` the folder (its data)
   * stays for `restart()` until the process exits.
   */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL) at once; resolves when it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Runs a redis-cli command against it; its output. */
  cli(...args: string[]): string;
}
export function redisAvailable(): boolean;
export function startRedis(opts?: { persistent?: boolean; port?: number }): Promise<RedisServer>;
