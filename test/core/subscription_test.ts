/**
 * The subscribe path's stream decisions (protocol.md §5.3): recovery with a fake SubscribeHost,
 * live continuity checks (send / skip / gap), and a connection's table of subscriptions.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  checkContinuity,
  encodeSubscribeResult,
  positionSubscription,
  type RecoveryRequest,
  type SubscribeHost,
  Subscription,
  Subscriptions,
} from "../../src/core/subscription.ts";
import type { ResolvedChannel } from "../../src/core/channel.ts";
import { type ChannelOptions, defaultConfig, topLevelChannelOptions } from "../../src/config/mod.ts";
import type { Publication, StreamPosition } from "../../src/wire/protocol.ts";
import { ErrorCode, isClientError } from "../../src/errors.ts";

const EPOCH = "AbCdEfGh";

function resolved(overrides: Partial<ChannelOptions> = {}): ResolvedChannel {
  return { namespace: "", options: { ...topLevelChannelOptions(defaultConfig()), ...overrides } };
}

const RECOVERABLE = { history_size: 100, history_ttl: 300_000, force_recovery: true };
const POSITIONED = { history_size: 100, history_ttl: 300_000, force_positioning: true };

function pubs(from: number, to: number): Publication[] {
  const out: Publication[] = [];
  for (let o = from; o <= to; o++) out.push({ data: JSON.stringify({ o }), offset: o });
  return out;
}

interface HistoryCall {
  channel: string;
  since?: StreamPosition;
  limit: number;
}

/** A host over one stream: publications still kept, top offset and epoch. */
class FakeHost implements SubscribeHost {
  readonly calls: HistoryCall[] = [];
  constructor(
    readonly recoveryLimit: number,
    public stream: { publications: Publication[]; offset: number; epoch: string },
  ) {}

  history(channel: string, _resolved: ResolvedChannel, opts: { since?: StreamPosition; limit: number }) {
    this.calls.push({ channel, since: opts.since ? { ...opts.since } : undefined, limit: opts.limit });
    let out = this.stream.publications.filter((p) => p.offset! > (opts.since?.offset ?? 0));
    if (opts.limit === 0) out = [];
    else if (opts.limit > 0) out = out.slice(0, opts.limit);
    return Promise.resolve({ publications: out, offset: this.stream.offset, epoch: this.stream.epoch });
  }
}

/** Stream with offsets 1..5 all still in history. */
const fullStream = () => ({ publications: pubs(1, 5), offset: 5, epoch: EPOCH });

function recoverReq(offset: number, epoch: string, rejectUnrecovered = false): RecoveryRequest {
  return { recover: true, offset, epoch, rejectUnrecovered };
}
const noRecover: RecoveryRequest = { recover: false, offset: 0, epoch: "", rejectUnrecovered: false };

// -------------------------------------------------------------------------------------------------
// Subscription flags

test("Subscription: recoverable and positioned follow the channel options and need history", () => {
  assertEquals(new Subscription("c", resolved(), false).positioned, false);
  const rec = new Subscription("c", resolved(RECOVERABLE), false);
  assert(rec.recoverable && rec.positioned, "recovery implies positioning");
  const pos = new Subscription("c", resolved(POSITIONED), false);
  assert(pos.positioned && !pos.recoverable, "positioning alone");
  const noHistory = new Subscription("c", resolved({ force_recovery: true, force_positioning: true }), false);
  assert(!noHistory.recoverable && !noHistory.positioned, "no history, no stream");
  const override = new Subscription("c", resolved({ history_size: 10, history_ttl: 60_000 }), true, {
    force_recovery: true,
  });
  assert(override.recoverable && override.positioned, "token override turns recovery on");
  const overrideOff = new Subscription("c", resolved(RECOVERABLE), true, { force_recovery: false });
  assert(!overrideOff.recoverable, "token override turns recovery off");
});

// -------------------------------------------------------------------------------------------------
// positionSubscription

