/**
 * @module
 * SSE event ids that make a plain `EventSource` resume without loss (a Sluice extension to
 * Centrifugo's `uni_sse`). Each id carries the stream position (offset + epoch) of every
 * positioned channel of the connection, so the `Last-Event-ID` a browser sends on reconnect says
 * exactly where each channel stopped.
 *
 * Format (URL-safe, no spaces): `1` then, per channel, `.<channel hash>.<offset>.<epoch>` —
 * hash = FNV-1a 32-bit of the channel name in base 36, offset in base 36, epoch verbatim when it
 * is made of `[A-Za-z0-9_-]`, else `~` + base64url of it. Channels are matched by hash on resume;
 * a channel missing from the id starts fresh, and a position that history no longer covers is
 * reported to the client with a `reload` event.
 */
import type { StreamPosition } from "../wire/protocol.ts";

const VERSION = "1";
const PLAIN_EPOCH = /^[A-Za-z0-9_-]+$/;

export function channelHash(channel: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) {
    h ^= channel.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

function encodeEpoch(epoch: string): string {
  if (PLAIN_EPOCH.test(epoch)) return epoch;
  const bytes = new TextEncoder().encode(epoch);
  return "~" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeEpoch(text: string): string | undefined {
  if (!text.startsWith("~")) return PLAIN_EPOCH.test(text) ? text : undefined;
  try {
    const b64 = text.slice(1).replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** One channel's segment of an id (cached by the caller until the position changes). */
export function encodeSegment(channel: string, sp: StreamPosition): string {
  return `.${channelHash(channel)}.${sp.offset.toString(36)}.${encodeEpoch(sp.epoch)}`;
}

/** Joins segments (in a stable order) into an id. */
export function joinSegments(segments: Iterable<string>): string {
  let id = VERSION;
  for (const s of segments) id += s;
  return id;
}

/** Positions by channel hash, or undefined when the id is not one of ours or is damaged. */
export function parseEventId(id: string): Map<string, StreamPosition> | undefined {
  const parts = id.trim().split(".");
  if (parts[0] !== VERSION || (parts.length - 1) % 3 !== 0 || id.length > 16_384) return undefined;
  const out = new Map<string, StreamPosition>();
  for (let i = 1; i < parts.length; i += 3) {
    const [hash, offsetText, epochText] = [parts[i], parts[i + 1], parts[i + 2]];
    if (!/^[0-9a-z]{1,7}$/.test(hash) || !/^[0-9a-z]{1,11}$/.test(offsetText)) return undefined;
    const offset = parseInt(offsetText, 36);
    const epoch = decodeEpoch(epochText);
    if (!Number.isSafeInteger(offset) || epoch === undefined) return undefined;
    out.set(hash, { offset, epoch });
  }
  return out;
}
