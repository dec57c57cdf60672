/// <reference types="bun-types" />
/**
 * @module
 * A request's `ConnInfo` on Bun: the remote address, the close notification (the request's abort
 * signal), the per-request idle timeout that holds a stream open or cuts a slow consumer, and the
 * WebSocket upgrade.
 */
import type { ConnInfo, WebSocketUpgrade } from "../types.ts";
import { type SocketData, upgradeBunWebSocket } from "./websocket.ts";

/** The parts of Bun's server a request needs. */
export type BunServer = Pick<Bun.Server<SocketData>, "requestIP" | "timeout" | "upgrade">;

/** Bun's largest idle timeout. */
export const BUN_MAX_IDLE_SECONDS = 255;

const ONCE = { once: true };

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
export class BunConn implements ConnInfo {
  /** What `onClose` registered: called by `handleEvent`, this object being the abort listener. */
  private closeFn?: (this: unknown) => void;
  private closeSelf: unknown;

  constructor(
    private readonly req: Request,
    private readonly srv: BunServer,
    private readonly idleSeconds: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.srv.requestIP?.(this.req)?.address;
  }

  /**
   * The request's abort signal tells. This object is the listener (`handleEvent`), so a stream
   * keeps no closure for its whole life; a second registration, which Sluice never makes, gets
   * one.
   */
  onClose<T>(fn: (this: T) => void, self?: T): void {
    const signal = this.req.signal;
    if (signal.aborted) fn.call(self as T);
    else if (this.closeFn === undefined) {
      this.closeFn = fn as (this: unknown) => void;
      this.closeSelf = self;
      signal.addEventListener("abort", this, ONCE);
    } else signal.addEventListener("abort", () => fn.call(self as T), ONCE);
  }

  /** EventListener: the request's signal aborted. */
  handleEvent(): void {
    const fn = this.closeFn;
    const self = this.closeSelf;
    this.closeSelf = undefined;
    fn?.call(self);
  }

  /**
   * Bun closes connections idle for `idleTimeout` (10 s by default), and a stream that is only
   * pinged every 25 s looks idle; 0 disables the timeout for this request only.
   */
  holdOpen(): void {
    this.srv.timeout(this.req, 0);
  }

  /** Bun cuts a connection that makes no progress for its timeout: give the stream one again. */
  responseEnded(): void {
    this.srv.timeout(this.req, this.idleSeconds || BUN_MAX_IDLE_SECONDS);
  }

  /** As soon as Bun allows: one second without progress. */
  abort(): void {
    this.srv.timeout(this.req, 1);
  }

  upgradeWebSocket(req: Request, opts: WebSocketUpgrade): Response {
    return upgradeBunWebSocket(this.srv, req, opts);
  }
}
