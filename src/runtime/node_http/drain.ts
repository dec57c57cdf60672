/**
 * @module
 * `ConnInfo.streamResponse` on node:http: a Sluice stream written straight into the response with
 * backpressure (pull, write, wait for `drain`) and cancelled when the client goes away.
 */
import type * as http from "node:http";
import type { ByteSource, ByteSourceController } from "../types.ts";

/** The response a drain writes into, where the `drain` listener every response shares finds it. */
const DRAIN = Symbol("sluice.drain");
type TaggedResponse = http.ServerResponse & { [DRAIN]?: DirectDrain };

/** The `drain` listener of a response under backpressure (`this` is the response): no closure. */
function responseDrained(this: TaggedResponse): void {
  this[DRAIN]?.pullAgain();
}

/**
 * A Sluice stream written straight into the response, as a `ReadableStream`'s reader would take it
 * (pull → enqueue → write; on backpressure, the next pull waits for `drain`), without the stream:
 * ~6 KB less per idle connection and no promise per chunk. The response's close reaches it through
 * its `NodeConn` (`closed`), which holds the one `close` listener.
 */
export class DirectDrain implements ByteSourceController {
  private done = false;
  constructor(private readonly source: ByteSource, private readonly res: http.ServerResponse) {}

  begin(): void {
    if (this.res.closed) {
      // the client left while the handler ran: nothing to write to
      this.done = true;
      this.source.cancel();
      return;
    }
    this.source.start(this);
    if (!this.done) this.source.pull();
  }

  /** The response closed: the client went away, or the stream ended. */
  closed(): void {
    if (this.done) return;
    this.done = true;
    this.source.cancel();
  }

  enqueue(chunk: Uint8Array): void {
    if (this.done) throw new TypeError("the response has ended");
    if (this.res.write(chunk)) this.source.pull();
    else {
      (this.res as TaggedResponse)[DRAIN] = this;
      this.res.once("drain", responseDrained);
    }
  }

  /** The response can take more again. */
  pullAgain(): void {
    if (!this.done) this.source.pull();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.res.end();
  }

  error(): void {
    if (this.done) return;
    this.done = true;
    this.res.destroy();
  }
}
