/**
 * @module
 * The outbox's writer for a streamed response body (SSE, HTTP streaming, their unidirectional
 * forms, Simple SSE): a pull-based byte source the runtime drains.
 */
import type { ByteSourceController, ConnInfo } from "../../runtime/types.ts";
import { joinBytes } from "../../bytes.ts";
import { Outbox } from "./outbox.ts";

/**
 * One connection's response body, fed from its outbox.
 *
 * The runtime pulls: a chunk goes over only when the runtime asks for one (`pull`), so the bytes
 * written and not yet taken stay in the outbox, as the very `Uint8Array`s written. When the
 * runtime is waiting (it keeps up), a turn's writes go over as one chunk at the end of the turn.
 * When it was not, everything that piled up goes over joined, in chunks of at most 64 KiB, at its
 * next pull. A lone message is handed over as it is.
 */
export class StreamWriter extends Outbox<Uint8Array> {
  /** The Web stream, made on first use (`stream`); never where the runtime drains the writer itself. */
  private readable: ReadableStream<Uint8Array> | undefined;
  /** Set by `start`: the stream's controller, or the runtime's own (node_http drains directly). */
  private controller: ByteSourceController | undefined;
  /** close() was called: the stream ends once the queue has been handed over. */
  private ending = false;
  private owner: { transportGone(): void } | undefined;
  /** The first queued write is a preamble that goes out alone (see writePreamble). */
  private preambleAlone = false;
  /** The preamble was handed over this turn: the next chunk waits for the next one. */
  private afterPreamble = false;
  private conn: ConnInfo | undefined;

  /** The writer as a Web stream (made once; it is its own underlying source: no closures). */
  get stream(): ReadableStream<Uint8Array> {
    return this.readable ??= new ReadableStream<Uint8Array>(this, BYTES_NO_BUFFER);
  }

  /**
   * The streamed response. Where the runtime writes a source to the socket itself (node_http) it
   * gets the writer, not a Web stream: no stream objects per connection, no promise per chunk.
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

  /**
   * The stream's first bytes (an SSE preamble), handed to the runtime as a chunk of their own
   * rather than joined with the first event: Centrifugo flushes them alone, and an `eventsource@2`
   * client drops an event that arrives in one chunk with the `\r\n` before it.
   */
  writePreamble(bytes: Uint8Array): void {
    if (this.first === undefined) this.preambleAlone = true;
    this.write(bytes, bytes.byteLength);
  }

  /** The turn after the preamble's: what queued meanwhile goes out (if the runtime wants it). */
  releasePreambleTurn(): void {
    this.afterPreamble = false;
    if (this.wanted && this.first !== undefined) this.handOver();
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

  /** End of the turn in which the waiting runtime got writes; not in the preamble's turn. */
  protected drain(): void {
    if (!this.afterPreamble) this.handOver();
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

function releaseAfterPreamble(writer: StreamWriter): void {
  writer.releasePreambleTurn();
}

/** Largest chunk made by joining queued writes (a single larger write goes over as it is). */
const MAX_CHUNK_BYTES = 65_536;

/**
 * Queue size counted in bytes, high-water mark 0: the limit is checked in `write`, not given to
 * the stream, because Bun sizes a response's native buffer by the high-water mark (1 MB of
 * `client_queue_max_size` tripled an idle connection's memory). One object shared by every stream.
 */
const BYTES_NO_BUFFER = new ByteLengthQueuingStrategy({ highWaterMark: 0 });