test("positionSubscription: a channel without positioning reads nothing; the asked recovery is reported", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(), false);
  // Centrifugo reports was_recovering whenever the client asked, recovery or not
  assertEquals(await positionSubscription(host, sub, recoverReq(3, EPOCH)), { was_recovering: true });
  assertEquals(await positionSubscription(host, sub, noRecover), {});
  assertEquals(host.calls, []);
});

test("positionSubscription: positioned-only returns the stream top", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(POSITIONED), false);
  const f = await positionSubscription(host, sub, recoverReq(3, EPOCH));
  assertEquals(f, { positioned: true, epoch: EPOCH, offset: 5, was_recovering: true });
  assert(!f.recoverable && !f.recovered, "asked, not recovered");
  assertEquals(host.calls, [{ channel: "c", since: undefined, limit: 0 }]);
  assertEquals({ offset: sub.offset, epoch: sub.epoch }, { offset: 5, epoch: EPOCH });
});

test("positionSubscription: recoverable without recover=true returns the top, not was_recovering", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub, noRecover);
  assertEquals(f, { positioned: true, recoverable: true, epoch: EPOCH, offset: 5 });
  assertEquals(host.calls[0].limit, 0);
  assertEquals(sub.offset, 5);
});

test("positionSubscription: recovered when the whole gap is in history", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub, recoverReq(3, EPOCH));
  assertEquals(f.recovered, true);
  assertEquals(f.was_recovering, true);
  assertEquals(f.positioned, true);
  assertEquals(f.recoverable, true);
  assertEquals(f.epoch, EPOCH);
  assertEquals(f.offset, 3, "offset is the requested one on success");
  assertEquals(f.publications!.map((p) => p.offset), [4, 5]);
  assertEquals(host.calls, [{ channel: "c", since: { offset: 3, epoch: EPOCH }, limit: 301 }]);
  assertEquals({ offset: sub.offset, epoch: sub.epoch }, { offset: 5, epoch: EPOCH }, "sub is at the top");
});

test("positionSubscription: recovered with nothing missed", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub, recoverReq(5, EPOCH));
  assertEquals(f.recovered, true);
  assertEquals(f.offset, 5);
  assertEquals(f.publications ?? [], []);
  // Also on an empty stream.
  const empty = new FakeHost(300, { publications: [], offset: 0, epoch: EPOCH });
  const f0 = await positionSubscription(
    empty,
    new Subscription("c", resolved(RECOVERABLE), false),
    recoverReq(0, EPOCH),
  );
  assertEquals(f0.recovered, true);
});

test("positionSubscription: an empty requested epoch matches any epoch", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub, recoverReq(2, ""));
  assertEquals(f.recovered, true);
  assertEquals(f.epoch, EPOCH);
  assertEquals(f.publications!.map((p) => p.offset), [3, 4, 5]);
  assertEquals(sub.epoch, EPOCH);
});

function assertUnrecovered(
  f: Awaited<ReturnType<typeof positionSubscription>>,
  sub: Subscription,
  top: StreamPosition,
) {
  assert(!f.recovered, "not recovered");
  assertEquals(f.was_recovering, true);
  assertEquals(f.recoverable, true);
  assertEquals(f.positioned, true);
  assert(!f.publications || f.publications.length === 0, "never partial: no publications");
  assertEquals({ offset: f.offset, epoch: f.epoch }, top, "current top");
  assertEquals({ offset: sub.offset, epoch: sub.epoch }, top, "sub positioned at the top");
}

test("positionSubscription: not recovered on epoch mismatch", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(host, sub, recoverReq(3, "OtherEpc")), sub, {
    offset: 5,
    epoch: EPOCH,
  });
});

test("positionSubscription: the SDK's '_' epoch never recovers", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(host, sub, recoverReq(0, "_")), sub, {
    offset: 5,
    epoch: EPOCH,
  });
});

