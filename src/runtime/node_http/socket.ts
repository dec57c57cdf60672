/**
 * @module
 * The `ServerWebSocket` Sluice drives, over the `ws` package's socket.
 */
import type { WebSocket } from "ws";
import type { ServerWebSocket } from "../types.ts";

/** `readyState` of an open socket. */
const OPEN = 1;

/** Writes only while open (a frame to a closing socket is dropped); a close that cannot throw. */
export class WsSocket implements ServerWebSocket {
  constructor(private readonly socket: WebSocket) {}
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
    this.socket.terminate();
  }
}
