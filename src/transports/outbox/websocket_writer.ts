/**
 * @module
 * The outbox's writer for a WebSocket: what one I/O turn queued goes to the socket at the end of
 * the turn. The connection around it (upgrade, received messages, the stale check, close codes)
 * is websocket.ts.
 */
import type { OutgoingMessage } from "../../core/connection.ts";
import type { ServerWebSocket } from "../../runtime/types.ts";
import { joinBytes } from "../../bytes.ts";
import { Outbox } from "./outbox.ts";

/**
 * A WebSocket's outgoing side. A turn's messages go out as Centrifugo's writer sends them:
 * bidirectional JSON as one text message, the messages joined by "\n" (the SDK splits it; no
 * newline after the last); protobuf as one binary message of varint-delimited replies;
 * unidirectional JSON one message per push, corked together (`sendTexts`), so a plain client
 * parses each message as one JSON value. A lone message is handed over as it is.
 *
 * JSON messages are queued as text (`OutboxOptions.text`): the push text the hub made once for a
 * publication reaches every socket as the same string, and nothing is encoded or decoded here.
 * What the runtime has not sent yet (`bufferedAmount`) counts against the queue limit.
 */
export abstract class WebSocketWriter extends Outbox<OutgoingMessage> {
  protected socket: ServerWebSocket | undefined;

  /** The socket is open: what queued before goes out now, each later turn's writes at its end. */
  protected attachSocket(socket: ServerWebSocket): void {
    this.socket = socket;
    this.wanted = true;
    this.drain();
  }

  /** No more writes; what queued goes out first (a close frame may follow it). */
  protected endWrites(): void {
    if (this.wanted) this.drain();
    this.stopWrites();
  }

  /** No more writes, and what queued is dropped (a slow consumer, or the socket is gone). */
  protected stopWrites(): void {
    this.closed = true;
    this.wanted = false;
    this.dropQueue();
  }

  protected override heldByRuntime(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  protected drain(): void {
    const first = this.first;
    if (first === undefined) return;
    const socket = this.socket!; // wanted: attached
    const more = this.more;
    this.dropQueue();
    if (more === undefined) {
      if (typeof first === "string") socket.sendText(first);
      else socket.sendBinary(first);
      return;
    }
    more.unshift(first);
    if (this.profile.protobuf) socket.sendBinary(joinAll(more as Uint8Array[]));
    else if (this.profile.unidirectional) socket.sendTexts(more as string[]);
    else socket.sendText((more as string[]).join("\n"));
  }
}

/** Varint-delimited replies one after another: a turn's worth as one binary message. */
function joinAll(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  return joinBytes(parts, size);
}
