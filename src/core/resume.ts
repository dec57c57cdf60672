/**
 * @module
 * Lossless resume for plain `EventSource` clients on `uni_sse` (a Sluice extension).
 *
 * Every event that moves a channel's position carries an `id:` with the positions of all the
 * connection's positioned channels (see `event_id.ts`). When the browser reconnects with
 * `Last-Event-ID`, each channel found in it is recovered from history: the missed publications are
 * sent as ordinary events (each with its own id, so a drop half-way loses nothing) before live
 * data. A channel whose gap history no longer covers — or every channel, when the id is damaged —
 * gets a `reload` event instead: `event: reload` with data `{"channel": "…", "reason": "…"}`.
 */
import { hasHistory } from "./channel.ts";
import { channelHash, encodeSegment, joinSegments, parseEventId } from "./event_id.ts";
import type { Publication, StreamPosition } from "../wire/protocol.ts";
import type { RecoveryRequest, SubscribeResultFields, Subscription } from "./subscription.ts";

const encoder = new TextEncoder();

export interface ReloadNotice {
  channel: string;
  reason: "unrecoverable position" | "invalid last event id";
}

export class ResumeTracker {
  /** Positions from `Last-Event-ID`: undefined = first connection, null = an id we cannot read. */
  private readonly requested: Map<string, StreamPosition> | null | undefined;
  private recovered?: Array<{ sub: Subscription; pubs: Publication[] }>;
  private reloads?: ReloadNotice[];

  /**
   * The tracker for a connection: one shared by every connection without a `Last-Event-ID` (a
   * fresh one has nothing to resume and keeps no state), a new one for a resuming connection.
   */
  static for(lastEventId: string | null | undefined): ResumeTracker {
    return lastEventId === null || lastEventId === undefined || lastEventId === ""
      ? FRESH
      : new ResumeTracker(lastEventId);
  }

  constructor(lastEventId: string | null) {
    this.requested = lastEventId === null || lastEventId === ""
      ? undefined
      : parseEventId(lastEventId) ?? null;
  }

  /** Channels with history are positioned on `uni_sse`, so their events can carry positions. */
  position(sub: Subscription): void {
    if (!hasHistory(sub.resolved.options)) return;
    sub.positioned = true;
    sub.recoverable = true;
  }

  /** The recovery request for a channel when resuming from `Last-Event-ID`, else `fallback`. */
  recoveryFor(sub: Subscription, fallback: RecoveryRequest): RecoveryRequest {
    if (!sub.positioned || !this.requested) return fallback;
    const sp = this.requested.get(channelHash(sub.channel));
    return sp ? { recover: true, offset: sp.offset, epoch: sp.epoch, rejectUnrecovered: false } : fallback;
  }

  /**
   * After positioning: recovered publications are held back to be sent as events, and the
   * subscription is rewound to the requested offset so ids advance one publication at a time.
   */
  afterPositioning(sub: Subscription, req: RecoveryRequest, fields: SubscribeResultFields): void {
    if (!sub.positioned || this.requested === undefined) return;
    if (this.requested === null) {
      (this.reloads ??= []).push({ channel: sub.channel, reason: "invalid last event id" });
      return;
    }
    if (!this.requested.has(channelHash(sub.channel)) || !req.recover) return;
    if (fields.recovered) {
      (this.recovered ??= []).push({ sub, pubs: fields.publications ?? [] });
      fields.publications = undefined;
      sub.offset = req.offset;
    } else {
      (this.reloads ??= []).push({ channel: sub.channel, reason: "unrecoverable position" });
    }
  }

  takeRecovered(): Array<{ sub: Subscription; pubs: Publication[] }> {
    const out = this.recovered ?? [];
    this.recovered = undefined;
    return out;
  }

  takeReloads(): ReloadNotice[] {
    const out = this.reloads ?? [];
    this.reloads = undefined;
    return out;
  }

  /** `id: …\n` with the current position of every positioned subscription. */
  idLine(subs: Iterable<Subscription>): Uint8Array {
    const parts: string[] = [];
    for (const sub of subs) {
      if (!sub.positioned) continue;
      let seg = sub.idSegment;
      if (!seg || seg.offset !== sub.offset || seg.epoch !== sub.epoch) {
        seg = sub.idSegment = { offset: sub.offset, epoch: sub.epoch, text: encodeSegment(sub.channel, sub) };
      }
      parts.push(seg.text);
    }
    return encoder.encode(`id: ${joinSegments(parts)}\n`);
  }
}

/** Nothing requested: `recovered` and `reloads` stay empty, so one instance serves every connection. */
const FRESH = new ResumeTracker(null);

export function reloadEvent(notice: ReloadNotice): Uint8Array {
  return encoder.encode(`event: reload\ndata: ${JSON.stringify(notice)}\n\n`);
}
