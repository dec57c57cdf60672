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
 * One connection's outgoing stream. Bytes go straight into the `ReadableStream` (no promise or
 * microtask per message — this is the fan-out hot path); the stream's own queue, measured in
 * bytes, is the bounded client queue: when the reader (the runtime writing to the socket) falls
 * more than `maxQueueBytes` behind, `write` returns false and the client disconnects itself as
 * slow; `abort` then drops the queue and resets the connection.
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
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private owner: { transportGone(): void } | undefined;

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
    try {
      this.controller.enqueue(bytes);
    } catch {
      this.gone(); // the reader is gone; the cancel callback may come later or never
      return true;
    }
    // With a high-water mark of 0, desiredSize is minus the bytes waiting for the socket.
    return -(this.controller.desiredSize ?? 0) <= this.maxQueueBytes;
  }

  /** Ends the response after everything queued has been handed to the runtime. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // already closed by the reader
    }
  }

  /** Drops whatever is queued and resets the connection now. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // An error without a reason: the runtime resets the connection and logs nothing.
      this.controller.error(undefined);
    } catch {
      // already closed
    }
  }

  /**
   * Whom to tell when the client goes away (stream cancelled or connection closed), and the
   * runtime-level close detection (a stream's `cancel` alone is not always called).
   */
  attach(owner: { transportGone(): void }, conn: ConnInfo): void {
    this.owner = owner;
    conn.holdOpen();
    conn.onClose(() => this.gone());
  }

  /** The reader went away; the owner hears of it once (whichever signal comes first). */
  private gone(): void {
    this.closed = true;
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

/**
 * A connection request's body, or the response that refuses it: 413 over `limit` bytes, 499 when
 * the client went away while sending it.
 */
export async function readRequestBody(req: Request, limit: number): Promise<string | Response> {
  try {
    return await readBodyLimited(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return textResponse(413, "Request Entity Too Large");
    return textResponse(499, "Client Closed Request");
  }
}

export function textResponse(status: number, text: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}
