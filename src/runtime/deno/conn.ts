/**
 * @module
 * A request's `ConnInfo` on Deno: the remote address and the close notification from what Deno's
 * server tells the handler; cutting a connection or timing out its undrained response is asked of
 * the listener that tracks it.
 */
import type { ConnInfo } from "../types.ts";

/** What Deno's servers hand a handler about the request's connection. */
export interface DenoServeInfo {
  remoteAddr?: { hostname?: string };
  completed?: Promise<void>;
}

/** What a request may ask of the listener about its connection (Sluice's own accept loop does). */
export interface ConnectionControl {
  /** A response ended on our side; a client that does not read it keeps it from completing. */
  mustDrain(): void;
  /** Cuts the connection now. */
  forceClose(): void;
}

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
export class DenoConn implements ConnInfo {
  constructor(
    private readonly info: DenoServeInfo | undefined,
    private readonly tracked?: ConnectionControl,
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
