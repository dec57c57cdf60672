/**
 * @module
 * The Broker / PresenceManager / Controller contract, written once and run against every backend
 * (memory now, Redis later). A backend's test file calls `brokerContract(name, factory)`.
 *
 * The factory returns fresh, *not yet started* instances; each test starts what it uses and the
 * factory's `cleanup` closes them (and drops any server-side state it wants to). Channel names are
 * random per test, so a shared backend (one Redis for both runtimes) never sees two tests collide.
 *
 * Delivery may be asynchronous (Redis PUB/SUB), so positive checks wait for the event, and
 * negative checks ("not delivered") first wait for a later marker event on a subscribed channel:
 * every backend delivers one node's messages in publication order (Redis over one subscriber
 * connection), so the marker is a fence. TTLs are whole seconds (what Centrifugo's config allows
 * and what Redis' EXPIRE takes); a backend says how time passes for them (`passTime`: the memory
 * broker's clock moves, Redis' own clock has to be waited for), with at least 500 ms of margin.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertNotEquals, waitFor } from "../assert.ts";
import type {
  Broker,
  BrokerEventHandler,
  ControlHandler,
  Controller,
  ControlMessage,
  PresenceManager,
  PublishOptions,
} from "../../src/broker/broker.ts";
import type { ClientInfo, Publication, StreamPosition } from "../../src/wire/protocol.ts";

export interface BrokerUnderTest {
  broker: Broker;
  presence: PresenceManager;
  controller: Controller;
  /** How many per-channel history records (streams, metas) the backend holds right now. */
  historyRecords(): Promise<number>;
  /** Lets `ms` pass for the backend's TTLs (a clock advance, or a real wait where it keeps its own). */
  passTime(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

export type BrokerFactory = () => Promise<BrokerUnderTest>;

/** History kept long enough that nothing expires during a test. */
const HISTORY: PublishOptions = { historySize: 100, historyTtl: 300_000, historyMetaTtl: 3_600_000 };
const NO_HISTORY: PublishOptions = { historySize: 0, historyTtl: 0, historyMetaTtl: 3_600_000 };
const META_TTL = 3_600_000;
/** Short TTL used by expiry tests, and how much time to pass for it to be over (TTL + margin). */
const SHORT_TTL = 1000;
const PAST_SHORT_TTL = 1700;

interface Delivered {
  channel: string;
  pub: Publication;
  sp: StreamPosition;
}

class Recorder implements BrokerEventHandler {
  readonly pubs: Delivered[] = [];
  readonly joins: Array<{ channel: string; info: ClientInfo }> = [];
  readonly leaves: Array<{ channel: string; info: ClientInfo }> = [];

  handlePublication(channel: string, pub: Publication, sp: StreamPosition): void {
    this.pubs.push({ channel, pub: { ...pub }, sp: { offset: sp.offset, epoch: sp.epoch } });
  }
  handleJoin(channel: string, info: ClientInfo): void {
    this.joins.push({ channel, info: { ...info } });
  }
  handleLeave(channel: string, info: ClientInfo): void {
    this.leaves.push({ channel, info: { ...info } });
  }

  pubsOn(channel: string): Delivered[] {
    return this.pubs.filter((p) => p.channel === channel);
  }
}

class ControlRecorder implements ControlHandler {
  readonly messages: ControlMessage[] = [];
  handleControl(msg: ControlMessage): void {
    this.messages.push(msg);
  }
}

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

export function brokerContract(name: string, factory: BrokerFactory): void {
  interface Env extends BrokerUnderTest {
    rec: Recorder;
    /** A channel name unique to this test. */
    ch(suffix: string): string;
    /** Resolves once everything the broker delivered before this call has reached the handler. */
    settle(): Promise<void>;
  }

  /** Fresh backend with the broker started; cleanup registered on the test. */
  async function setup(t: TestContext): Promise<Env> {
    const under = await factory();
    t.cleanup(() => under.cleanup());
    const rec = new Recorder();
    await under.broker.start(rec);
    const run = randomId();
    const ch = (suffix: string) => `contract_${run}_${suffix}`;
    const marker = ch("marker");
    await under.broker.subscribe(marker);
    let markers = 0;
    const settle = async () => {
      const n = ++markers;
      await under.broker.publish(marker, JSON.stringify({ marker: n }), NO_HISTORY);
      await waitFor(
        () => rec.pubs.some((p) => p.channel === marker && p.pub.data === JSON.stringify({ marker: n })),
        "marker publication",
      );
    };
    return { ...under, rec, ch, settle };
  }

  const it = (title: string, fn: (t: TestContext) => Promise<void>) => test(`${name}: ${title}`, fn);

  // ---------------------------------------------------------------------------------------------
  // Publish and stream positions

  it("publish to a channel with history returns offsets 1, 2, 3 and a stable epoch", async (t) => {
    const { broker, ch } = await setup(t);
    const c = ch("offsets");
    const r1 = await broker.publish(c, '{"n":1}', HISTORY);
    const r2 = await broker.publish(c, '{"n":2}', HISTORY);
    const r3 = await broker.publish(c, '{"n":3}', HISTORY);
    assertEquals([r1.offset, r2.offset, r3.offset], [1, 2, 3]);
    assert(
      typeof r1.epoch === "string" && r1.epoch.length > 0,
      `epoch is a non-empty string, got ${r1.epoch}`,
    );
    assertNotEquals(r1.epoch, "_", "epoch must never be the SDK's '_' sentinel");
    assertEquals(r2.epoch, r1.epoch);
    assertEquals(r3.epoch, r1.epoch);
    assert(!r1.suppressed && !r2.suppressed && !r3.suppressed, "nothing suppressed without idempotency keys");
    const h = await broker.history(c, { limit: 0, metaTtl: META_TTL });
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 3, epoch: r1.epoch });
  });

  it("offsets are counted per channel", async (t) => {
    const { broker, ch } = await setup(t);
    const a = ch("a");
    const b = ch("b");
    await broker.publish(a, "1", HISTORY);
    await broker.publish(a, "2", HISTORY);
    const rb = await broker.publish(b, "1", HISTORY);
    const ra = await broker.publish(a, "3", HISTORY);
    assertEquals(rb.offset, 1);
    assertEquals(ra.offset, 3);
  });

  it("publish without history returns offset 0 and stores nothing", async (t) => {
    const { broker, rec, ch } = await setup(t);
    const c = ch("nohist");
    await broker.subscribe(c);
    const r = await broker.publish(c, '{"x":1}', NO_HISTORY);
    assertEquals(r.offset, 0);
    await waitFor(() => rec.pubsOn(c).length === 1, "live publication without history");
    const got = rec.pubsOn(c)[0];
    assertEquals(got.pub.data, '{"x":1}');
    assert(!got.pub.offset, `no offset on a publication without history, got ${got.pub.offset}`);
    assertEquals(got.sp.offset, 0);
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications, []);
    assertEquals(h.offset, 0);
  });

  // ---------------------------------------------------------------------------------------------
  // PUB/SUB delivery

  it("handler receives publications of subscribed channels only, in order, with the publish position", async (t) => {
    const { broker, rec, ch, settle } = await setup(t);
    const sub = ch("sub");
    const other = ch("other");
    await broker.subscribe(sub);
    const results: StreamPosition[] = [];
    for (let i = 1; i <= 5; i++) {
      results.push(await broker.publish(sub, JSON.stringify({ i }), HISTORY));
      await broker.publish(other, JSON.stringify({ other: i }), HISTORY);
    }
    await waitFor(() => rec.pubsOn(sub).length === 5, "five publications");
    await settle();
    assertEquals(rec.pubsOn(other), [], "no publications from a channel never subscribed");
    const got = rec.pubsOn(sub);
    assertEquals(got.map((d) => d.pub.data), [1, 2, 3, 4, 5].map((i) => JSON.stringify({ i })));
    assertEquals(got.map((d) => d.sp), results.map((r) => ({ offset: r.offset, epoch: r.epoch })));
    assertEquals(got.map((d) => d.pub.offset), [1, 2, 3, 4, 5], "publication carries its offset");
  });

  it("unsubscribe stops delivery; subscribing again resumes it", async (t) => {
    const { broker, rec, ch, settle } = await setup(t);
    const c = ch("unsub");
    await broker.subscribe(c);
    await broker.publish(c, '"before"', HISTORY);
    await waitFor(() => rec.pubsOn(c).length === 1, "publication before unsubscribe");
    await broker.unsubscribe(c);
    await broker.publish(c, '"while-unsubscribed"', HISTORY);
    await settle();
    assertEquals(rec.pubsOn(c).map((d) => d.pub.data), ['"before"']);
    await broker.subscribe(c);
    const r = await broker.publish(c, '"after"', HISTORY);
    assertEquals(r.offset, 3, "history kept counting while unsubscribed");
    await waitFor(() => rec.pubsOn(c).length === 2, "publication after resubscribe");
    assertEquals(rec.pubsOn(c)[1].pub.data, '"after"');
  });

  it("tags and client info travel with live and stored publications", async (t) => {
    const { broker, rec, ch } = await setup(t);
    const c = ch("meta");
    await broker.subscribe(c);
    const info: ClientInfo = {
      user: "42",
      client: "client-1",
      connInfo: '{"name":"Alice"}',
      chanInfo: '{"role":"admin"}',
    };
    const tags = { kind: "chat", lang: "en" };
    await broker.publish(c, '{"text":"hi"}', { ...HISTORY, clientInfo: info, tags });
    await broker.publish(c, '{"text":"bare"}', HISTORY);
    await waitFor(() => rec.pubsOn(c).length === 2, "two publications");
    const [live, bare] = rec.pubsOn(c);
    assertEquals(live.pub.info, info);
    assertEquals(live.pub.tags, tags);
    assert(!bare.pub.info, "no info when none was given");
    assert(!bare.pub.tags || Object.keys(bare.pub.tags).length === 0, "no tags when none were given");
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications.length, 2);
    assertEquals(h.publications[0].data, '{"text":"hi"}');
    assertEquals(h.publications[0].info, info);
    assertEquals(h.publications[0].tags, tags);
    assert(!h.publications[1].info, "no info stored when none was given");
  });

  it("client info without conn_info/chan_info round-trips", async (t) => {
    const { broker, rec, ch } = await setup(t);
    const c = ch("info-min");
    await broker.subscribe(c);
    const info: ClientInfo = { user: "", client: "anon-1" };
    await broker.publish(c, "1", { ...HISTORY, clientInfo: info });
    await waitFor(() => rec.pubsOn(c).length === 1, "publication");
    assertEquals(rec.pubsOn(c)[0].pub.info, info);
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications[0].info, info);
  });

  // ---------------------------------------------------------------------------------------------
  // History reads

  async function fiveInHistory(env: Env, suffix: string): Promise<{ c: string; epoch: string }> {
    const c = env.ch(suffix);
    let epoch = "";
    for (let i = 1; i <= 5; i++) epoch = (await env.broker.publish(c, JSON.stringify({ i }), HISTORY)).epoch;
    return { c, epoch };
  }
  const offsets = (pubs: Publication[]) => pubs.map((p) => p.offset);

  it("history with limit 0 returns only the stream position", async (t) => {
    const env = await setup(t);
    const { c, epoch } = await fiveInHistory(env, "limit0");
    const h = await env.broker.history(c, { limit: 0, metaTtl: META_TTL });
    assertEquals(h.publications, []);
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 5, epoch });
  });

  it("history with limit N returns the oldest N in order", async (t) => {
    const env = await setup(t);
    const { c, epoch } = await fiveInHistory(env, "limitN");
    const h = await env.broker.history(c, { limit: 2, metaTtl: META_TTL });
    assertEquals(offsets(h.publications), [1, 2]);
    assertEquals(h.publications.map((p) => p.data), ['{"i":1}', '{"i":2}']);
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 5, epoch }, "position is the stream top");
    const more = await env.broker.history(c, { limit: 10, metaTtl: META_TTL });
    assertEquals(offsets(more.publications), [1, 2, 3, 4, 5], "limit above the size returns all");
  });

  it("history with limit -1 returns everything", async (t) => {
    const env = await setup(t);
    const { c, epoch } = await fiveInHistory(env, "limitAll");
    const h = await env.broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(h.publications), [1, 2, 3, 4, 5]);
    assertEquals(h.publications.map((p) => p.data), [1, 2, 3, 4, 5].map((i) => JSON.stringify({ i })));
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 5, epoch });
  });

  it("history since an offset returns the publications after it", async (t) => {
    const env = await setup(t);
    const { c, epoch } = await fiveInHistory(env, "since");
    const all = await env.broker.history(c, { since: { offset: 2, epoch }, limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(all.publications), [3, 4, 5]);
    assertEquals({ offset: all.offset, epoch: all.epoch }, { offset: 5, epoch });
    const two = await env.broker.history(c, { since: { offset: 2, epoch }, limit: 2, metaTtl: META_TTL });
    assertEquals(offsets(two.publications), [3, 4]);
    const fromZero = await env.broker.history(c, {
      since: { offset: 0, epoch },
      limit: -1,
      metaTtl: META_TTL,
    });
    assertEquals(offsets(fromZero.publications), [1, 2, 3, 4, 5]);
    const atTop = await env.broker.history(c, { since: { offset: 5, epoch }, limit: -1, metaTtl: META_TTL });
    assertEquals(atTop.publications, [], "nothing after the top");
    assertEquals(atTop.offset, 5);
    const posOnly = await env.broker.history(c, { since: { offset: 2, epoch }, limit: 0, metaTtl: META_TTL });
    assertEquals(posOnly.publications, [], "limit 0 wins over since");
  });

  it("history in reverse returns newest first", async (t) => {
    const env = await setup(t);
    const { c, epoch } = await fiveInHistory(env, "reverse");
    const all = await env.broker.history(c, { reverse: true, limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(all.publications), [5, 4, 3, 2, 1]);
    assertEquals({ offset: all.offset, epoch: all.epoch }, { offset: 5, epoch });
    const two = await env.broker.history(c, { reverse: true, limit: 2, metaTtl: META_TTL });
    assertEquals(offsets(two.publications), [5, 4]);
    const before = await env.broker.history(c, {
      reverse: true,
      since: { offset: 4, epoch },
      limit: -1,
      metaTtl: META_TTL,
    });
    assertEquals(offsets(before.publications), [3, 2, 1], "reverse since: publications before the offset");
    const beforeTwo = await env.broker.history(c, {
      reverse: true,
      since: { offset: 4, epoch },
      limit: 2,
      metaTtl: META_TTL,
    });
    assertEquals(offsets(beforeTwo.publications), [3, 2]);
  });

  it("history of a channel never published to is empty at offset 0", async (t) => {
    const { broker, ch } = await setup(t);
    const h = await broker.history(ch("empty"), { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications, []);
    assertEquals(h.offset, 0);
    assert(typeof h.epoch === "string", "epoch is a string");
  });

  it("reads of channels never published to keep no record; the first publication keeps the epoch they saw", async (t) => {
    const { broker, ch, historyRecords } = await setup(t);
    const before = await historyRecords();
    const seen = new Map<string, string>();
    for (let i = 0; i < 50; i++) {
      const c = ch(`fresh-${i}`);
      const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
      const again = await broker.history(c, {
        since: { offset: 0, epoch: h.epoch },
        limit: 10,
        metaTtl: META_TTL,
      });
      assertEquals(again.epoch, h.epoch, "the same epoch on every read");
      assertEquals({ offset: h.offset, n: h.publications.length }, { offset: 0, n: 0 });
      seen.set(c, h.epoch);
    }
    assertEquals(await historyRecords(), before, "50 channels read, nothing kept");
    // A subscriber that read the position before the first publication recovers afterwards.
    const c = ch("fresh-7");
    const r = await broker.publish(c, '"first"', HISTORY);
    assertEquals({ offset: r.offset, epoch: r.epoch }, { offset: 1, epoch: seen.get(c) });
    assert(await historyRecords() > before, "a publication with history keeps a record");
    const other = await broker.history(ch("fresh-8"), { limit: 0, metaTtl: META_TTL });
    assertNotEquals(other.epoch, r.epoch, "epochs differ between channels");
  });

  it("history_size keeps the newest publications; offsets keep increasing", async (t) => {
    const { broker, ch } = await setup(t);
    const c = ch("trim");
    const opts: PublishOptions = { ...HISTORY, historySize: 3 };
    let last: StreamPosition = { offset: 0, epoch: "" };
    for (let i = 1; i <= 5; i++) last = await broker.publish(c, JSON.stringify({ i }), opts);
    assertEquals(last.offset, 5);
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(h.publications), [3, 4, 5]);
    assertEquals(h.publications.map((p) => p.data), ['{"i":3}', '{"i":4}', '{"i":5}']);
    assertEquals({ offset: h.offset, epoch: h.epoch }, last);
    const next = await broker.publish(c, '{"i":6}', opts);
    assertEquals(next.offset, 6);
    assertEquals(next.epoch, last.epoch);
    const h2 = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(h2.publications), [4, 5, 6]);
    // A client that was at offset 2 can no longer get offset 3 from history.
    const since = await broker.history(c, {
      since: { offset: 2, epoch: last.epoch },
      limit: -1,
      metaTtl: META_TTL,
    });
    assertEquals(offsets(since.publications), [4, 5, 6]);
  });

  it("history TTL drops publications but keeps offset and epoch", async (t) => {
    const { broker, ch, passTime } = await setup(t);
    const c = ch("ttl");
    const opts: PublishOptions = { historySize: 10, historyTtl: SHORT_TTL, historyMetaTtl: META_TTL };
    await broker.publish(c, "1", opts);
    const r2 = await broker.publish(c, "2", opts);
    const fresh = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(fresh.publications), [1, 2], "still there right after publishing");
    await passTime(PAST_SHORT_TTL);
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications, [], "expired publications are gone");
    assertEquals(
      { offset: h.offset, epoch: h.epoch },
      { offset: 2, epoch: r2.epoch },
      "position outlives the data",
    );
    const r3 = await broker.publish(c, "3", opts);
    assertEquals({ offset: r3.offset, epoch: r3.epoch }, { offset: 3, epoch: r2.epoch });
    const h3 = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(h3.publications), [3]);
  });

  it("removeHistory drops publications and keeps offset and epoch", async (t) => {
    const { broker, ch } = await setup(t);
    const c = ch("remove");
    await broker.publish(c, "1", HISTORY);
    const r2 = await broker.publish(c, "2", HISTORY);
    await broker.removeHistory(c);
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications, []);
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 2, epoch: r2.epoch });
    const r3 = await broker.publish(c, "3", HISTORY);
    assertEquals({ offset: r3.offset, epoch: r3.epoch }, { offset: 3, epoch: r2.epoch });
    const h3 = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(offsets(h3.publications), [3]);
    // Removing the history of an unknown channel is fine.
    await broker.removeHistory(ch("never-used"));
  });

  // ---------------------------------------------------------------------------------------------
  // Epoch and stream meta

  it("epoch changes when the stream meta expires (historyMetaTtl)", async (t) => {
    const { broker, ch, passTime } = await setup(t);
    const c = ch("meta-expire");
    const opts: PublishOptions = { historySize: 10, historyTtl: SHORT_TTL, historyMetaTtl: SHORT_TTL };
    await broker.publish(c, "1", opts);
    const r2 = await broker.publish(c, "2", opts);
    assertEquals(r2.offset, 2);
    await passTime(PAST_SHORT_TTL);
    const r = await broker.publish(c, '"again"', opts);
    assertEquals(r.offset, 1, "a recreated stream starts over at offset 1");
    assertNotEquals(r.epoch, r2.epoch, "a recreated stream gets a new epoch");
    assertNotEquals(r.epoch, "_");
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals({ offset: h.offset, epoch: h.epoch }, { offset: 1, epoch: r.epoch });
    assertEquals(h.publications.map((p) => p.data), ['"again"'], "old publications are gone with the stream");
  });

  it("reading history extends the stream meta by metaTtl", async (t) => {
    const { broker, ch, passTime } = await setup(t);
    const c = ch("meta-extend");
    const opts: PublishOptions = { historySize: 10, historyTtl: SHORT_TTL, historyMetaTtl: SHORT_TTL };
    const r1 = await broker.publish(c, "1", opts);
    // Well before the meta would expire, read with a long metaTtl.
    const h = await broker.history(c, { limit: 0, metaTtl: META_TTL });
    assertEquals(h.epoch, r1.epoch);
    await passTime(PAST_SHORT_TTL);
    const r2 = await broker.publish(c, "2", opts);
    assertEquals({ offset: r2.offset, epoch: r2.epoch }, { offset: 2, epoch: r1.epoch }, "stream survived");
  });

  // ---------------------------------------------------------------------------------------------
  // Idempotency

  it("an idempotency key returns the first result and publishes once", async (t) => {
    const { broker, rec, ch, settle } = await setup(t);
    const c = ch("idem");
    await broker.subscribe(c);
    const opts: PublishOptions = { ...HISTORY, idempotencyKey: "key-1", idempotentResultTtl: 60_000 };
    const first = await broker.publish(c, '"one"', opts);
    const again = await broker.publish(c, '"one-again"', opts);
    assertEquals({ offset: again.offset, epoch: again.epoch }, { offset: first.offset, epoch: first.epoch });
    assert(!first.suppressed, "first publish is not suppressed");
    assertEquals(again.suppressed, true, "duplicate is reported as suppressed");
    await waitFor(() => rec.pubsOn(c).length >= 1, "first publication");
    await settle();
    assertEquals(rec.pubsOn(c).map((d) => d.pub.data), ['"one"'], "handler called once");
    const h = await broker.history(c, { limit: -1, metaTtl: META_TTL });
    assertEquals(h.publications.map((p) => p.data), ['"one"'], "stored once");
    assertEquals(h.offset, 1);
    // Another key publishes normally.
    const other = await broker.publish(c, '"two"', { ...opts, idempotencyKey: "key-2" });
    assertEquals(other.offset, 2);
    assert(!other.suppressed, "another key is not suppressed");
    // The same key on another channel is a different publication.
    const elsewhere = await broker.publish(ch("idem-other"), '"x"', opts);
    assertEquals(elsewhere.offset, 1);
    assert(!elsewhere.suppressed, "keys are per channel");
  });

  it("an idempotency key works without history too", async (t) => {
    const { broker, rec, ch, settle } = await setup(t);
    const c = ch("idem-nohist");
    await broker.subscribe(c);
    const opts: PublishOptions = { ...NO_HISTORY, idempotencyKey: "k", idempotentResultTtl: 60_000 };
    await broker.publish(c, "1", opts);
    const again = await broker.publish(c, "2", opts);
    assertEquals(again.suppressed, true);
    await settle();
    assertEquals(rec.pubsOn(c).map((d) => d.pub.data), ["1"]);
  });

  it("an idempotency key expires after idempotentResultTtl", async (t) => {
    const { broker, ch, passTime } = await setup(t);
    const c = ch("idem-ttl");
    const opts: PublishOptions = { ...HISTORY, idempotencyKey: "key", idempotentResultTtl: SHORT_TTL };
    const first = await broker.publish(c, "1", opts);
    assertEquals((await broker.publish(c, "1", opts)).suppressed, true);
    await passTime(PAST_SHORT_TTL);
    const later = await broker.publish(c, "1", opts);
    assert(!later.suppressed, "published again once the key expired");
    assertEquals(later.offset, first.offset + 1);
  });

  // ---------------------------------------------------------------------------------------------
  // Join / leave

  it("join and leave are delivered for subscribed channels only", async (t) => {
    const { broker, rec, ch, settle } = await setup(t);
    const c = ch("jl");
    const other = ch("jl-other");
    await broker.subscribe(c);
    const alice: ClientInfo = { user: "alice", client: "c-a", connInfo: '{"n":1}', chanInfo: '{"c":2}' };
    const bob: ClientInfo = { user: "bob", client: "c-b" };
    await broker.publishJoin(c, alice);
    await broker.publishJoin(other, bob);
    await broker.publishLeave(other, bob);
    await broker.publishLeave(c, alice);
    await waitFor(() => rec.joins.length >= 1 && rec.leaves.length >= 1, "join and leave");
    await settle();
    assertEquals(rec.joins, [{ channel: c, info: alice }]);
    assertEquals(rec.leaves, [{ channel: c, info: alice }]);
    await broker.unsubscribe(c);
    await broker.publishJoin(c, bob);
    await settle();
    assertEquals(rec.joins.length, 1, "no join after unsubscribe");
    assertEquals(rec.pubs.filter((p) => p.channel === c), [], "join/leave are not publications");
  });

  // ---------------------------------------------------------------------------------------------
  // Presence

  it("presence: add, get, stats counting unique users, remove", async (t) => {
    const { presence, ch } = await setup(t);
    const c = ch("presence");
    assertEquals(await presence.presence(c), {});
    assertEquals(await presence.presenceStats(c), { numClients: 0, numUsers: 0 });
    const a1: ClientInfo = { user: "alice", client: "a1", connInfo: '{"device":"phone"}' };
    const a2: ClientInfo = { user: "alice", client: "a2", chanInfo: '{"seat":3}' };
    const b1: ClientInfo = { user: "bob", client: "b1" };
    await presence.addPresence(c, "a1", a1);
    await presence.addPresence(c, "a2", a2);
    await presence.addPresence(c, "b1", b1);
    assertEquals(await presence.presence(c), { a1, a2, b1 });
    assertEquals(await presence.presenceStats(c), { numClients: 3, numUsers: 2 });
    await presence.removePresence(c, "a1", "alice");
    assertEquals(await presence.presence(c), { a2, b1 });
    assertEquals(await presence.presenceStats(c), { numClients: 2, numUsers: 2 });
    await presence.removePresence(c, "a2", "alice");
    assertEquals(await presence.presenceStats(c), { numClients: 1, numUsers: 1 });
    await presence.removePresence(c, "b1", "bob");
    assertEquals(await presence.presence(c), {});
    assertEquals(await presence.presenceStats(c), { numClients: 0, numUsers: 0 });
    // Removing an entry that is not there is fine.
    await presence.removePresence(c, "nobody", "nobody");
  });

  it("presence: refreshing an entry does not duplicate it; channels are independent", async (t) => {
    const { presence, ch } = await setup(t);
    const c1 = ch("p1");
    const c2 = ch("p2");
    const anon1: ClientInfo = { user: "", client: "x1" };
    const anon2: ClientInfo = { user: "", client: "x2" };
    await presence.addPresence(c1, "x1", anon1);
    await presence.addPresence(c1, "x1", { ...anon1, chanInfo: '{"v":2}' });
    await presence.addPresence(c1, "x2", anon2);
    await presence.addPresence(c2, "x1", anon1);
    assertEquals(
      await presence.presence(c1),
      { x1: { ...anon1, chanInfo: '{"v":2}' }, x2: anon2 },
      "latest info wins",
    );
    assertEquals(
      await presence.presenceStats(c1),
      { numClients: 2, numUsers: 1 },
      "anonymous users count as one",
    );
    assertEquals(await presence.presence(c2), { x1: anon1 });
    await presence.removePresence(c1, "x1", "");
    assertEquals(await presence.presence(c2), { x1: anon1 }, "removal in one channel leaves the other alone");
  });

  // ---------------------------------------------------------------------------------------------
  // Controller

  it("controller: to all and to its own node id reaches the handler, to another node id does not", async (t) => {
    const { controller } = await setup(t);
    const nodeId = `node-${randomId()}`;
    const rec = new ControlRecorder();
    await controller.start(nodeId, rec);
    await controller.publishControl({ type: "broadcast", from: nodeId, n: 1, nested: { a: [1, 2] } });
    await waitFor(() => rec.messages.length === 1, "broadcast control message");
    assertMatch(rec.messages[0], { type: "broadcast", from: nodeId, n: 1, nested: { a: [1, 2] } });
    await controller.publishControl({ type: "unicast", from: nodeId, n: 2 }, nodeId);
    await waitFor(() => rec.messages.length === 2, "control message to own node");
    assertMatch(rec.messages[1], { type: "unicast", n: 2 });
    await controller.publishControl({ type: "elsewhere", from: nodeId, n: 3 }, `not-${nodeId}`);
    // A later broadcast proves the one before it was not delivered.
    await controller.publishControl({ type: "marker", from: nodeId, n: 4 });
    await waitFor(() => rec.messages.some((m) => m.type === "marker"), "marker control message");
    assertEquals(rec.messages.map((m) => m.type), ["broadcast", "unicast", "marker"]);
  });
}
