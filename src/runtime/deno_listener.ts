/**
 * @module
 * Deno's HTTP listener with the limits `Deno.serve` does not have.
 *
 * `Deno.serve` accepts connections inside its own loop: it never closes a connection that has not
 * sent a request head (so idle and half-open sockets pile up until descriptors run out), and an
 * accept error such as EMFILE ends that loop, closes every open connection and rejects a promise
 * that kills the process. So Sluice accepts connections itself (`Deno.listen`), retries a failing
 * accept with a backoff, and hands each connection to the HTTP server Deno.serve itself uses for
 * one connection (`serveHttpOnConnection`, from `Deno[Deno.internal]`: the only way to serve HTTP
 * on a connection we accepted). Knowing each connection, it closes those with no request in
 * progress for `idleTimeoutMs` with one shared timer.
 *
 * The cost is Deno's per-connection server state (about 13 KB per open connection, measured with
 * 5000 idle streams) — the price of a server that survives running out of descriptors.
 */
import type { ConnInfo, FetchHandler, Listener, ListenOptions, WebSocketUpgrade } from "./types.ts";
import { StandardWebSocket } from "./standard_websocket.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "./types.ts";

/** Deno's namespace, typed by Deno's own declarations (read only when running on Deno). */
const D = (globalThis as { Deno?: typeof Deno }).Deno!;

/** What `serveHttpOnConnection` hands a handler about the request's connection. */
interface DenoServeInfo {
  remoteAddr?: { hostname?: string };
  completed?: Promise<void>;
}

/** The server `serveHttpOnConnection` runs for one connection. */
interface ConnectionServer {
  /** Settles when the connection has ended, whichever side ended it. */
  finished: Promise<void>;
  /** Closes the connection once its responses are done (at once when there are none). */
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  conn: unknown,
  signal: { addEventListener(type: string, fn: () => void): void },
  handler: (req: Request, info: DenoServeInfo) => Response | Promise<Response>,
  onError: (err: unknown) => Response,
  onListen: () => void,
) => ConnectionServer;

/** Deno's own per-connection HTTP server, or undefined if this Deno does not have it. */
function serveOnConnection(): ServeOnConnection | undefined {
  // Not in Deno's public types: `Deno[Deno.internal]` holds the serve loop's building blocks.
  const internals = D as unknown as Record<symbol, { serveHttpOnConnection?: unknown } | undefined> & {
    internal?: symbol;
  };
  const fn = internals.internal !== undefined
    ? internals[internals.internal]?.serveHttpOnConnection
    : undefined;
  return typeof fn === "function" ? fn as ServeOnConnection : undefined;
}

/** Backoff between failing accepts (EMFILE clears only when some connection closes). */
const ACCEPT_BACKOFF_MIN_MS = 5;
const ACCEPT_BACKOFF_MAX_MS = 1_000;
/** A descriptor shortage can last; say so once per this interval, not once per failed accept. */
const ACCEPT_WARN_EVERY_MS = 10_000;

const internalError = () => new Response("internal server error", { status: 500 });
const noop = () => {};

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
export class DenoConn implements ConnInfo {
  constructor(
    private readonly info: DenoServeInfo | undefined,
    private readonly tracked?: TrackedConnection,
  ) {}

  get remoteAddr(): string | undefined {
    return this.info?.remoteAddr?.hostname;
  }

  /**
   * `completed` settles when the response is done or the connection dropped; using it (not
   * request.signal) avoids Deno's legacy-abort warning.
   */
  onClose<T>(fn: (this: T) => void, self?: T): void {
    const call = () => fn.call(self as T);
    this.info?.completed?.then(call, call);
  }

  /** Only connections with no request in progress time out here; a stream is one in progress. */
  holdOpen(): void {}

  responseEnded(): void {
    this.tracked?.mustDrain();
  }

  abort(): void {
    this.tracked?.forceClose();
  }
}

/**
 * A request served by `Deno.serve` (the fallback listener), which can upgrade to a WebSocket.
 * Sluice's own listener cannot: Deno's per-connection server ends its loop once the connection
 * has no HTTP request left — which an upgrade is — and closes it non-gracefully, taking the
 * socket with it. Its connections have no `upgradeWebSocket`, and the transport answers 501
 * (the SDK then falls back to its next transport).
 */
