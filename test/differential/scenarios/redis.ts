/**
 * On Redis (the `redis` profile: Centrifugo's Redis engine, Sluice's Redis broker, each on a
 * redis-server of its own): publications, history, recovery and presence go through Redis, and
 * `/health` tells whether the broker is reachable.
 */
import { perTransport, scenario } from "../scenario.ts";
import { redisUnder } from "../proxy_backend.ts";
import { BIDI, UNI } from "../transports.ts";

const onRedis = { profile: "redis" };

perTransport([...BIDI, ...UNI], "redis: publications, history and presence through Redis", async (s, t) => {
  const ch = s.ch("open:room");
  const c = UNI.includes(t)
    ? await s.connect(t, { token: await s.userToken("alice", { channels: [ch] }) })
    : await s.connectAs(t, "alice");
  if (BIDI.includes(t)) await s.subscribe(c, 2, ch);
  await s.api("publish", { channel: ch, data: { n: 1 } });
  await s.api("publish", { channel: ch, data: { n: 2 } });
  await c.until(
    () =>
      c.received.filter((m) => (m.push as { pub?: unknown } | undefined)?.pub || m.pub).length >= 2 ||
      undefined,
    "two publications",
  );
  await s.api("history", { channel: ch, limit: -1 });
  await s.api("presence_stats", { channel: ch });
}, onRedis);

perTransport(BIDI, "redis: recovery after a reconnect", async (s, t) => {
  // (a namespace without join/leave: a join pushed through Redis races the client's hanging up)
  const ch = s.ch("hist:room");
  for (let i = 1; i <= 2; i++) await s.api("publish", { channel: ch, data: { n: i } });
  const first = await s.connectAs(t, "alice");
  const r = await first.call({ id: 2, subscribe: { channel: ch, recoverable: true } });
  const pos = r.subscribe as { epoch: string; offset: number };
  await first.close();
  for (let i = 3; i <= 4; i++) await s.api("publish", { channel: ch, data: { n: i } });
  const again = await s.connectAs(t, "alice");
  await again.call({
    id: 2,
    subscribe: { channel: ch, recoverable: true, recover: true, offset: pos.offset, epoch: pos.epoch },
  });
}, onRedis);

scenario("redis: health while Redis is up", async (s) => {
  await s.http("/health");
}, onRedis);

scenario("redis: health after Redis stops", async (s) => {
  await s.http("/health");
  await redisUnder.get(s.url)!.stop();
  await new Promise((r) => setTimeout(r, 1500)); // both notice a closed connection at once
  await s.http("/health");
}, { profile: "redis_down", differs: "health-broker-down" });
