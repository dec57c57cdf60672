/**
 * @module
 * What every streaming transport shares: a byte-bounded `ReadableStream` sink per connection,
 * request-body reading with a size limit, and the response headers that keep proxies from
 * buffering or caching a stream.
 */
import type { ClientTransport } from "../core/client.ts";
import { type Framing, type Shape, shapeOf } from "../core/codec.ts";
import type { ConnInfo } from "../runtime/types.ts";

export interface SinkOptions {
  name: string;
  unidirectional: boolean;
  emulation: boolean;
  framing: Framing;
  pingBytes: Uint8Array;
  /** Bytes the stream may hold unread before `write` reports overflow. */
  maxQueueBytes: number;
  eventIds?: boolean;
}

/**
 * One connection's outgoing stream. The stream's own queue, measured in bytes, is the bounded
 * client queue: when the reader (the runtime writing to the socket) falls behind by more than
 * `maxQueueBytes`, `write` returns false and the client disconnects itself as slow.
 */
export class StreamSink implements ClientTransport {
  readonly name: string;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  readonly pingBytes: Uint8Array;
  readonly eventIds: boolean;
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private readonly goneCallbacks: Array<() => void> = [];

  constructor(opts: SinkOptions) {
    this.name = opts.name;
    this.unidirectional = opts.unidirectional;
    this.emulation = opts.emulation;
    this.framing = opts.framing;
    this.shape = shapeOf(opts.unidirectional, opts.framing);
    this.pingBytes = opts.pingBytes;
    this.eventIds = opts.eventIds ?? false;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => this.gone(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: opts.maxQueueBytes }),
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    try {
      this.controller.enqueue(bytes);
    } catch {
      this.gone();
      return true;
    }
    return (this.controller.desiredSize ?? 0) >= 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // already closed by the reader
    }
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.error(new Error("client queue overflow"));
    } catch {
      // already closed
    }
  }

  /** Registers what to do when the client goes away (cancel or connection closed). */
  onGone(fn: () => void): void {
    this.goneCallbacks.push(fn);
  }

  /** Wires runtime-level close detection; a stream's `cancel` alone is not always called. */
  watch(conn: ConnInfo): void {
    conn.holdOpen();
    conn.closed.then(() => this.gone());
  }

  /** The reader went away; callbacks run once (whichever signal comes first). */
  private gone(): void {
    this.closed = true;
    for (const fn of this.goneCallbacks.splice(0)) fn();
  }
}

/** Headers Centrifugo sends on every streaming response. */
export function streamHeaders(contentType?: string): Headers {
  const h = new Headers({
    "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0, no-transform",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Accel-Buffering": "no",
  });
  if (contentType) h.set("Content-Type", contentType);
  return h;
}

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** Reads a request body as text, refusing more than `limit` bytes (checked while streaming). */
export async function readBodyLimited(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

export function textResponse(status: number, text: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}
