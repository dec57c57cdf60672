/**
 * @module
 * What the pieces of a connection work against: the transport below it (`ClientTransport`), the
 * request that opened it, a command's outcome, and `Connection` — what the connect step, the
 * commands and the channel bookkeeping need of a connection (identity, node, context, writing,
 * disconnecting). `Client` implements it; `client_connect.ts`, `client_commands.ts` and
 * `client_channels.ts` import this module, never `client.ts`.
 */
import type { Framing, PreparedPush, Shape } from "./codec.ts";
import type { Node, NodeClient } from "./node.ts";
import type { ClientInfo, Raw } from "../wire/protocol.ts";
import type { Logger } from "../log.ts";
import type { ClientContext } from "./hooks.ts";
import type { Actor } from "./permissions.ts";
import type { SubscribeHost, Subscription } from "./subscription.ts";

/**
 * A message as a transport queues it: framed bytes (streams, protobuf), or the JSON text of one
 * message on a text transport (a JSON WebSocket), which frames messages itself.
 */
export type OutgoingMessage = Uint8Array | string;

/** The downstream half of a connection, implemented by each transport. */
export interface ClientTransport {
  /** Transport name as Centrifugo reports it: "sse", "http_stream", "uni_sse", … */
  readonly name: string;
  readonly unidirectional: boolean;
  /** Commands arrive through `/emulation` (bidirectional SSE and HTTP streaming). */
  readonly emulation: boolean;
  readonly framing: Framing;
  readonly shape: Shape;
  /** Centrifugal's protobuf protocol instead of JSON (WebSocket with `centrifuge-protobuf`). */
  readonly protobuf?: boolean;
  /**
   * Messages are JSON text (`string`), not framed bytes: a JSON WebSocket, which frames each
   * message itself. `framing` and `shape` then only tell the envelope.
   */
  readonly text: boolean;
  /** One server ping on this transport, as `write` takes it (made once per kind, shared). */
  readonly ping: OutgoingMessage;
  /** Events carry `id:` lines with stream positions (uni_sse, for `Last-Event-ID` resume). */
  readonly eventIds?: boolean;
  readonly isClosed: boolean;
  /**
   * Queues one message — text on a text transport, bytes otherwise — of `size` bytes (its
   * `byteLength`, or a text's UTF-8 length); returns false when the queue went over its byte limit.
   */
  write(message: OutgoingMessage, size: number): boolean;
  /** Ends the response once queued bytes are out (a WebSocket sends a close frame with the code). */
  close(code?: number, reason?: string): void;
  /** The close itself tells the client why (a WebSocket close frame): no disconnect push first. */
  readonly disconnectInClose?: boolean;
  /** Drops queued bytes and cuts the response (slow consumers). */
  abort(): void;
}

export interface ClientRequestInfo {
  headers: Headers;
  /** The runtime's connection (its remote address is looked up only when a hook asks). */
  conn?: { readonly remoteAddr?: string };
  /** `Last-Event-ID` of a reconnecting EventSource (uni_sse only). */
  lastEventId?: string | null;
}

/** A handler's answer: the result JSON, and work to do right after the reply is written. */
export interface Outcome {
  result: string;
  after?: () => void;
}

/**
 * The emulated headers of a connection whose connect request had none (nearly all): one frozen
 * object shared by them, instead of an empty object kept per connection.
 */
export const NO_EMULATED_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The request headers of a connection once nothing can read them any more (no hook sees connected
 * clients): one shared empty object instead of the request's headers kept per connection.
 */
export const NO_REQUEST_HEADERS: Headers = new Headers();

/** Thrown when the connection or subscription went away while a command awaited; answered with nothing. */
export class Gone extends Error {}

export type ConnectionState = "connecting" | "connected" | "closed";

export interface Connection extends NodeClient, Actor, SubscribeHost {
  readonly id: string;
  readonly node: Node;
  readonly transport: ClientTransport;
  /**
   * Headers of the request that opened the connection, for hooks: `NO_REQUEST_HEADERS` once
   * connected when no hook can see the connection any more (`Node.keepsRequestHeaders`).
   */
  readonly requestHeaders: Headers;
  /** The runtime's connection (its remote address is looked up only when a hook asks). */
  readonly conn?: { readonly remoteAddr?: string };
  readonly log: Logger;
  /** A debug line that costs nothing (not even `log`) while debug is off. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  state: ConnectionState;
  session: string;
  user: string;
  /** Connection info, JSON text. */
  connInfo?: Raw;
  /** Private metadata, JSON text. */
  meta?: Raw;
  /** Unix seconds; 0 = never expires. */
  expireAt: number;
  clientName: string;
  clientVersion: string;
  /** "Emulated" headers from the connect request (SDK `headers` option). */
  emulatedHeaders: Readonly<Record<string, string>>;
  /** The connection as plugin hooks see it. */
  context(): ClientContext;
  /** Client info for publications, presence and join/leave (with the subscription's channel info). */
  infoFor(sub?: Subscription): ClientInfo;
  /** Writes a push body, wrapped in `{"push":…}` on bidirectional transports. */
  writePush(body: string): void;
  /** Writes a push prepared once for all its receivers, in this transport's form. */
  writePrepared(push: PreparedPush): void;
  writeBytes(bytes: Uint8Array): void;
  /** Right after the connect reply or push: subscriptions go live, timers start, plugins hear of it. */
  connected(): void;
  /** A refreshed connection: new expiry (Unix seconds, 0 = never) and, maybe, new info. */
  extendExpiry(expireAt: number, info?: Raw): void;
}
