/**
 * The broker contract against the in-process memory implementations, plus a few memory-only
 * checks that use the broker's injectable clock (exact TTL boundaries without sleeping).
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertNotEquals } from "../assert.ts";
import { brokerContract } from "./broker_contract.ts";
import { MemoryBroker, MemoryController, MemoryPresenceManager, newEpoch } from "../../src/broker/memory.ts";
import type { BrokerEventHandler, PublishOptions } from "../../src/broker/broker.ts";
import { ManualClock } from "../helpers/clock.ts";

brokerContract("memory", () => {
  const clock = new ManualClock();
  const broker = new MemoryBroker(clock.now);
  const presence = new MemoryPresenceManager();
  const controller = new MemoryController();
  return Promise.resolve({
    broker,
    presence,
    controller,
    historyRecords: () => Promise.resolve(broker.streamCount),
    passTime: (ms) => Promise.resolve(clock.advance(ms)),
    async cleanup() {
      await controller.close();
      await presence.close();
      await broker.close();
    },
  });
});

const noopHandler: BrokerEventHandler = {
  handlePublication() {},
  handleJoin() {},
  handleLeave() {},
};

function fakeClockBroker(
  t: { cleanup(fn: () => unknown): void },
): { broker: MemoryBroker; clock: ManualClock } {
  const clock = new ManualClock();
  const broker = new MemoryBroker(clock.now);
  t.cleanup(() => broker.close());
  return { broker, clock };
}

test("memory: newEpoch is 8 ASCII letters and never the '_' sentinel", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const e = newEpoch();
    assert(/^[a-zA-Z]{8}$/.test(e), `unexpected epoch ${e}`);
    seen.add(e);
  }
  assert(seen.size > 190, "epochs are random");
});

test("memory: each publication expires historyTtl after it was published", async (t) => {
  const { broker, clock } = fakeClockBroker(t);
  await broker.start(noopHandler);
  const opts: PublishOptions = { historySize: 10, historyTtl: 1000, historyMetaTtl: 60_000 };
  await broker.publish("c", "1", opts);
  clock.advance(600);
  await broker.publish("c", "2", opts);
  clock.advance(399); // first is 999 ms old
  let h = await broker.history("c", { limit: -1, metaTtl: 60_000 });
  assertEquals(h.publications.map((p) => p.offset), [1, 2]);
  clock.advance(1); // first is exactly 1000 ms old
  h = await broker.history("c", { limit: -1, metaTtl: 60_000 });
  assertEquals(h.publications.map((p) => p.offset), [2]);
  clock.advance(600);
  h = await broker.history("c", { limit: -1, metaTtl: 60_000 });
  assertEquals(h.publications, []);
  assertEquals(h.offset, 2);
});

test("memory: stream meta lives max(historyMetaTtl, historyTtl) after the last publish", async (t) => {
  const { broker, clock } = fakeClockBroker(t);
  await broker.start(noopHandler);
  // Meta TTL shorter than the history TTL: the stream must not lose its epoch while data lives.
  const opts: PublishOptions = { historySize: 10, historyTtl: 5000, historyMetaTtl: 1000 };
  const r1 = await broker.publish("c", "1", opts);
  clock.advance(4999);
  const r2 = await broker.publish("c", "2", opts);
  assertEquals({ offset: r2.offset, epoch: r2.epoch }, { offset: 2, epoch: r1.epoch });
  clock.advance(5000);
  const r3 = await broker.publish("c", "3", opts);
  assertEquals(r3.offset, 1);
  assertNotEquals(r3.epoch, r1.epoch);
});

test("memory: idempotent result expires exactly after idempotentResultTtl (default 5 minutes)", async (t) => {
  const { broker, clock } = fakeClockBroker(t);
  let delivered = 0;
  await broker.start({ ...noopHandler, handlePublication: () => void delivered++ });
  await broker.subscribe("c");
  const opts: PublishOptions = {
    historySize: 10,
    historyTtl: 600_000,
    historyMetaTtl: 600_000,
    idempotencyKey: "k",
  };
  await broker.publish("c", "1", opts);
  clock.advance(299_999);
  assertEquals((await broker.publish("c", "1", opts)).suppressed, true);
  clock.advance(1);
  const r = await broker.publish("c", "1", opts);
  assert(!r.suppressed, "key expired after 300 s");
  assertEquals(r.offset, 2);
  assertEquals(delivered, 2);
});
