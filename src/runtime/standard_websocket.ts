/**
 * @module
 * The `ServerWebSocket` Sluice drives, over a standard WebSocket object: Deno's own (`Deno.serve`)
 * and the `ws` package's (node_http) have the same shape for what Sluice uses.
 */
import type { ServerWebSocket } from "./types.ts";

/** What Sluice uses of a WebSocket: both runtimes' objects send bytes as binary frames. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** The `ws` package's: the connection ends without a close frame (Deno's own socket has none). */
  terminate?(): void;
}

/** `readyState` of an open socket, in both the WHATWG and the `ws` API. */
const OPEN = 1;

/** Writes only while open (a frame to a closing socket is dropped); a close that cannot throw. */
export class StandardWebSocket implements ServerWebSocket {
  constructor(private readonly socket: WebSocketLike) {}
  sendText(text: string): void {
    if (this.socket.readyState === OPEN) this.socket.send(text);
  }
  sendTexts(texts: readonly string[]): void {
    for (const t of texts) this.sendText(t);
  }
  sendBinary(bytes: Uint8Array): void {
    if (this.socket.readyState === OPEN) this.socket.send(bytes);
  }
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
  close(code: number, reason: string): void {
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }
  terminate(): void {
    if (this.socket.terminate) this.socket.terminate();
    else this.close(1011, ""); // Deno.serve's socket cannot drop without a frame: an error close
  }
}
