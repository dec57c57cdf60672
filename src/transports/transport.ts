/**
 * @module
 * What every streaming transport shares: a byte-bounded `ReadableStream` sink per connection and
 * the response headers that keep proxies from buffering or caching a stream.
 */
import type { ClientTransport } from "../core/client.ts";
import { type Framing, Shape, shapeOf } from "../core/codec.ts";
import type { ByteSourceController, ConnInfo } from "../runtime/types.ts";
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
  /** Centrifugal's protobuf protocol (http_stream with `application/octet-stream`). */
  protobuf?: boolean;
}

/**
 * One connection's outgoing stream and the bounded client queue in front of it.
 *
 * The runtime pulls: a chunk goes into the `ReadableStream` only when the runtime asks for one
 * (`pull`), so the bytes written and not yet taken stay here, as the very `Uint8Array`s written —
 * shared by every subscriber of a publication, not copied per connection. That is the client
 * queue: past `maxQueueBytes` of it, `write` returns false and the client disconnects itself as
 * slow (`abort` drops the queue and cuts the connection). 10k stalled subscribers of one channel
 * thus cost references to the same bytes, not 10k copies.
 *
 * When the runtime is waiting (it keeps up), the writes of one I/O turn go over as one chunk at
 * the end of the turn (see flush_queue.ts: the runtime's cost is per chunk, not per byte). When it
 * was not, everything that piled up goes over joined, in chunks of at most 64 KiB, at its next
 * pull. A lone message is handed over as it is. No promise or microtask per message: this is the
 * fan-out hot path.
 */
export class StreamSink implements ClientTransport, Flushable {
  /** What every sink of this kind shares (see `SinkProfile`). */
  private readonly profile: SinkProfile;
  /** The Web stream, made on first use (`stream`); never where the runtime drains the sink itself. */
  private readable: ReadableStream<Uint8Array> | undefined;
  /** Set by `start`: the stream's controller, or the runtime's own (node_http drains directly). */
  private controller: ByteSourceController | undefined;
  /** No more writes: closed, aborted, or the reader went away. */
  private closed = false;
  /** close() was called: the stream ends once the queue has been handed over. */
  private ending = false;
  /** The oldest bytes not handed over yet (kept as they are: shared, not copied). */
  private first: Uint8Array | undefined;
  /** The rest of the queue, oldest first, only when there is more than one write waiting. */
  private more: Uint8Array[] | undefined;
  private queuedBytes = 0;
  /** The runtime asked for bytes and got none yet: hand over at the end of this turn. */
  private wanted = false;
  private flushScheduled = false;
  private owner: { transportGone(): void } | undefined;
  /** The first queued write is a preamble that goes out alone (see writePreamble). */
  private preambleAlone = false;
  /** The preamble was handed over this turn: the next chunk waits for the next one. */
  private afterPreamble = false;
  private conn: ConnInfo | undefined;

  constructor(opts: SinkOptions) {
    this.profile = SinkProfile.of(opts);
  }

  get name(): string {
    return this.profile.name;
  }
  get unidirectional(): boolean {
    return this.profile.unidirectional;
  }
  get emulation(): boolean {
    return this.profile.emulation;
  }
  get framing(): Framing {
    return this.profile.framing;
  }
  get shape(): Shape {
    return this.profile.shape;
  }
  get protobuf(): boolean {
    return this.profile.protobuf;
  }
  get pingBytes(): Uint8Array {
    return this.profile.pingBytes;
  }
  get eventIds(): boolean {
    return this.profile.eventIds;
  }

  /** The sink as a Web stream (made once; the sink is its own underlying source: no closures). */
  get stream(): ReadableStream<Uint8Array> {
    return this.readable ??= new ReadableStream<Uint8Array>(this, BYTES_NO_BUFFER);
  }

  /**
   * The streamed response. Where the runtime writes a source to the socket itself (node_http) it
   * gets the sink, not a Web stream: no stream objects per connection, no promise per chunk.
   */
  response(init: ResponseInit): Response {
    return this.conn?.streamResponse?.(this, init) ?? new Response(this.stream, init);
  }

