/**
 * Recovery and positioning over every bidirectional transport: a resubscribe with the position a
 * client saw (recovered, nothing missed, too far behind, wrong epoch, ahead of the stream), the
 * recovery cap, and server-side subscriptions recovered through the connect request.
 */
import { perTransport } from "../scenario.ts";
import type { Session } from "../session.ts";
import { BIDI, type TransportName } from "../transports.ts";
import type { Conn, Message } from "../transports.ts";

async function publishN(s: Session, channel: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await s.api("publish", { channel, data: { n: i } });
}

/** Subscribes, returns the epoch and offset of the subscribe result. */
async function position(
  c: Conn,
  id: number,
  channel: string,
  extra = {},
): Promise<{ epoch: string; offset: number }> {
  const r = await c.call({ id, subscribe: { channel, ...extra } });
  const sub = (r.subscribe ?? {}) as { epoch?: string; offset?: number };
  return { epoch: sub.epoch ?? "", offset: sub.offset ?? 0 };
}

/** A second connection that recovers `channel` from `since` (as the SDK does after a reconnect). */
async function recoverWith(
  s: Session,
  t: TransportName,
  channel: string,
  since: { epoch: string; offset: number },
): Promise<Message> {
  const c = await s.connectAs(t, "alice");
  return await c.call({
    id: 2,
    subscribe: { channel, recover: true, offset: since.offset, epoch: since.epoch },
  });
}

perTransport(BIDI, "recovery: missed publications come back in order", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 2);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await first.close();
  await publishN(s, ch, 3, 5);
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "recovery: nothing missed", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 3);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "recovery: more missed than history keeps", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 1);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await publishN(s, ch, 2, 14); // history_size 10
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "recovery: more missed than recovery_max_publication_limit", async (s, t) => {
  const ch = s.ch("open:room");
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await publishN(s, ch, 1, 9); // in history (10), over the recovery limit (8)
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "recovery: wrong epoch", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 2);
  await recoverWith(s, t, ch, { epoch: "not-the-epoch", offset: 1 });
});

perTransport(BIDI, "recovery: offset ahead of the stream", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 2);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await recoverWith(s, t, ch, { epoch: pos.epoch, offset: 50 });
});

perTransport(BIDI, "recovery: empty epoch and offset 0 (a client that saw nothing)", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 3);
  await recoverWith(s, t, ch, { epoch: "", offset: 0 });
});

perTransport(BIDI, "recovery: asked where the namespace does not allow it", async (s, t) => {
  const ch = s.ch("pos:room");
  await publishN(s, ch, 1, 2);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await publishN(s, ch, 3, 4);
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "recovery: allow_recovery with recoverable on request", async (s, t) => {
  const ch = s.ch("hist:room");
  await publishN(s, ch, 1, 2);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch, { recoverable: true });
  await publishN(s, ch, 3, 4);
  const c = await s.connectAs(t, "alice");
  await c.call({ id: 2, subscribe: { channel: ch, recoverable: true, recover: true, ...pos } });
});

perTransport(BIDI, "recovery: a channel whose history was removed", async (s, t) => {
  const ch = s.ch("open:room");
  await publishN(s, ch, 1, 3);
  const first = await s.connectAs(t, "alice");
  const pos = await position(first, 2, ch);
  await s.api("history_remove", { channel: ch });
  await publishN(s, ch, 4, 4);
  await recoverWith(s, t, ch, pos);
});

perTransport(BIDI, "positioning: live publications continue the subscribe offset", async (s, t) => {
  const ch = s.ch("pos:room");
  await publishN(s, ch, 1, 2);
  const c = await s.connectAs(t, "alice");
  await position(c, 2, ch);
  await publishN(s, ch, 3, 4);
  await c.count(4);
});

perTransport(BIDI, "server-side subscription recovered through connect subs", async (s, t) => {
  const ch = s.ch("open:feed");
  const token = await s.userToken("alice", { channels: [ch] });
  await publishN(s, ch, 1, 2);
  const first = await s.connect(t, { token });
  const sub = (((first.received[0] as Message).connect as Message).subs as Record<string, Message>)[ch];
  // its own join comes through the broker: waited for, so hanging up cannot race it
  await first.next((m) => !!(m.push as { join?: unknown } | undefined)?.join, "own join");
  await first.close();
  await publishN(s, ch, 3, 4);
  await s.connect(t, { token, subs: { [ch]: { recover: true, offset: sub.offset, epoch: sub.epoch } } });
});

perTransport(BIDI, "server-side subscription: connect subs with a wrong epoch", async (s, t) => {
  const ch = s.ch("open:feed");
  const token = await s.userToken("alice", { channels: [ch] });
  await publishN(s, ch, 1, 2);
  await s.connect(t, { token, subs: { [ch]: { recover: true, offset: 1, epoch: "wrong" } } });
});
