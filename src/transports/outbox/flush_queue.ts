/**
 * @module
 * Write coalescing: outboxes that were written to during the current I/O turn are flushed together
 * once the turn is over (`setImmediate`: after the pending I/O callbacks, before timers and the
 * next poll), so every connection hands the runtime one chunk (or one WebSocket message) per turn however
 * many messages it got in that turn.
 *
 * Why: each chunk given to a response stream costs the runtime a pump cycle (promises, an op, a
 * wake-up of the socket writer): about 3 µs on Deno and 10 µs on Bun, against well under 1 µs for
 * Sluice's own delivery code. When several publications arrive in one turn (a burst, a batch, a
 * busy channel), one chunk per connection instead of one per message is what keeps fan-out cheap.
 * A lone message waits only for the end of the turn — microseconds, not a timer — and keeps the
 * bytes shared by every subscriber; only batches of several messages are joined per connection.
 * This is the model of Centrifugo's per-connection writer, which writes whatever queued up while
 * it was busy as one frame.
 */
import { setImmediate } from "node:timers";

/** What the queue flushes. */
export interface Flushable {
  flush(): void;
}

/** One per process: the flush runs once per turn for every outbox that has messages waiting. */
class FlushQueue {
  private waiting: Flushable[] = [];
  private scheduled = false;
  private readonly runFlush = () => this.flushAll();

  /** Called once per outbox and turn, on its first write. */
  add(outbox: Flushable): void {
    this.waiting.push(outbox);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runFlush);
  }

  private flushAll(): void {
    this.scheduled = false;
    // A flush can lead to new writes (a failed enqueue disconnects a client, whose cleanup may
    // publish a leave): those go to a fresh list and the next turn.
    const outboxes = this.waiting;
    this.waiting = [];
    for (let i = 0; i < outboxes.length; i++) outboxes[i].flush();
  }
}

export const flushQueue: FlushQueue = new FlushQueue();