  /**
   * UnderlyingSource.start. The response may come after the stream was closed or cut (a connect
   * refused at once): what happened meanwhile is carried out now.
   */
  start(controller: ByteSourceController): void {
    this.controller = controller;
    if (!this.closed) return;
    if (this.ending) {
      if (this.first === undefined) this.endStream();
    } else {
      this.errorStream();
    }
  }

  /** UnderlyingSource.pull: the runtime can take a chunk. */
  pull(): void {
    if (this.first === undefined || this.afterPreamble) this.wanted = true;
    else this.handOver();
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
    if (this.first === undefined) this.first = bytes;
    else (this.more ??= []).push(bytes);
    this.queuedBytes += bytes.byteLength;
    if (this.wanted && !this.flushScheduled) {
      this.flushScheduled = true;
      flushQueue.add(this);
    }
    return this.queuedBytes <= this.profile.maxQueueBytes;
  }

  /**
   * The stream's first bytes (an SSE preamble), handed to the runtime as a chunk of their own
   * rather than joined with the first event: Centrifugo flushes them alone, and an `eventsource@2`
   * client drops an event that arrives in one chunk with the `\r\n` before it.
   */
  writePreamble(bytes: Uint8Array): void {
    if (this.first === undefined) this.preambleAlone = true;
    this.write(bytes);
  }

  /** The turn after the preamble's: what queued meanwhile goes out (if the runtime wants it). */
  releasePreambleTurn(): void {
    this.afterPreamble = false;
    if (this.wanted && this.first !== undefined) this.handOver();
  }

  /** End of the turn in which the waiting runtime got writes (flush_queue.ts calls it). */
  flush(): void {
    this.flushScheduled = false;
    if (this.wanted && !this.afterPreamble) this.handOver(); // after abort or a gone reader the queue is empty
  }

  /**
   * Ends the response once the queue has been handed over. A client that never reads it would
   * keep the connection (and those bytes) forever: the runtime cuts it if it has not drained
   * within the idle timeout.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    if (this.first === undefined) this.endStream();
    this.conn?.responseEnded();
  }

  /** Drops the queue and cuts the connection now (a slow consumer). */
  abort(): void {
    if (this.closed && !this.ending) return;
    this.closed = true;
    this.ending = false;
    this.dropQueue();
    this.errorStream();
    // Ending the response is not enough: bytes already handed to the runtime wait for a reader
    // who never comes, and keep the connection open. Cut it.
    this.conn?.abort();
  }

  /** Gives the runtime the oldest queued bytes: one write as it is, or several joined (≤ 64 KiB). */
  private handOver(): void {
    const first = this.first;
    if (first === undefined) return;
    this.wanted = false;
    const more = this.more;
    let chunk = first;
    if (more === undefined) {
      this.first = undefined;
    } else if (this.preambleAlone) {
      this.first = more.shift();
      if (more.length === 0) this.more = undefined;
    } else {
      // Take writes up to the chunk size (at least one), join them, keep the rest queued.
      let size = first.byteLength;
      let n = 0;
      while (n < more.length && size + more[n].byteLength <= MAX_CHUNK_BYTES) size += more[n++].byteLength;
      if (n > 0) {
        const parts = more.splice(0, n);
        parts.unshift(first);
        chunk = joinBytes(parts, size);
      }
      if (more.length === 0) {
        this.first = undefined;
        this.more = undefined;
      } else {
        this.first = more.shift();
        if (more.length === 0) this.more = undefined;
      }
    }
    if (this.preambleAlone) {
      // A runtime that writes what it is given in one turn as one chunk (Bun) must get the
      // preamble's turn to itself: the rest waits for the next turn (setImmediate: after this I/O turn).
      this.preambleAlone = false;
      this.afterPreamble = true;
      setImmediate(releaseAfterPreamble, this);
    }
    this.queuedBytes -= chunk.byteLength;
    try {
      this.controller!.enqueue(chunk); // pulled: started
      if (this.ending && this.first === undefined) this.endStream();
    } catch {
      this.gone(); // the reader is gone; the cancel callback may come later or never
    }
  }

