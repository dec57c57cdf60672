/**
 * @module
 * One shared timer for every connection: pings, pong deadlines, expiry checks. Thousands of
 * connections must not mean thousands of `setTimeout`s; a coarse wheel with one interval is
 * enough for deadlines measured in seconds.
 */

export interface TimerHandle {
  cancel(): void;
}

/**
 * A scheduled call; it is its own handle (no closure per schedule). Cancelling removes it from its
 * bucket at once: the callback usually holds a whole client, which must not stay reachable until
 * the original due time (hours, for a token's expiry).
 */
class Entry implements TimerHandle {
  /** Neighbours in its tick's bucket while scheduled. */
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;

  constructor(
    public fn: ((this: unknown) => void) | undefined,
    /** `this` for `fn`: a method and its object instead of a closure made per schedule. */
    public self: unknown,
    public wheel: TimerWheel | undefined,
    readonly tick: number,
  ) {}
  cancel(): void {
    const wheel = this.wheel;
    this.wheel = undefined;
    this.fn = undefined;
    this.self = undefined;
    wheel?.remove(this);
  }
}

/**
 * One tick's entries in scheduling order: a list linked through the entries themselves. Removal
 * is O(1) and order is kept, as with a Set, without a table entry per timer (on Bun a Set entry
 * costs 40–180 bytes depending on the table's growth, and every idle connection has a ping
 * pending).
 */
class Bucket {
  first: Entry | undefined = undefined;
  last: Entry | undefined = undefined;

  push(entry: Entry): void {
    entry.prev = this.last;
    entry.next = undefined;
    if (this.last) this.last.next = entry;
    else this.first = entry;
    this.last = entry;
  }

  /** Takes `entry` out; false when it was not in this bucket. */
  unlink(entry: Entry): boolean {
    if (entry.prev === undefined && this.first !== entry) return false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.first = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.last = entry.prev;
    entry.prev = entry.next = undefined;
    return true;
  }
}

export class TimerWheel {
  /** Tick → its entries in scheduling order. */
  private readonly buckets = new Map<number, Bucket>();
  private pending = 0;
  private lastTick: number;
  private interval: ReturnType<typeof setInterval> | undefined;

  /**
   * `now` is the clock deadlines are measured on: the real one, or a test's own (which then moves
   * time forward and calls `runDue`, instead of waiting for it).
   */
  constructor(
    private readonly resolutionMs = 100,
    private readonly onError?: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTick = Math.floor(now() / resolutionMs);
  }

  /**
   * Runs `fn` once, no earlier than `delayMs` from now (rounded up to the wheel resolution), with
   * `self` as its `this`: `schedule(ms, this.method, this)` keeps no closure for the wait (a
   * connection's next ping is always pending, so a closure there stays for the connection's life).
   */
  schedule<T>(delayMs: number, fn: (this: T) => void, self?: T): TimerHandle {
    const tick = Math.max(
      Math.ceil((this.now() + Math.max(0, delayMs)) / this.resolutionMs),
      this.lastTick + 1,
    );
    const entry = new Entry(fn as (this: unknown) => void, self, this, tick);
    let bucket = this.buckets.get(tick);
    if (!bucket) this.buckets.set(tick, bucket = new Bucket());
    bucket.push(entry);
    this.pending++;
    this.ensureRunning();
    return entry;
  }

  /** Number of pending entries (cancelled ones are gone at once); for tests and metrics. */
  get size(): number {
    return this.pending;
  }

  stop(): void {
    this.stopInterval();
    for (const bucket of this.buckets.values()) {
      for (let entry = bucket.first; entry; entry = entry.next) entry.wheel = undefined;
    }
    this.buckets.clear();
    this.pending = 0;
  }

  /** Called by a cancelled entry that is still scheduled. */
  remove(entry: Entry): void {
    const bucket = this.buckets.get(entry.tick);
    if (!bucket?.unlink(entry)) return;
    this.pending--;
    if (bucket.first === undefined) this.buckets.delete(entry.tick);
    if (this.buckets.size === 0) this.stopInterval();
  }

  private ensureRunning(): void {
    if (this.interval !== undefined) return;
    this.interval = setInterval(() => this.runDue(), this.resolutionMs);
  }

  /**
   * Runs every callback due by `now()`, in deadline order. The wheel's interval calls it each tick;
   * a test with its own clock calls it after moving that clock.
   */
  runDue(): void {
    const now = Math.floor(this.now() / this.resolutionMs);
    for (let tick = this.lastTick + 1; tick <= now; tick++) {
      // Advance first: a callback that schedules again must land on a tick still to come.
      this.lastTick = tick;
      const bucket = this.buckets.get(tick);
      if (!bucket) continue;
      // Entries leave the bucket one by one as they run, so a callback that cancels an entry
      // of the same tick still prevents it.
      for (let entry = bucket.first; entry; entry = bucket.first) {
        bucket.unlink(entry);
        this.pending--;
        const fn = entry.fn;
        const self = entry.self;
        entry.fn = undefined;
        entry.self = undefined;
        entry.wheel = undefined;
        if (!fn) continue;
        try {
          fn.call(self);
        } catch (err) {
          this.onError?.(err);
        }
      }
      this.buckets.delete(tick);
    }
    this.lastTick = Math.max(this.lastTick, now);
    if (this.buckets.size === 0) this.stopInterval();
  }

  private stopInterval(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    this.interval = undefined;
  }
}
