/**
 * @module
 * A node:http request's `ConnInfo`: the remote address, the close notification, the cut of a
 * response that does not drain, and `streamResponse` (the stream `respond.ts` then drains itself).
 */
import type * as http from "node:http";
import type { ByteSource, ConnInfo } from "../types.ts";
import type { DirectDrain } from "./drain.ts";

/** The response's connection, where the one `close` listener every response shares finds it. */
const CONN = Symbol("sluice.conn");
type TaggedResponse = http.ServerResponse & { [CONN]?: NodeConn };

/**
 * The `close` listener of every watched response (`this` is the response): one function for all,
 * so a stream keeps no closure, no `once` wrapper and no second listener for its whole life.
 */
function responseClosed(this: TaggedResponse): void {
  this[CONN]?.closed();
}

/**
 * A request's connection. A class whose close callbacks are fields, not closures: a stream keeps
 * it for its whole life.
 */
export class NodeConn implements ConnInfo {
  /** The stream answer made by `streamResponse`, drained by `respond` if it is the one returned. */
  direct: { response: Response; source: ByteSource } | undefined;
  /** What `onClose` registered, called when the response closes. */
  private closeFn?: (this: unknown) => void;
  private closeSelf: unknown;
  /** The drain writing a stream answer into the response: cancelled when it closes. */
  private drain: DirectDrain | undefined;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly idleMs: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  /** A second registration, which Sluice never makes, gets a listener of its own. */
  onClose<T>(fn: (this: T) => void, self?: T): void {
    if (this.res.closed) fn.call(self as T);
    else if (this.closeFn === undefined) {
      this.closeFn = fn as (this: unknown) => void;
      this.closeSelf = self;
      this.watchClose();
    } else this.res.once("close", () => fn.call(self as T));
  }

  /** The drain of this response's stream (respond.ts), cancelled when the response closes. */
  drainedBy(drain: DirectDrain): void {
    this.drain = drain;
    this.watchClose();
  }

  /** The response closed (ended, or the client went away): the stream's owner first, then its drain. */
  closed(): void {
    const fn = this.closeFn;
    const self = this.closeSelf;
    this.closeFn = undefined;
    this.closeSelf = undefined;
    fn?.call(self);
    this.drain?.closed();
  }

  private watchClose(): void {
    const res = this.res as TaggedResponse;
    if (res[CONN] === this) return;
    res[CONN] = this;
    res.on("close", responseClosed);
  }

  /** A request in progress is never idle for node:http's timeouts; nothing to do. */
  holdOpen(): void {}

  streamResponse(source: ByteSource, init: ResponseInit): Response {
    const response = new Response(null, init);
    this.direct = { response, source };
    return response;
  }

  /** A client that does not read what we sent is cut once the idle timeout has passed. */
  responseEnded(): void {
    if (this.idleMs <= 0) return;
    const timer = setTimeout(() => {
      if (!this.res.writableFinished) this.req.socket.destroy();
    }, this.idleMs);
    (timer as { unref?: () => void }).unref?.();
    this.res.once("finish", () => clearTimeout(timer));
  }

  abort(): void {
    this.req.socket.destroy();
  }
}
