/**
 * @module
 * Sluice's own Deno listener: the limits `Deno.serve` does not have.
 *
 * `Deno.serve` accepts connections inside its own loop: it never closes a connection that has not
 * sent a request head (so idle and half-open sockets pile up until descriptors run out), and an
 * accept error such as EMFILE ends that loop, closes every open connection and rejects a promise
 * that kills the process. So Sluice accepts connections itself (`Deno.listen`, or `Deno.listenTls`
 * offering HTTP/2), retries a failing accept with a backoff, and hands each connection to Deno's
 * HTTP server for one connection (`connection_server.ts`). Knowing each connection, it closes those
 * with no request in progress for `idleTimeoutMs` with one shared timer (`connections.ts`).
 *
 * The cost is Deno's per-connection server state (about 13 KB per open connection, measured with
 * 5000 idle streams) — the price of a server that survives running out of descriptors.
 */
import { DEFAULT_IDLE_TIMEOUT_MS, type Listener, type ListenOptions } from "../types.ts";
import { deno } from "./namespace.ts";
import { serveOnConnection } from "./connection_server.ts";
import { ConnectionSet, TrackedConnection } from "./connections.ts";
import { internalError, listenWithDenoServe } from "./deno_serve.ts";

/** Backoff between failing accepts (EMFILE clears only when some connection closes). */
const ACCEPT_BACKOFF_MIN_MS = 5;
const ACCEPT_BACKOFF_MAX_MS = 1_000;
/** A descriptor shortage can last; say so once per this interval, not once per failed accept. */
const ACCEPT_WARN_EVERY_MS = 10_000;

const noop = () => {};

/**
 * Serves HTTP on `opts.port` with Sluice's own accept loop, or — on a Deno without
 * `serveHttpOnConnection` — with `Deno.serve` (no idle timeout; a warning says so).
 */
export function listenDeno(opts: ListenOptions): Listener {
  const serveOn = serveOnConnection();
  if (!serveOn) {
    opts.log?.warn("this Deno cannot serve accepted connections; idle connections are not timed out");
    return listenWithDenoServe(opts);
  }
  let listener: Deno.TcpListener | Deno.TlsListener;
  try {
    listener = opts.tls
      ? deno.listenTls({
        port: opts.port,
        hostname: opts.hostname,
        cert: opts.tls.cert,
        key: opts.tls.key,
        // HTTP/2 where the client offers it: browsers allow only 6 HTTP/1.1 connections per host
        alpnProtocols: ["h2", "http/1.1"],
        ...(opts.reusePort ? { reusePort: true } : {}),
      })
      : deno.listen({
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
        if (closed || err instanceof deno.errors.BadResource || err instanceof deno.errors.Interrupted) break;
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
