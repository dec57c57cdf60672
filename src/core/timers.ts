/**
 * @module
 * One shared timer for every connection: pings, pong deadlines, expiry checks. Thousands of
 * connections must not mean thousands of `setTimeout`s; a coarse wheel with one interval is
 * enough for deadlines measured in seconds.
 */

export interface TimerHandle {
  cancel(): void;
}

/** A scheduled call; it is its own handle (no closure per schedule). */
class Entry implements TimerHandle {
  cancelled = false;
  constructor(readonly fn: () => void) {}
  cancel(): void {
    this.cancelled = true;
  }
}

export class TimerWheel {
  private readonly buckets = new Map<number, Entry[]>();
  private lastTick: number;
  private interval: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly resolutionMs = 100, private readonly onError?: (err: unknown) => void) {
    this.lastTick = Math.floor(Date.now() / resolutionMs);
  }

  /** Runs `fn` once, no earlier than `delayMs` from now (rounded up to the wheel resolution). */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const tick = Math.max(
      Math.ceil((Date.now() + Math.max(0, delayMs)) / this.resolutionMs),
      this.lastTick + 1,
    );
    const entry = new Entry(fn);
    const bucket = this.buckets.get(tick);
    if (bucket) bucket.push(entry);
    else this.buckets.set(tick, [entry]);
    this.ensureRunning();
    return entry;
  }

  /** Number of pending (possibly cancelled) entries; for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.length;
    return n;
  }

  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    this.interval = undefined;
    this.buckets.clear();
  }

  private ensureRunning(): void {
    if (this.interval !== undefined) return;
    this.interval = setInterval(() => this.advance(), this.resolutionMs);
  }

  private advance(): void {
    const now = Math.floor(Date.now() / this.resolutionMs);
    for (let tick = this.lastTick + 1; tick <= now; tick++) {
      // Advance first: a callback that schedules again must land on a tick still to come.
      this.lastTick = tick;
      const bucket = this.buckets.get(tick);
      if (!bucket) continue;
      this.buckets.delete(tick);
      for (const entry of bucket) {
        if (entry.cancelled) continue;
        try {
          entry.fn();
        } catch (err) {
          this.onError?.(err);
        }
      }
    }
    this.lastTick = Math.max(this.lastTick, now);
    if (this.buckets.size === 0 && this.interval !== undefined) {
      clearInterval(this.interval);
      this.interval = undefined;
    }
  }
}