  /** Ends the stream after its last bytes (or at `start`, when there is no controller yet). */
  private endStream(): void {
    if (this.controller === undefined) return;
    this.ending = false;
    try {
      this.controller.close();
    } catch {
      // already closed by the reader
    }
  }

  /** Ends the response at once, unfinished (or at `start`, when there is no controller yet). */
  private errorStream(): void {
    try {
      // An error without a reason: the runtime ends the response and logs nothing.
      this.controller?.error(undefined);
    } catch {
      // already closed
    }
  }

  /** Forgets the queued bytes (the stream is ending without them). */
  private dropQueue(): void {
    this.first = undefined;
    this.more = undefined;
    this.queuedBytes = 0;
  }

  /**
   * Whom to tell when the client goes away (stream cancelled or connection closed), and the
   * runtime-level close detection (a stream's `cancel` alone is not always called).
   */
  attach(owner: { transportGone(): void }, conn: ConnInfo): void {
    this.owner = owner;
    this.conn = conn;
    conn.holdOpen();
    conn.onClose(this.gone, this);
  }

  /** The reader went away; the owner hears of it once (whichever signal comes first). */
  private gone(): void {
    this.closed = true;
    this.ending = false;
    this.dropQueue();
    const owner = this.owner;
    this.owner = undefined;
    owner?.transportGone();
  }
}

/**
 * The options of a sink, made once per distinct set and shared by every sink made with it: nine
 * fields fewer on each connection's sink (~100 bytes on Bun; idle connections hold their sink).
 */
class SinkProfile {
  /** One per distinct option set: a handful (transport kinds × configs), searched in order. */
  private static readonly made: SinkProfile[] = [];

  static of(opts: SinkOptions): SinkProfile {
    // A sink is made per connection: compared field by field, no key built per call.
    for (const profile of SinkProfile.made) if (profile.fits(opts)) return profile;
    const profile = new SinkProfile(opts);
    SinkProfile.made.push(profile);
    return profile;
  }

  readonly name: string;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  readonly protobuf: boolean;
  readonly pingBytes: Uint8Array;
  readonly eventIds: boolean;
  readonly maxQueueBytes: number;

  private constructor(opts: SinkOptions) {
    this.name = opts.name;
    this.unidirectional = opts.unidirectional;
    this.emulation = opts.emulation;
    this.framing = opts.framing;
    this.protobuf = opts.protobuf === true;
    this.shape = this.protobuf ? Shape.BidiProtobuf : shapeOf(opts.unidirectional, opts.framing);
    this.pingBytes = opts.pingBytes;
    this.eventIds = opts.eventIds ?? false;
    this.maxQueueBytes = opts.maxQueueBytes;
  }

  /** Whether a sink with `opts` behaves as this profile says (the ping compared by content). */
  private fits(opts: SinkOptions): boolean {
    return this.name === opts.name && this.unidirectional === opts.unidirectional &&
      this.emulation === opts.emulation && this.framing === opts.framing &&
      this.protobuf === (opts.protobuf === true) && this.eventIds === (opts.eventIds ?? false) &&
      this.maxQueueBytes === opts.maxQueueBytes && sameBytes(this.pingBytes, opts.pingBytes);
  }
}

/** Equal contents (transports share one ping per kind, so it is usually the same object). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function releaseAfterPreamble(sink: StreamSink): void {
  sink.releasePreambleTurn();
}

/** Largest chunk made by joining queued writes (a single larger write goes over as it is). */
const MAX_CHUNK_BYTES = 65_536;

/**
 * Queue size counted in bytes, high-water mark 0: the limit is checked in `write`, not given to
 * the stream, because Bun sizes a response's native buffer by the high-water mark (1 MB of
 * `client_queue_max_size` tripled an idle connection's memory). One object shared by every stream.
 */
const BYTES_NO_BUFFER = new ByteLengthQueuingStrategy({ highWaterMark: 0 });

const NO_CACHE = {
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
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
export function joinBytes(parts: Uint8Array[], size: number): Uint8Array {
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
}
