/**
 * @module
 * A node:http request's `ConnInfo`: the remote address, the close notification, the cut of a
 * response that does not drain, and `streamResponse` (the stream `respond.ts` then drains itself).
 */
import type * as http from "node:http";
import type { ByteSource, ConnInfo } from "../types.ts";

export class NodeConn implements ConnInfo {
  /** The stream answer made by `streamResponse`, drained by `respond` if it is the one returned. */
  direct: { response: Response; source: ByteSource } | undefined;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly idleMs: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  onClose<T>(fn: (this: T) => void, self?: T): void {
    if (this.res.closed) fn.call(self as T);
    else this.res.once("close", () => fn.call(self as T));
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
