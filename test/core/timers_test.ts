/**
 * TimerWheel: scheduling, cancellation, ordering, size, stop and error isolation.
 *
 * Most tests run the wheel on a ManualClock and call `runDue` after moving it: exact deadlines,
 * no waiting, the same result under load. The tests that wait (`waitFor`) run on the real clock and
 * the wheel's own interval; they assert order and "not earlier than", never exact times.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { TimerWheel } from "../../src/core/timers.ts";
import { ManualClock } from "../helpers/clock.ts";

/** A wheel on the real clock, driven by its own interval. */
function wheel(t: TestContext, resolutionMs = 20, onError?: (err: unknown) => void): TimerWheel {
  const w = new TimerWheel(resolutionMs, onError);
  t.cleanup(() => w.stop());
  return w;
}

/** A wheel on a ManualClock; `pass(ms)` moves the clock and runs what is due. */
function manualWheel(
  t: TestContext,
  resolutionMs = 20,
  onError?: (err: unknown) => void,
): { w: TimerWheel; pass(ms: number): void } {
  const clock = new ManualClock();
  const w = new TimerWheel(resolutionMs, onError, clock.now);
  t.cleanup(() => w.stop());
  return {
    w,
    pass(ms) {
      clock.advance(ms);
      w.runDue();
    },
  };
}

test("TimerWheel: runs a callback once, no earlier than its delay", (t) => {
  const { w, pass } = manualWheel(t);
  let runs = 0;
  w.schedule(100, () => runs++);
  assertEquals(w.size, 1);
  pass(80); // the deadline rounds up to a tick: at most one resolution (20 ms) late, never early
  assertEquals(runs, 0, "not before its delay");
  pass(40);
  assertEquals(runs, 1, "ran once its delay had passed");
  pass(1_000);
  assertEquals(runs, 1, "runs only once");
  assertEquals(w.size, 0);
});

test("TimerWheel: runs a callback no earlier than its delay (real clock)", async (t) => {
  const w = wheel(t);
  const started = Date.now();
  const runs: number[] = [];
  w.schedule(100, () => runs.push(Date.now()));
  await waitFor(() => runs.length === 1, "callback");
  assert(runs[0] - started >= 100, `ran after ${runs[0] - started} ms, expected ≥ 100`);
  assertEquals(w.size, 0);
});

test("TimerWheel: zero and negative delays run on the next tick", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  w.schedule(0, () => ran.push("zero"));
  w.schedule(-500, () => ran.push("negative"));
  assertEquals(ran, [], "never synchronously");
  await waitFor(() => ran.length === 2, "both callbacks");
  assertEquals(ran, ["zero", "negative"]);
});

test("TimerWheel: callbacks run in deadline order, ties in scheduling order", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  w.schedule(300, () => ran.push("300"));
  w.schedule(60, () => ran.push("60-a"));
  w.schedule(180, () => ran.push("180"));
  w.schedule(60, () => ran.push("60-b"));
  w.schedule(60, () => ran.push("60-c"));
  await waitFor(() => ran.length === 5, "all callbacks");
  assertEquals(ran, ["60-a", "60-b", "60-c", "180", "300"]);
});

test("TimerWheel: a cancelled callback never runs; cancelling twice or after running is harmless", (t) => {
  const { w, pass } = manualWheel(t);
  const ran: string[] = [];
  const a = w.schedule(40, () => ran.push("a"));
  const b = w.schedule(40, () => ran.push("b"));
  const c = w.schedule(120, () => ran.push("c"));
  b.cancel();
  b.cancel();
  pass(1_000);
  assertEquals(ran, ["a", "c"]);
  a.cancel();
  c.cancel();
  assertEquals(w.size, 0);
});

test("TimerWheel: cancel releases the entry at once, long before its tick", (t) => {
  const { w, pass } = manualWheel(t);
  assertEquals(w.size, 0);
  const h1 = w.schedule(60, () => {});
  w.schedule(60, () => {});
  const far = w.schedule(24 * 3600_000, () => {});
  assertEquals(w.size, 3);
  h1.cancel();
  far.cancel();
  assertEquals(w.size, 1, "cancelled entries leave the wheel when cancelled");
  pass(100);
  assertEquals(w.size, 0, "the remaining 60 ms entry ran");
});

test("TimerWheel: 10k entries a day away, cancelled, leave nothing behind", (t) => {
  const w = wheel(t);
  const handles = [];
  for (let i = 0; i < 10_000; i++) handles.push(w.schedule(24 * 3600_000 + i, () => {}));
  assertEquals(w.size, 10_000);
  for (const h of handles) h.cancel();
  assertEquals(w.size, 0);
  // Scheduling still works afterwards, in the same ticks.
  const again = w.schedule(24 * 3600_000, () => {});
  assertEquals(w.size, 1);
  again.cancel();
  assertEquals(w.size, 0);
});