test("positionSubscription: not recovered when the gap left history (trimmed or expired)", async () => {
  const host = new FakeHost(300, { publications: pubs(4, 5), offset: 5, epoch: EPOCH });
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(host, sub, recoverReq(1, EPOCH)), sub, {
    offset: 5,
    epoch: EPOCH,
  });
  // Everything expired: history empty but the top moved on.
  const expired = new FakeHost(300, { publications: [], offset: 5, epoch: EPOCH });
  const sub2 = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(expired, sub2, recoverReq(3, EPOCH)), sub2, {
    offset: 5,
    epoch: EPOCH,
  });
});

test("positionSubscription: not recovered when the requested offset is ahead of the top", async () => {
  const host = new FakeHost(300, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(host, sub, recoverReq(9, EPOCH)), sub, {
    offset: 5,
    epoch: EPOCH,
  });
});

test("positionSubscription: not recovered when more publications are missing than the limit", async () => {
  const host = new FakeHost(2, fullStream());
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  assertUnrecovered(await positionSubscription(host, sub, recoverReq(1, EPOCH)), sub, {
    offset: 5,
    epoch: EPOCH,
  });
  assertEquals(host.calls[0].limit, 3, "asks for one more than the limit");
  // Exactly the limit is recoverable.
  const sub2 = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub2, recoverReq(3, EPOCH));
  assertEquals(f.recovered, true);
  assertEquals(f.publications!.map((p) => p.offset), [4, 5]);
});

test("positionSubscription: recoveryLimit 0 means no limit", async () => {
  const host = new FakeHost(0, { publications: pubs(1, 500), offset: 500, epoch: EPOCH });
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(host, sub, recoverReq(0, EPOCH));
  assertEquals(host.calls[0].limit, -1);
  assertEquals(f.recovered, true);
  assertEquals(f.publications!.length, 500);
});

test("positionSubscription: rejectUnrecovered turns an unrecovered state into ClientError 112", async () => {
  for (
    const [host, req] of [
      [new FakeHost(300, fullStream()), recoverReq(3, "OtherEpc", true)],
      [new FakeHost(300, { publications: pubs(4, 5), offset: 5, epoch: EPOCH }), recoverReq(1, EPOCH, true)],
      [new FakeHost(2, fullStream()), recoverReq(1, EPOCH, true)],
    ] as const
  ) {
    const sub = new Subscription("c", resolved(RECOVERABLE), false);
    await assertRejects(
      () => positionSubscription(host, sub, req),
      (err) => isClientError(err) && err.code === ErrorCode.UnrecoverablePosition && err.code === 112,
    );
  }
  // A recoverable state with the flag set still recovers.
  const sub = new Subscription("c", resolved(RECOVERABLE), false);
  const f = await positionSubscription(new FakeHost(300, fullStream()), sub, recoverReq(3, EPOCH, true));
  assertEquals(f.recovered, true);
});

test("encodeSubscribeResult: recovered publications in order; empty fields omitted", () => {
  const json = JSON.parse(encodeSubscribeResult({
    positioned: true,
    recoverable: true,
    epoch: EPOCH,
    offset: 3,
    recovered: true,
    was_recovering: true,
    publications: pubs(4, 5),
  }));
  assertEquals(json, {
    positioned: true,
    recoverable: true,
    epoch: EPOCH,
    offset: 3,
    recovered: true,
    was_recovering: true,
    publications: [{ data: { o: 4 }, offset: 4 }, { data: { o: 5 }, offset: 5 }],
  });
  assertEquals(encodeSubscribeResult({ publications: [], recovered: false, offset: 0, epoch: "" }), "{}");
  assertEquals(
    encodeSubscribeResult({ data: '{"x":1}', expires: true, ttl: 60 }),
    '{"expires":true,"ttl":60,"data":{"x":1}}',
  );
});

// -------------------------------------------------------------------------------------------------
// checkContinuity

function positionedSub(offset: number, epoch: string): Subscription {
  const sub = new Subscription("c", resolved(POSITIONED), false);
  sub.offset = offset;
  sub.epoch = epoch;
  return sub;
}
const pub = (offset: number): Publication => ({ data: "1", offset });
const at = (offset: number, epoch = EPOCH): StreamPosition => ({ offset, epoch });

