/**
 * @module
 * The connections of Sluice's own Deno listener: each one's requests in progress and how to close
 * it, and one shared timer that closes those idle for `idleTimeoutMs` and those whose ended
 * response did not drain within it.
 */
import type { FetchHandler } from "../types.ts";
import { type ConnectionControl, DenoConn, type DenoServeInfo } from "./conn.ts";
import type { ConnectionServer } from "./connection_server.ts";

const noop = () => {};

/** One accepted connection: its requests in progress and how to close it. */
export class TrackedConnection implements ConnectionControl {
  inProgress = 0;
  idleSince: number;
  /** When a response that ended on our side must have drained (0 = none pending). */
  drainBy = 0;
  server: ConnectionServer | undefined;
  /** Deno's non-graceful close, handed over through the signal it listens to (addEventListener). */
  private cancel: () => void = noop;

  constructor(private readonly set: ConnectionSet) {
    this.idleSince = set.now();
  }

  /**
   * The connection's "abort signal": Deno registers its non-graceful close here once. Keeping
   * that function (instead of passing an AbortSignal, which would keep a listener per
   * connection on a shared signal forever) lets `forceClose` cut a connection.
   */
  addEventListener(_type: string, fn: () => void): void {
    this.cancel = fn;
  }

  readonly handle = (req: Request, info: DenoServeInfo): Response | Promise<Response> => {
    if (this.inProgress++ === 0) this.set.busy(this);
    info.completed?.then(this.requestEnded, this.requestEnded);
    return this.set.handler(req, new DenoConn(info, this));
  };

  private readonly requestEnded = (): void => {
    if (--this.inProgress === 0) this.set.idle(this);
  };

  /** A response ended on our side; a client that does not read it keeps it from completing. */
  mustDrain(): void {
    this.set.draining(this);
  }

  close(): void {
    this.server?.shutdown().catch(noop);
  }

  forceClose(): void {
    try {
      this.cancel();
    } catch {
      // already gone
    }
  }
}

/** Every open connection of one listener, and the idle ones in the order they went idle. */
export class ConnectionSet {
  readonly all = new Set<TrackedConnection>();
  /** Insertion order is idle order: a connection is re-added at the end whenever it goes idle. */
  private readonly idleConns = new Set<TrackedConnection>();
  /** Connections whose response ended on our side but has not completed, oldest first. */
  private readonly drainingConns = new Set<TrackedConnection>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(readonly handler: FetchHandler, private readonly idleTimeoutMs: number) {
    if (idleTimeoutMs > 0) {
      const every = Math.min(1_000, Math.max(50, Math.floor(idleTimeoutMs / 4)));
      this.sweeper = setInterval(() => this.sweep(), every);
    }
  }

  now(): number {
    return Date.now();
  }

  add(c: TrackedConnection): void {
    this.all.add(c);
    this.idleConns.add(c);
  }

  remove(c: TrackedConnection): void {
    this.all.delete(c);
    this.idleConns.delete(c);
    this.drainingConns.delete(c);
  }

  busy(c: TrackedConnection): void {
    this.idleConns.delete(c);
  }

  idle(c: TrackedConnection): void {
    if (!this.all.has(c)) return;
    c.idleSince = this.now();
    c.drainBy = 0;
    this.drainingConns.delete(c);
    this.idleConns.add(c);
  }

  draining(c: TrackedConnection): void {
    if (!this.all.has(c) || c.drainBy !== 0 || this.idleTimeoutMs <= 0) return;
    c.drainBy = this.now() + this.idleTimeoutMs;
    this.drainingConns.add(c);
  }

  /**
   * Closes connections idle for longer than the timeout, and those whose ended response did not
   * drain in time (both sets are in deadline order, so each loop stops at the first one not due).
   */
  private sweep(): void {
    const now = this.now();
    for (const c of this.drainingConns) {
      if (c.drainBy > now) break;
      this.drainingConns.delete(c);
      c.forceClose();
    }
    const cutoff = now - this.idleTimeoutMs;
    for (const c of this.idleConns) {
      if (c.idleSince > cutoff) break;
      this.idleConns.delete(c);
      // Not a graceful shutdown: that would wait for hyper to finish reading a body nobody
      // reads any more (a request refused with 408 or 413 while its body still trickles in).
      c.forceClose();
    }
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
