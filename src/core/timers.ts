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

export class TimerWheel {
  /** Tick → its entries in scheduling order (a Set: removal is O(1), iteration keeps order). */
  private readonly buckets = new Map<number, Set<Entry>>();
  private pending = 0;
  private lastTick: number;
  private interval: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly resolutionMs = 100, private readonly onError?: (err: unknown) => void) {
    this.lastTick = Math.floor(Date.now() / resolutionMs);
  }

  /**
   * Runs `fn` once, no earlier than `delayMs` from now (rounded up to the wheel resolution), with
   * `self` as its `this`: `schedule(ms, this.method, this)` keeps no closure for the wait (a
   * connection's next ping is always pending, so a closure there stays for the connection's life).
   */
  schedule<T>(delayMs: number, fn: (this: T) => void, self?: T): TimerHandle {
    const tick = Math.max(
      Math.ceil((Date.now() + Math.max(0, delayMs)) / this.resolutionMs),
      this.lastTick + 1,
    );
    const entry = new Entry(fn as (this: unknown) => void, self, this, tick);
    const bucket = this.buckets.get(tick);
    if (bucket) bucket.add(entry);
    else this.buckets.set(tick, new Set([entry]));
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
    for (const bucket of this.buckets.values()) for (const entry of bucket) entry.wheel = undefined;
    this.buckets.clear();
    this.pending = 0;
  }

  /** Called by a cancelled entry that is still scheduled. */
  remove(entry: Entry): void {
    const bucket = this.buckets.get(entry.tick);
    if (!bucket?.delete(entry)) return;
    this.pending--;
    if (bucket.size === 0) this.buckets.delete(entry.tick);
    if (this.buckets.size === 0) this.stopInterval();
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
      // Entries leave the bucket one by one as they run, so a callback that cancels an entry
      // of the same tick still prevents it.
      for (const entry of bucket) {
        bucket.delete(entry);
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
