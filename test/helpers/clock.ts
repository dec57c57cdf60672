/**
 * A clock a test moves by hand, for the parts of Sluice that take a `now()` source (a Node — its
 * TimerWheel, token checks, expiries —, a TimerWheel or MemoryBroker alone): a token's expiry, a
 * history TTL or a timer's deadline passes when the test says so, not after a sleep. It starts at
 * the real time (so timestamps and tokens look ordinary) and stands still until advanced.
 */
import { MemoryBroker } from "../../src/broker/memory.ts";
import type { Plugin } from "../../src/plugin_api/types.ts";

export class ManualClock {
  private at = Date.now();

  /** The clock's time in ms; pass it as a `now` source (it is bound). */
  readonly now = (): number => this.at;

  /** Whole seconds on the clock (what token claims and `expireAt` are written in). */
  seconds(): number {
    return Math.floor(this.at / 1000);
  }

  /**
   * Moves the clock `ms` forward; with `timers` (a node's `timers`, on this clock) runs at once
   * whatever fell due, rather than at the wheel's next real tick.
   */
  advance(ms: number, timers?: { runDue(): void }): void {
    this.at += ms;
    timers?.runDue();
  }
}

/**
 * A server's broker on a ManualClock: pass `plugin` to `startServer`, then `clock.advance(ms)`
 * lets history TTLs run out at once.
 */
export function manualClockBroker(): { clock: ManualClock; plugin: Plugin } {
  const clock = new ManualClock();
  return {
    clock,
    plugin: { name: "manual-clock-broker", provides: { broker: new MemoryBroker(clock.now) } },
  };
}
