/**
 * @module
 * The outbox: one connection's bounded queue of outgoing messages, and the profile every
 * connection of a kind shares. Its writers hand the queue to the runtime: a streamed response body
 * (stream_writer.ts) or a WebSocket (websocket_writer.ts).
 *
 * Messages are kept as they were written — the very `Uint8Array` or string the hub made once for a
 * publication, shared by every subscriber, never copied per connection. 10k stalled subscribers of
 * one channel thus cost references to the same bytes, not 10k copies. Past `maxQueueBytes` (what
 * waits here plus what the runtime still holds for the writer), `write` returns false and the
 * client disconnects itself as slow (3008).
 *
 * While the writer is waiting for messages, the writes of one I/O turn go to it together at the
 * end of the turn (flush_queue.ts: the runtime's cost is per chunk or message handed over, not per
 * byte). No promise or microtask per message: this is the fan-out hot path.
 */
import type { ClientTransport, OutgoingMessage } from "../../core/connection.ts";
import { frame, type Framing, Shape, shapeOf } from "../../core/codec.ts";
import { protobufReplyFromJson } from "../../core/codec_protobuf.ts";
import { type Flushable, flushQueue } from "./flush_queue.ts";

export interface OutboxOptions {
  name: string;
  unidirectional: boolean;
  emulation: boolean;
  framing: Framing;
  /** Centrifugal's protobuf protocol: messages are varint-delimited protobuf replies. */
  protobuf?: boolean;
  /**
   * Messages are JSON text, one per message (a JSON WebSocket): the text goes from the encoder to
   * the socket as it is, never through bytes.
   */
  text?: boolean;
  /**
   * One server ping as `write` takes it. Without one, the ping is an empty reply `{}` in the
   * outbox's wire shape (bidirectional transports, uni_http_stream and uni_websocket).
   */
  ping?: Uint8Array;
  /** Bytes the queue (and the runtime's buffer behind it) may hold before `write` reports overflow. */
  maxQueueBytes: number;
  /** Events carry `id:` lines with stream positions (uni_sse). */
  eventIds?: boolean;
}

/**
 * One connection's outgoing queue, drained by its writer (`drain`). The oldest message is kept
 * apart from the rest (`first`): a connection that gets one message a turn never makes an array.
 */
export abstract class Outbox<M extends OutgoingMessage> implements ClientTransport, Flushable {
  /** What every outbox of this kind shares (see `OutboxProfile`). */
  protected readonly profile: OutboxProfile;
  /** The oldest message not handed over yet (kept as it is: shared, not copied). */
  protected first: M | undefined;
  /** The rest of the queue, oldest first, only when there is more than one message waiting. */
  protected more: M[] | undefined;
  /** Bytes of the queued messages, as their writers counted them. */
  protected queuedBytes = 0;
  /** The writer takes messages now: what a turn writes is drained at the end of the turn. */
  protected wanted = false;
  /** No more writes: closed, aborted, or the other side went away. */
  protected closed = false;
  private flushScheduled = false;

  constructor(opts: OutboxOptions) {
    this.profile = OutboxProfile.of(opts);
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
  get text(): boolean {
    return this.profile.text;
  }
  get ping(): OutgoingMessage {
    return this.profile.ping;
  }
  get eventIds(): boolean {
    return this.profile.eventIds;
  }

  /** True once the writer closed or aborted, or the other side went away. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues `message` (`size` bytes); false once the queue is over its limit. */
  write(message: M, size: number): boolean {
    if (this.closed) return true;
    if (this.first === undefined) this.first = message;
    else (this.more ??= []).push(message);
    this.queuedBytes += size;
    if (this.wanted && !this.flushScheduled) {
      this.flushScheduled = true;
      flushQueue.add(this);
    }
    return this.queuedBytes + this.heldByRuntime() <= this.profile.maxQueueBytes;
  }

  /** End of the turn in which the waiting writer got messages (flush_queue.ts calls it). */
  flush(): void {
    this.flushScheduled = false;
    if (this.wanted) this.drain(); // after an abort or a gone reader the queue is empty
  }

  abstract close(code?: number, reason?: string): void;
  abstract abort(): void;

  /** Hands the queue (or as much of it as the writer takes at once) to the runtime. */
  protected abstract drain(): void;

  /** Bytes already handed to the runtime and not yet on the network, counted against the limit. */
  protected heldByRuntime(): number {
    return 0;
  }

  /** Forgets the queued messages (the connection is ending without them). */
  protected dropQueue(): void {
    this.first = undefined;
    this.more = undefined;
    this.queuedBytes = 0;
  }
}

/**
 * The options of an outbox, made once per distinct set and shared by every outbox made with it:
 * ten fields fewer on each connection (~100 bytes on Bun; idle connections hold their outbox), and
 * the ping made once per kind, not per connection.
 */
class OutboxProfile {
  /** One per distinct option set: a handful (transport kinds × configs), searched in order. */
  private static readonly made: OutboxProfile[] = [];

  static of(opts: OutboxOptions): OutboxProfile {
    // An outbox is made per connection: compared field by field, no key built per call.
    for (const profile of OutboxProfile.made) if (profile.fits(opts)) return profile;
    const profile = new OutboxProfile(opts);
    OutboxProfile.made.push(profile);
    return profile;
  }

  readonly name: string;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  readonly protobuf: boolean;
  readonly text: boolean;
  readonly ping: OutgoingMessage;
  readonly eventIds: boolean;
  readonly maxQueueBytes: number;
  /** The ping given in the options, if one was (else `ping` is the empty reply). */
  private readonly givenPing: Uint8Array | undefined;

  private constructor(opts: OutboxOptions) {
    this.name = opts.name;
    this.unidirectional = opts.unidirectional;
    this.emulation = opts.emulation;
    this.framing = opts.framing;
    this.protobuf = opts.protobuf === true;
    this.text = opts.text === true;
    this.shape = this.protobuf ? Shape.BidiProtobuf : shapeOf(opts.unidirectional, opts.framing);
    this.givenPing = opts.ping;
    this.ping = opts.ping ??
      (this.text ? "{}" : this.protobuf ? protobufReplyFromJson("{}") : frame("{}", this.framing));
    this.eventIds = opts.eventIds ?? false;
    this.maxQueueBytes = opts.maxQueueBytes;
  }

  /** Whether an outbox with `opts` behaves as this profile says (a given ping compared by content). */
  private fits(opts: OutboxOptions): boolean {
    return this.name === opts.name && this.unidirectional === opts.unidirectional &&
      this.emulation === opts.emulation && this.framing === opts.framing &&
      this.protobuf === (opts.protobuf === true) && this.text === (opts.text === true) &&
      this.eventIds === (opts.eventIds ?? false) && this.maxQueueBytes === opts.maxQueueBytes &&
      sameBytes(this.givenPing, opts.ping);
  }
}

/** Equal contents, or both absent (transports share one ping per kind: usually the same object). */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
