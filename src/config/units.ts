/**
 * @module
 * Units in config values: Centrifugo's durations, `host:port` addresses and Go's booleans.
 */
import { ConfigError } from "./errors.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Centrifugo's duration strings ("25s", "1m30s", "250ms") or seconds as a number; returns ms. */
export function parseDuration(key: string, value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigError(
        key,
        `Invalid config key "${key}": a duration must be a non-negative number of seconds`,
      );
    }
    return Math.round(value * 1000);
  }
  if (typeof value === "string") {
    const text = value.trim();
    if (text === "0") return 0;
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      total += Number(m[1]) * DURATION_UNITS[m[2]];
      consumed = re.lastIndex;
    }
    if (consumed === text.length && consumed > 0) return Math.round(total);
  }
  throw new ConfigError(
    key,
    `Invalid config key "${key}": expected a duration such as "25s", "5m", "720h" or a number of seconds, got ${
      JSON.stringify(value)
    }`,
  );
}

/** "host:port", ":port" or "port" → {hostname, port}; throws naming `key` otherwise. */
export function parseHostPort(key: string, value: string): { hostname: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(
      key,
      `Invalid ${key}: expected "host:port" (e.g. "127.0.0.1:8001" or ":8000"), got ${JSON.stringify(value)}`,
    );
  }
  return { hostname: m[1] ?? "", port };
}

/** Go's strconv.ParseBool, which is what Centrifugo accepts in environment variables. */
export function parseBool(name: string, raw: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  throw new ConfigError(
    name,
    `Invalid ${name}: expected a boolean (true/false/1/0), got ${JSON.stringify(raw)}`,
  );
}