test("TimerWheel: a callback that cancels a later entry of the same tick stops it", (t) => {
  const { w, pass } = manualWheel(t);
  const ran: string[] = [];
  const later: Array<{ cancel(): void }> = [];
  w.schedule(40, () => {
    ran.push("first");
    later[0].cancel();
  });
  later.push(w.schedule(40, () => ran.push("second")));
  w.schedule(40, () => ran.push("third"));
  pass(1_000);
  assertEquals(ran, ["first", "third"]);
  assertEquals(w.size, 0);
});

test("TimerWheel: stop drops every pending callback; the wheel can be used again", (t) => {
  const { w, pass } = manualWheel(t);
  const ran: string[] = [];
  w.schedule(40, () => ran.push("a"));
  w.schedule(80, () => ran.push("b"));
  w.stop();
  assertEquals(w.size, 0);
  pass(1_000);
  assertEquals(ran, [], "nothing runs after stop");
  w.schedule(20, () => ran.push("again"));
  pass(40);
  assertEquals(ran, ["again"]);
});

test("TimerWheel: a throwing callback is reported to onError and does not stop the others", async (t) => {
  const errors: unknown[] = [];
  const w = wheel(t, 20, (err) => errors.push(err));
  const ran: string[] = [];
  const boom = new Error("boom");
  w.schedule(40, () => ran.push("before"));
  w.schedule(40, () => {
    throw boom;
  });
  w.schedule(40, () => ran.push("same tick, after"));
  w.schedule(120, () => {
    throw "not an Error";
  });
  w.schedule(160, () => ran.push("later tick"));
  await waitFor(() => ran.length === 3 && errors.length === 2, "all callbacks");
  assertEquals(ran, ["before", "same tick, after", "later tick"]);
  assert(errors[0] === boom, "the thrown error itself is reported");
  assertEquals(errors[1], "not an Error");
});

test("TimerWheel: without onError a throwing callback is swallowed", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  w.schedule(20, () => {
    throw new Error("ignored");
  });
  w.schedule(20, () => ran.push("next"));
  await waitFor(() => ran.length === 1, "next callback");
});

test("TimerWheel: a callback may schedule more work, which runs later", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  w.schedule(20, () => {
    ran.push("outer");
    w.schedule(40, () => ran.push("inner"));
  });
  await waitFor(() => ran.length === 2, "inner callback");
  assertEquals(ran, ["outer", "inner"]);
});

test("TimerWheel: a zero-delay callback scheduled from a callback exactly on a tick boundary still runs", (t) => {
  const clock = new ManualClock();
  clock.advance(100 - (clock.now() % 100)); // on a boundary of the 100 ms resolution
  const w = new TimerWheel(100, undefined, clock.now);
  t.cleanup(() => w.stop());
  const ran: string[] = [];
  w.schedule(100, () => {
    ran.push("outer");
    w.schedule(0, () => ran.push("inner"));
  });
  clock.advance(100); // exactly the outer callback's tick
  w.runDue();
  assertEquals(ran, ["outer"]);
  // Time moves well past the inner callback's deadline.
  clock.advance(400);
  w.runDue();
  assertEquals(ran, ["outer", "inner"], "inner callback ran");
  assertEquals(w.size, 0, "nothing left pending");
});

test("TimerWheel: a method runs with the object given as its this, and cancel lets both go", (t) => {
  const { w, pass } = manualWheel(t);
  class Pinger {
    pings = 0;
    ping(this: Pinger): void {
      this.pings++;
    }
  }
  const p = new Pinger();
  w.schedule(20, p.ping, p);
  const cancelled = new Pinger();
  w.schedule(20, cancelled.ping, cancelled).cancel();
  assertEquals(w.size, 1);
  pass(1_000);
  assertEquals([p.pings, cancelled.pings, w.size], [1, 0, 0]);
});

test("TimerWheel: cancelling the first, a middle and the last of one tick keeps the rest in order", async (t) => {
  const w = wheel(t);
  const runs: number[] = [];
  const handles = [0, 1, 2, 3, 4, 5].map((i) => w.schedule(40, () => runs.push(i)));
  for (const i of [0, 2, 5]) handles[i].cancel();
  handles[2].cancel(); // twice: nothing more
  assertEquals(w.size, 3);
  w.schedule(40, () => runs.push(6));
  await waitFor(() => runs.length === 4, "the rest");
  assertEquals(runs, [1, 3, 4, 6]);
  assertEquals(w.size, 0);
});