class DenoServeConn extends DenoConn {
  /** `Deno.upgradeWebSocket`; Deno's own protocol pings watch the socket (`idleTimeout`, 120 s). */
  upgradeWebSocket(req: Request, opts: WebSocketUpgrade): Response {
    const { socket, response } = D.upgradeWebSocket(req, opts.protocol ? { protocol: opts.protocol } : {});
    socket.binaryType = "arraybuffer";
    const { events } = opts;
    socket.onopen = () => events.open(new StandardWebSocket(socket));
    socket.onmessage = (e: MessageEvent) =>
      events.message(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
    socket.onclose = (e: CloseEvent) => events.close(e.code, e.reason);
    socket.onerror = noop;
    return response;
  }
}

/** One accepted connection: its requests in progress and how to close it. */
class TrackedConnection {
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
class ConnectionSet {
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

/**
 * Serves HTTP on `opts.port` with Sluice's own accept loop, or — on a Deno without
 * `serveHttpOnConnection` — with `Deno.serve` (no idle timeout; a warning says so).
 */
export function listenDeno(opts: ListenOptions): Listener {
  if (opts.denoListener === "deno_serve") return listenWithDenoServe(opts);
  const serveOn = serveOnConnection();
  if (!serveOn) {
    opts.log?.warn("this Deno cannot serve accepted connections; idle connections are not timed out");
    return listenWithDenoServe(opts);
  }
  let listener: Deno.TcpListener | Deno.TlsListener;
  try {
    listener = opts.tls
      ? D.listenTls({
        port: opts.port,
        hostname: opts.hostname,
        cert: opts.tls.cert,
        key: opts.tls.key,
        // HTTP/2 where the client offers it: browsers allow only 6 HTTP/1.1 connections per host
        alpnProtocols: ["h2", "http/1.1"],
        ...(opts.reusePort ? { reusePort: true } : {}),
      })
      : D.listen({
        port: opts.port,
        hostname: opts.hostname,
        ...(opts.reusePort ? { reusePort: true } : {}),
      });
  } catch (err) {
    // Deno's own message does not say which address ("Address already in use (os error 98)").
    throw new Error(`cannot listen on ${opts.hostname}:${opts.port}: ${(err as Error).message}`);
  }
  const conns = new ConnectionSet(opts.handler, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  let closed = false;

  const serve = (conn: unknown) => {
    const tracked = new TrackedConnection(conns);
    conns.add(tracked);
    try {
      tracked.server = serveOn(conn, tracked, tracked.handle, internalError, noop);
    } catch (err) {
      conns.remove(tracked);
      opts.log?.warn("cannot serve an accepted connection", { err });
      try {
        (conn as { close(): void }).close();
      } catch {
        // already closed
      }
      return;
    }
    const server = tracked.server;
    server.finished.then(
      () => conns.remove(tracked),
      () => {
        // A connection reset by the peer ends Deno's loop with an error before it closes the
        // connection's server resource (kept for good: ~2 KB a connection). Close it here.
        conns.remove(tracked);
        server.shutdown().catch(noop);
      },
    );
  };

  const acceptLoop = async () => {
    let backoff = 0;
    let failures = 0;
    let warnedAt = -Infinity;
    let warned = false;
    while (!closed) {
      let conn: unknown;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closed || err instanceof D.errors.BadResource || err instanceof D.errors.Interrupted) break;
        failures++;
        if (Date.now() - warnedAt >= ACCEPT_WARN_EVERY_MS) {
          warnedAt = Date.now();
          warned = true;
          opts.log?.warn("cannot accept connections; retrying", {
            err,
            failed_accepts: failures,
            open_connections: conns.all.size,
          });
          failures = 0;
        }
        backoff = Math.min(ACCEPT_BACKOFF_MAX_MS, Math.max(ACCEPT_BACKOFF_MIN_MS, backoff * 2));
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      if (backoff > 0) {
        if (warned) opts.log?.info("accepting connections again", { open_connections: conns.all.size });
        warned = false;
        backoff = 0;
      }
      serve(conn);
    }
  };
  void acceptLoop();

  let closing: Promise<void> | undefined;
  return {
    port: listener.addr.port,
    hostname: listener.addr.hostname,
    async close(force = false) {
      if (!closed) {
        closed = true;
        conns.stop();
        try {
          listener.close();
        } catch {
          // already closed
        }
      }
      const finished = () => Promise.all([...conns.all].map((c) => c.server?.finished.catch(noop)));
      if (force) {
        for (const c of conns.all) c.forceClose();
        await Promise.race([finished(), new Promise((r) => setTimeout(r, 50))]);
        return;
      }
      // Like Deno.serve's shutdown: stop accepting, let responses in progress finish.
      closing ??= (async () => {
        for (const c of conns.all) c.close();
        await finished();
      })();
      await closing;
    },
  };
}

/** The fallback: `Deno.serve` with its own accept loop (no idle timeout, EMFILE is fatal). */
function listenWithDenoServe(opts: ListenOptions): Listener {
  const server = D.serve(
    {
      port: opts.port,
      hostname: opts.hostname,
      reusePort: opts.reusePort ?? false,
      ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}),
      onListen() {},
      onError: internalError,
    },
    (req: Request, info: DenoServeInfo) => opts.handler(req, new DenoServeConn(info)),
  );
  let shutdown: Promise<void> | undefined;
  return {
    port: server.addr.port,
    hostname: server.addr.hostname,
    async close(force = false) {
      shutdown ??= server.shutdown();
      if (force) {
        await Promise.race([shutdown, new Promise((r) => setTimeout(r, 50))]);
        server.unref?.();
        return;
      }
      await shutdown;
    },
  };
}