test("checkContinuity: unpositioned subscriptions and publications without offset are sent", () => {
  const plain = new Subscription("c", resolved(), false);
  assertEquals(checkContinuity(plain, pub(10), at(10)), "send");
  assertEquals(checkContinuity(plain, pub(3), at(3, "Other")), "send");
  const sub = positionedSub(5, EPOCH);
  assertEquals(checkContinuity(sub, { data: "1" }, at(0, "")), "send");
  assertEquals(sub.offset, 5, "unchanged by a publication without offset");
});

test("checkContinuity: the next offset is sent and advances the subscription", () => {
  const sub = positionedSub(5, EPOCH);
  assertEquals(checkContinuity(sub, pub(6), at(6)), "send");
  assertEquals(sub.offset, 6);
  assertEquals(checkContinuity(sub, pub(7), at(7)), "send");
  assertEquals(sub.offset, 7);
});

test("checkContinuity: offsets already delivered are skipped", () => {
  const sub = positionedSub(5, EPOCH);
  assertEquals(checkContinuity(sub, pub(5), at(5)), "skip");
  assertEquals(checkContinuity(sub, pub(2), at(2)), "skip");
  assertEquals(sub.offset, 5);
});

test("checkContinuity: a jump ahead is a gap", () => {
  const sub = positionedSub(5, EPOCH);
  assertEquals(checkContinuity(sub, pub(7), at(7)), "gap");
  assertEquals(sub.offset, 5, "a gap does not advance the subscription");
});

test("checkContinuity: another epoch is a gap, even at the next offset", () => {
  const sub = positionedSub(5, EPOCH);
  assertEquals(checkContinuity(sub, pub(6), at(6, "NewEpoch")), "gap");
  assertEquals(checkContinuity(sub, pub(1), at(1, "NewEpoch")), "gap");
  assertEquals(sub.epoch, EPOCH);
});

test("checkContinuity: an empty subscription epoch adopts the first publication's epoch", () => {
  const sub = positionedSub(0, "");
  assertEquals(checkContinuity(sub, pub(1), at(1, "Adopted1")), "send");
  assertEquals(sub.epoch, "Adopted1");
  assertEquals(checkContinuity(sub, pub(2), at(2, "Different")), "gap");
});

/** Subscriptions with its changes opened up (ClientChannels makes them, with their cleanup). */
class Table extends Subscriptions {
  override set(sub: Subscription): void {
    super.set(sub);
  }
  override delete(channel: string): boolean {
    return super.delete(channel);
  }
}

test("Subscriptions: a Map by channel in order, small or indexed, its values a snapshot", () => {
  const table = new Table();
  const sub = (ch: string) => new Subscription(ch, resolved(), false);
  const names = (t: Table) => t.values().map((s) => s.channel);
  const a = sub("a"), b = sub("b");
  assertEquals([table.size, table.get("a"), table.has("a"), table.delete("a")], [0, undefined, false, false]);
  table.set(a);
  table.set(b);
  const before = table.values();
  const a2 = sub("a");
  table.set(a2); // in the place of a
  assertEquals(names(table), ["a", "b"]);
  assert(table.get("a") === a2 && table.has("b") && !table.has("c"));
  assertEquals(table.delete("b"), true);
  assertEquals(before.map((s) => s.channel), ["a", "b"], "an earlier snapshot is left as it was");
  assert(before[0] === a);
  // Past 8 entries the table indexes by channel; back under, it searches again.
  const many = Array.from({ length: 20 }, (_, i) => sub(`c${i}`));
  for (const s of many) table.set(s);
  assertEquals(table.size, 21);
  for (const s of many) assert(table.get(s.channel) === s, s.channel);
  for (let i = 0; i < 15; i++) assertEquals(table.delete(`c${i}`), true);
  assertEquals(names(table), ["a", "c15", "c16", "c17", "c18", "c19"]);
  assert(table.get("c17") === many[17] && table.get("c3") === undefined && table.get("a") === a2);
  for (const ch of names(table)) table.delete(ch);
  assertEquals([table.size, table.values().length], [0, 0]);
});
