/**
 * @module
 * A small structured logger: one line per event, JSON or text, filtered by level.
 * Tokens and API keys never go through here: callers log ids and codes, not credentials.
 * A child logger is one small object (methods live on the prototype): every connection has one.
 */

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "none";
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, none: 5 };

export const LOG_LEVELS = Object.keys(levelRank) as LogLevel[];

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: "json" | "text";
  /** Where lines go; defaults to stderr via console.error. */
  write?: (line: string) => void;
}

interface Sink {
  min: number;
  format: "json" | "text";
  write: (line: string) => void;
}

class StructuredLogger implements Logger {
  constructor(private readonly sink: Sink, private readonly base: LogFields) {}

  trace(msg: string, fields?: LogFields): void {
    this.emit("trace", msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.emit("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.emit("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.emit("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.emit("error", msg, fields);
  }
  enabled(level: LogLevel): boolean {
    return levelRank[level] >= this.sink.min;
  }
  child(fields: LogFields): Logger {
    return new StructuredLogger(this.sink, { ...this.base, ...fields });
  }

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (levelRank[level] < this.sink.min) return;
    const all = fields ? { ...this.base, ...fields } : this.base;
    if (this.sink.format === "json") {
      this.sink.write(safeJson({ level, time: new Date().toISOString(), msg, ...all }));
    } else {
      const extra = Object.entries(all).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
      this.sink.write(
        `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? " " + extra : ""}`,
      );
    }
  }
}

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  return new StructuredLogger(
    {
      min: levelRank[opts.level ?? "info"],
      format: opts.format ?? "text",
      write: opts.write ?? ((line: string) => console.error(line)),
    },
    base,
  );
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = createLogger({ level: "none" });

/**
 * An error as one line: its message and the chain of causes (`fetch failed` alone says nothing;
 * its cause says "connection refused" and where).
 */
export function errorText(err: Error): string {
  let text = err.message || err.name;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    const next = cause instanceof Error ? cause.message || cause.name : String(cause);
    if (!text.includes(next)) text += ` (cause: ${next})`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(errorText(v));
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return safeJson(v);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, val) => (val instanceof Error ? errorText(val) : val)) ?? String(v);
  } catch {
    return String(v);
  }
}
