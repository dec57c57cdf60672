/**
 * @module
 * Deno's own HTTP server for one accepted connection (`serveHttpOnConnection`, the one `Deno.serve`
 * runs per connection): the only way to serve HTTP on a connection Sluice accepted itself. It is
 * not in Deno's public API but in `Deno[Deno.internal]`; this file is the one place that reaches it.
 */
import { deno } from "./namespace.ts";
import type { DenoServeInfo } from "./conn.ts";

/** The server `serveHttpOnConnection` runs for one connection. */
export interface ConnectionServer {
  /** Settles when the connection has ended, whichever side ended it. */
  finished: Promise<void>;
  /** Closes the connection once its responses are done (at once when there are none). */
  shutdown(): Promise<void>;
}

export type ServeOnConnection = (
  conn: unknown,
  signal: { addEventListener(type: string, fn: () => void): void },
  handler: (req: Request, info: DenoServeInfo) => Response | Promise<Response>,
  onError: (err: unknown) => Response,
  onListen: () => void,
) => ConnectionServer;

/** Deno's own per-connection HTTP server, or undefined if this Deno does not have it. */
export function serveOnConnection(): ServeOnConnection | undefined {
  // Not in Deno's public types: `Deno[Deno.internal]` holds the serve loop's building blocks.
  const internals = deno as unknown as Record<symbol, { serveHttpOnConnection?: unknown } | undefined> & {
    internal?: symbol;
  };
  const fn = internals.internal !== undefined
    ? internals[internals.internal]?.serveHttpOnConnection
    : undefined;
  return typeof fn === "function" ? fn as ServeOnConnection : undefined;
}
