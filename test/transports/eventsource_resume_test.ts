/**
 * Lossless resume for a plain EventSource on uni_sse (a Sluice extension): every position-moving
 * event carries an `id:`; a reconnect with `Last-Event-ID` recovers every channel from history
 * before live data, or says `reload` when history no longer covers the gap.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, sleep, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { openRaw } from "../helpers/raw.ts";
import { manualClockBroker } from "../helpers/clock.ts";
import { userToken } from "../helpers/tokens.ts";
import { EventSource } from "eventsource";
import type { Client } from "../../src/core/client.ts";

const config = {
  uni_sse: true,
  uni_sse_retry: "20ms",
  namespaces: [
    { name: "feed", history_size: 10_000, history_ttl: "300s" },
    { name: "short", history_size: 100, history_ttl: "1s" },
  ],
};

const uniUrl = (base: string, connect: unknown) =>
  `${base}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify(connect))}`;

test("EventSource: repeated forced reconnects while publishing lose and duplicate nothing", async (t) => {
  const s = await startServer(t, config);
  const tok = await userToken("reader", 3600, { channels: ["feed:a", "feed:b", "news"] });
  const es = new EventSource(uniUrl(s.url, { token: tok }));
  t.cleanup(() => es.close());
  const got: Record<string, number[]> = { "feed:a": [], "feed:b": [] };
  let opens = 0;
  es.onopen = () => opens++;
  es.onmessage = (e) => {
    const msg = JSON.parse(e.data) as { channel?: string; pub?: { data: { n: number } } };
    if (msg.pub && msg.channel && got[msg.channel]) got[msg.channel].push(msg.pub.data.n);
  };
  await waitFor(() => s.node.hub.numClients === 1, "first connection");
  const sent: Record<string, number> = { "feed:a": 0, "feed:b": 0 };
  let publishing = true;
  t.cleanup(() => (publishing = false));
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      const ch = i % 3 === 0 ? "feed:b" : "feed:a";
      await s.apiJson("publish", { channel: ch, data: { n: ++sent[ch] } });
      await s.apiJson("publish", { channel: "news", data: { noise: i } }); // no history: not resumable
      await sleep(3); // paces the publisher (a steady stream), waits for nothing
    }
  })();
  // Each cut lands after live publications on the connection before it, and the last one is
  // followed by live publications too: every reconnect is crossed by traffic.
  const received = () => got["feed:a"].length + got["feed:b"].length;
  const moreLive = async () => {
    const seen = received();
    await waitFor(() => received() >= seen + 10, "live publications", 8000);
  };
  const cuts = 12;
  for (let i = 0; i < cuts; i++) {
    await waitFor(() => s.node.hub.numClients === 1, "reconnected", 8000);
    await moreLive();
    const client = s.node.hub.userConnections("reader")[0] as Client;
    // Alternate a clean server disconnect (push + end of stream) with a cut connection (the
    // slow-consumer path drops the queue and errors the response without a disconnect push).
    if (i % 2 === 0) client.disconnectNow(3011, "force reconnect");
    else client.disconnectNow(3008, "slow");
  }
  await moreLive();
  publishing = false;
  await publisher;
  // The fence: one more publication per channel, after which a duplicate or a late one could not hide.
  for (const ch of ["feed:a", "feed:b"]) await s.apiJson("publish", { channel: ch, data: { n: ++sent[ch] } });
  await waitFor(
    () => got["feed:a"].includes(sent["feed:a"]) && got["feed:b"].includes(sent["feed:b"]),
    `all publications (sent ${JSON.stringify(sent)})`,
    10_000,
  );
  for (const ch of ["feed:a", "feed:b"]) {
    assertEquals(
      got[ch],
      Array.from({ length: sent[ch] }, (_, i) => i + 1),
      `${ch}: in order, no gaps, no duplicates`,
    );
  }
  assert(opens >= cuts + 1, `EventSource reconnected (${opens} opens)`);
  assert(sent["feed:a"] > 50, "enough traffic to cross the reconnects");
}, { timeout: 40_000 });

test("Last-Event-ID beyond the history window: a reload event instead of partial data", async (t) => {
  const { clock, plugin } = manualClockBroker();
  const s = await startServer(t, config, [plugin]);
  const tok = await userToken("late", 3600, { channels: ["short:x", "feed:y"] });
  const first = await openRaw(uniUrl(s.url, { token: tok }), {}, "sse");
  await first.next();
  await s.apiJson("publish", { channel: "short:x", data: 1 });
  await first.next();
  const lastId = [...first.text().matchAll(/^id: (.+)$/gm)].pop()![1];
  first.close();
  await s.apiJson("publish", { channel: "short:x", data: 2 });
  await s.apiJson("publish", { channel: "feed:y", data: "kept" });
  clock.advance(1300); // short:x (1 s TTL) forgets publication 2; feed:y (300 s) keeps its publication
  const again = await openRaw(uniUrl(s.url, { token: tok }), { headers: { "Last-Event-ID": lastId } }, "sse");
  t.cleanup(() => again.close());
  const connect = await again.next() as { connect: { subs: Record<string, Record<string, unknown>> } };
  assertMatch(connect.connect.subs["feed:y"], { recovered: true, was_recovering: true });
  assertEquals(
    connect.connect.subs["feed:y"].offset,
    undefined,
    "offset 0 (where the client stood) is omitted",
  );
  assertMatch(connect.connect.subs["short:x"], { was_recovering: true });
  assertEquals(connect.connect.subs["short:x"].recovered, undefined);
  // offset 1 is a stream's first publication: it carries the epoch (as Centrifugo's memory engine)
  const epoch = connect.connect.subs["feed:y"].epoch;
  assertEquals(await again.next(), { channel: "feed:y", pub: { data: "kept", offset: 1, epoch } });
  await waitFor(() => again.text().includes("event: reload"), "reload event");
  assert(
    again.text().includes('event: reload\ndata: {"channel":"short:x","reason":"unrecoverable position"}\n\n'),
    again.text(),
  );
});

test("last_event_id query parameter resumes like the header; a damaged id asks for reload", async (t) => {
  const s = await startServer(t, config);
  const tok = await userToken("q", 3600, { channels: ["feed:q"] });
  const first = await openRaw(uniUrl(s.url, { token: tok }), {}, "sse");
  await first.next();
  const lastId = /^id: (.+)$/m.exec(first.text())![1];
  first.close();
  for (let i = 1; i <= 3; i++) await s.apiJson("publish", { channel: "feed:q", data: i });
  const resumed = await openRaw(
    `${uniUrl(s.url, { token: tok })}&last_event_id=${encodeURIComponent(lastId)}`,
    {},
    "sse",
  );
  t.cleanup(() => resumed.close());
  await resumed.next();
  const pubs = [await resumed.next(), await resumed.next(), await resumed.next()];
  assertEquals(pubs.map((p) => (p as { pub: { data: number } }).pub.data), [1, 2, 3]);
  // every recovered event moved the id forward
  const ids = [...resumed.text().matchAll(/^id: 1\.[0-9a-z]+\.([0-9a-z]+)\./gm)].map((m) =>
    parseInt(m[1], 36)
  );
  assertEquals(ids, [0, 1, 2, 3]);

  const damaged = await openRaw(
    uniUrl(s.url, { token: tok }),
    { headers: { "Last-Event-ID": "garbage!" } },
    "sse",
  );
  t.cleanup(() => damaged.close());
  await damaged.next();
  await waitFor(() => damaged.text().includes("event: reload"), "reload for a damaged id");
  assert(damaged.text().includes('"reason":"invalid last event id"'));
});

test("a channel that is not in Last-Event-ID starts fresh, without a reload", async (t) => {
  const s = await startServer(t, config);
  const first = await openRaw(
    uniUrl(s.url, { token: await userToken("n", 3600, { channels: ["feed:old"] }) }),
    {},
    "sse",
  );
  await first.next();
  const lastId = /^id: (.+)$/m.exec(first.text())![1];
  first.close();
  await s.apiJson("publish", { channel: "feed:new", data: "before" });
  const tok2 = await userToken("n", 3600, { channels: ["feed:old", "feed:new"] });
  const again = await openRaw(
    uniUrl(s.url, { token: tok2 }),
    { headers: { "Last-Event-ID": lastId } },
    "sse",
  );
  t.cleanup(() => again.close());
  const connect = await again.next() as { connect: { subs: Record<string, Record<string, unknown>> } };
  assertMatch(connect.connect.subs["feed:new"], { positioned: true, offset: 1 });
  assertEquals(connect.connect.subs["feed:new"].was_recovering, undefined);
  await s.apiJson("publish", { channel: "feed:new", data: "after" });
  assertEquals(await again.next(), { channel: "feed:new", pub: { data: "after", offset: 2 } });
  assert(!again.text().includes("event: reload"));
});
