/**
 * TimerWheel: scheduling, cancellation, ordering, size, stop and error isolation.
 *
 * Real-clock tests use a fine resolution and assert order and "not earlier than", never exact
 * times, so they hold under load. The re-entrancy test freezes `Date.now` to hit a tick boundary
 * deterministically (and polls with `performance.now`, which it leaves alone).
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, sleep, waitFor } from "../assert.ts";
import { TimerWheel } from "../../src/core/timers.ts";

function wheel(t: TestContext, resolutionMs = 20, onError?: (err: unknown) => void): TimerWheel {
  const w = new TimerWheel(resolutionMs, onError);
  t.cleanup(() => w.stop());
  return w;
}

test("TimerWheel: runs a callback once, no earlier than its delay", async (t) => {
  const w = wheel(t);
  const started = Date.now();
  const runs: number[] = [];
  w.schedule(100, () => runs.push(Date.now()));
  assertEquals(w.size, 1);
  await waitFor(() => runs.length === 1, "callback");
  assert(runs[0] - started >= 100, `ran after ${runs[0] - started} ms, expected ≥ 100`);
  await sleep(150);
  assertEquals(runs.length, 1, "runs only once");
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

test("TimerWheel: a cancelled callback never runs; cancelling twice or after running is harmless", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  const a = w.schedule(40, () => ran.push("a"));
  const b = w.schedule(40, () => ran.push("b"));
  const c = w.schedule(120, () => ran.push("c"));
  b.cancel();
  b.cancel();
  await waitFor(() => ran.includes("a") && ran.includes("c"), "a and c");
  await sleep(100);
  assertEquals(ran, ["a", "c"]);
  a.cancel();
  c.cancel();
  assertEquals(w.size, 0);
});

test("TimerWheel: cancel releases the entry at once, long before its tick", async (t) => {
  const w = wheel(t);
  assertEquals(w.size, 0);
  const h1 = w.schedule(60, () => {});
  w.schedule(60, () => {});
  const far = w.schedule(24 * 3600_000, () => {});
  assertEquals(w.size, 3);
  h1.cancel();
  far.cancel();
  assertEquals(w.size, 1, "cancelled entries leave the wheel when cancelled");
  await waitFor(() => w.size === 0, "the remaining 60 ms entry runs");
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

test("TimerWheel: a callback that cancels a later entry of the same tick stops it", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  const later: Array<{ cancel(): void }> = [];
  w.schedule(40, () => {
    ran.push("first");
    later[0].cancel();
  });
  later.push(w.schedule(40, () => ran.push("second")));
  w.schedule(40, () => ran.push("third"));
  await waitFor(() => ran.length === 2, "first and third");
  await sleep(60);
  assertEquals(ran, ["first", "third"]);
  assertEquals(w.size, 0);
});

test("TimerWheel: stop drops every pending callback; the wheel can be used again", async (t) => {
  const w = wheel(t);
  const ran: string[] = [];
  w.schedule(40, () => ran.push("a"));
  w.schedule(80, () => ran.push("b"));
  w.stop();
  assertEquals(w.size, 0);
  await sleep(200);
  assertEquals(ran, [], "nothing runs after stop");
  w.schedule(20, () => ran.push("again"));
  await waitFor(() => ran.length === 1, "callback scheduled after stop");
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

test("TimerWheel: a zero-delay callback scheduled from a callback exactly on a tick boundary still runs", async (t) => {
  // Freeze the clock on a tick boundary: the wheel's interval still fires (real timers), but every
  // Date.now() it reads is under the test's control.
  const realNow = Date.now;
  let fake = 1_000_000; // a multiple of the 100 ms resolution
  Date.now = () => fake;
  t.cleanup(() => {
    Date.now = realNow;
  });
  const w = new TimerWheel(100);
  t.cleanup(() => w.stop());
  const ran: string[] = [];
  w.schedule(100, () => {
    ran.push("outer");
    w.schedule(0, () => ran.push("inner"));
  });
  fake = 1_000_100; // exactly the outer callback's tick
  const pollUntil = async (cond: () => boolean, ms: number) => {
    const deadline = performance.now() + ms;
    while (!cond() && performance.now() < deadline) await sleep(20);
  };
  await pollUntil(() => ran.length >= 1, 3000);
  assertEquals(ran, ["outer"]);
  // Time moves well past the inner callback's deadline.
  fake = 1_000_500;
  await pollUntil(() => ran.length >= 2, 1500);
  assertEquals(ran, ["outer", "inner"], "inner callback ran");
  assertEquals(w.size, 0, "nothing left pending");
});

test("TimerWheel: a method runs with the object given as its this, and cancel lets both go", async (t) => {
  const w = wheel(t);
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
  await waitFor(() => p.pings === 1, "method call");
  await sleep(60);
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
