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
 * One connection's outgoing stream, with its own byte-counted queue. The `ReadableStream` keeps no
 * buffer of its own (high-water mark 0): the runtime pulls whenever the socket can take more, and
 * each pull hands over everything queued as one chunk (fewer, larger socket writes under load).
 * When the reader falls more than `maxQueueBytes` behind, `write` returns false and the client
 * disconnects itself as slow; `abort` then drops the queue and ends the response.
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
  private readonly maxQueueBytes: number;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Set when the writer is done; the stream ends once the queue is drained. */
  private ending = false;
  private closed = false;
  /** Resolves a pending pull when data or the end arrives. */
  private wake: (() => void) | undefined;
  private readonly goneCallbacks: Array<() => void> = [];

  constructor(opts: SinkOptions) {
    this.name = opts.name;
    this.unidirectional = opts.unidirectional;
    this.emulation = opts.emulation;
    this.framing = opts.framing;
    this.shape = shapeOf(opts.unidirectional, opts.framing);
    this.pingBytes = opts.pingBytes;
    this.eventIds = opts.eventIds ?? false;
    this.maxQueueBytes = opts.maxQueueBytes;
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.pull(controller),
        cancel: () => this.gone(),
      },
      { highWaterMark: 0 },
    );
  }

  /** True once the writer closed or aborted the stream, or the reader went away. */
  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  write(bytes: Uint8Array): boolean {
    if (this.isClosed) return true;
    this.queue.push(bytes);
    this.queuedBytes += bytes.byteLength;
    this.notify();
    return this.queuedBytes <= this.maxQueueBytes;
  }

  /** Ends the response after everything queued has been handed to the runtime. */
  close(): void {
    if (this.isClosed) return;
    this.ending = true;
    this.notify();
  }

  /** Drops whatever is queued and ends the response now. */
  abort(): void {
    if (this.isClosed) return;
    this.queue = [];
    this.queuedBytes = 0;
    this.ending = true;
    this.notify();
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

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.queue.length === 0 && !this.ending && !this.closed) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.queue.length > 0) {
      controller.enqueue(this.takeAll());
      return;
    }
    this.closed = true;
    try {
      controller.close();
    } catch {
      // the reader cancelled meanwhile
    }
  }

  private takeAll(): Uint8Array {
    const chunks = this.queue;
    const size = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The reader went away; callbacks run once (whichever signal comes first). */
  private gone(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.notify();
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
