/**
 * @module
 * `ConnInfo.streamResponse` on node:http: a Sluice stream written straight into the response with
 * backpressure (pull, write, wait for `drain`) and cancelled when the client goes away.
 */
import type * as http from "node:http";
import type { ByteSource, ByteSourceController } from "../types.ts";

/**
 * A Sluice stream written straight into the response, as a `ReadableStream`'s reader would take it
 * (pull → enqueue → write; on backpressure, the next pull waits for `drain`), without the stream:
 * ~6 KB less per idle connection and no promise per chunk.
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
    this.res.once("close", () => {
      if (this.done) return;
      this.done = true;
      this.source.cancel();
    });
    this.source.start(this);
    if (!this.done) this.source.pull();
  }

  enqueue(chunk: Uint8Array): void {
    if (this.done) throw new TypeError("the response has ended");
    if (this.res.write(chunk)) this.source.pull();
    else {
      this.res.once("drain", () => {
        if (!this.done) this.source.pull();
      });
    }
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
