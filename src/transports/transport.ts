/**
 * @module
 * What every streaming transport shares: a byte-bounded `ReadableStream` sink per connection,
 * request-body reading with a size limit, and the response headers that keep proxies from
 * buffering or caching a stream.
 */
import type { ClientTransport } from "../core/client.ts";
import { type Framing, type Shape, shapeOf } from "../core/codec.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { type Flushable, flushQueue } from "./flush_queue.ts";

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
 * One connection's outgoing stream and the bounded client queue in front of it.
 *
 * Writes collect here during an I/O turn and go into the `ReadableStream` as one chunk when the
 * turn ends (see flush_queue.ts: the runtime's cost is per chunk, not per byte). No promise or
 * microtask per message: this is the fan-out hot path. The bytes written and not yet taken by the
 * runtime (collected here, plus the stream's own queue, measured in bytes) are the client queue:
 * past `maxQueueBytes`, `write` returns false and the client disconnects itself as slow; `abort`
 * then drops the queue and resets the connection.
 */
export class StreamSink implements ClientTransport, Flushable {
  readonly name: string;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  readonly pingBytes: Uint8Array;
  readonly eventIds: boolean;
  readonly stream: ReadableStream<Uint8Array>;
  private readonly maxQueueBytes: number;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  /** The first chunk written this turn (kept as it is: a lone message is shared, not copied). */
  private first: Uint8Array | undefined;
  /** Chunks after the first, only when a turn brought more than one. */
  private more: Uint8Array[] | undefined;
  private collectedBytes = 0;
  /** Bytes in the stream the runtime had not taken at this turn's first write. */
  private unreadBytes = 0;
  private owner: { transportGone(): void } | undefined;
  private conn: ConnInfo | undefined;

  constructor(opts: SinkOptions) {
    this.name = opts.name;
    this.unidirectional = opts.unidirectional;
    this.emulation = opts.emulation;
    this.framing = opts.framing;
    this.shape = shapeOf(opts.unidirectional, opts.framing);
    this.pingBytes = opts.pingBytes;
    this.eventIds = opts.eventIds ?? false;
    // The sink is its own underlying source (start/cancel below): no closures per connection.
    this.maxQueueBytes = opts.maxQueueBytes;
    this.stream = new ReadableStream<Uint8Array>(this, BYTES_NO_BUFFER);
  }

  /** UnderlyingSource.start */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  /** UnderlyingSource.cancel: the reader (the runtime) gave up on the stream. */
  cancel(): void {
    this.gone();
  }

  /** True once the writer closed or aborted the stream, or the reader went away. */
  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    if (this.first === undefined) {
      this.first = bytes;
      flushQueue.add(this);
      // With a high-water mark of 0, desiredSize is minus the bytes the runtime has not taken
      // yet. Read once per turn, not per message: if the runtime takes some during the turn,
      // the check only errs towards the limit.
      this.unreadBytes = -(this.controller.desiredSize ?? 0);
    } else {
      (this.more ??= []).push(bytes);
    }
    this.collectedBytes += bytes.byteLength;
    return this.collectedBytes + this.unreadBytes <= this.maxQueueBytes;
  }

  /** Hands what this turn collected to the runtime, as one chunk (flush_queue.ts calls it). */
  flush(): void {
    const chunk = this.takeCollected();
    if (chunk === undefined || this.closed) return;
    try {
      this.controller.enqueue(chunk);
    } catch {
      this.gone(); // the reader is gone; the cancel callback may come later or never
    }
  }

  /**
   * Ends the response after everything written has been handed to the runtime. A client that
   * does not read it would keep the connection (and those bytes) forever: the runtime cuts it
   * if it has not drained within the idle timeout.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const chunk = this.takeCollected();
    try {
      if (chunk !== undefined) this.controller.enqueue(chunk);
      this.controller.close();
    } catch {
      // already closed by the reader
    }
    this.conn?.responseEnded();
  }

  /** Drops whatever is queued and resets the connection now. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropCollected();
    try {
      // An error without a reason: the runtime ends the response and logs nothing.
      this.controller.error(undefined);
    } catch {
      // already closed
    }
    // Ending the response is not enough: bytes already handed to the runtime wait for a reader
    // who never comes, and keep the connection open. Cut it.
    this.conn?.abort();
  }

  /** The bytes collected since the last flush as one chunk (undefined when there are none). */
  private takeCollected(): Uint8Array | undefined {
    const first = this.first;
    const more = this.more;
    const size = this.collectedBytes;
    this.dropCollected();
    if (first === undefined || more === undefined) return first;
    more.unshift(first);
    return joinBytes(more, size);
  }

  /** Forgets the collected bytes without joining them (the stream is ending without them). */
  private dropCollected(): void {
    this.first = undefined;
    this.more = undefined;
    this.collectedBytes = 0;
  }

  /**
   * Whom to tell when the client goes away (stream cancelled or connection closed), and the
   * runtime-level close detection (a stream's `cancel` alone is not always called).
   */
  attach(owner: { transportGone(): void }, conn: ConnInfo): void {
    this.owner = owner;
    this.conn = conn;
    conn.holdOpen();
    conn.onClose(() => this.gone());
  }

  /** The reader went away; the owner hears of it once (whichever signal comes first). */
  private gone(): void {
    this.closed = true;
    this.dropCollected();
    const owner = this.owner;
    this.owner = undefined;
    owner?.transportGone();
  }
}

/**
 * Queue size counted in bytes, high-water mark 0: the limit is checked in `write`, not given to
 * the stream, because Bun sizes a response's native buffer by the high-water mark (1 MB of
 * `client_queue_max_size` tripled an idle connection's memory). One object shared by every stream.
 */
const BYTES_NO_BUFFER = new ByteLengthQueuingStrategy({ highWaterMark: 0 });

const NO_CACHE = {
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0, no-transform",
  "Pragma": "no-cache",
  "Expires": "0",
  "X-Accel-Buffering": "no",
} as const;
const streamHeaderSets = new Map<string, Readonly<Record<string, string>>>();

/**
 * Headers Centrifugo sends on every streaming response: one frozen record per content type,
 * copied by the `Response` (a `Headers` built per connection cost a few % of the connect rate).
 */
export function streamHeaders(contentType = ""): Readonly<Record<string, string>> {
  let h = streamHeaderSets.get(contentType);
  if (!h) {
    h = Object.freeze(contentType ? { ...NO_CACHE, "Content-Type": contentType } : { ...NO_CACHE });
    streamHeaderSets.set(contentType, h);
  }
  return h;
}

/** `parts` copied one after another into one array of `size` bytes (their total). */
function joinBytes(parts: Uint8Array[], size: number): Uint8Array {
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
}

export function textResponse(status: number, text: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}
