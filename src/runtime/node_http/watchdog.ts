/**
 * @module
 * The accept watchdog of the node:http listener: Deno's node:http stops accepting for good once
 * accept has failed for lack of descriptors (no error is emitted), and only a probe can tell.
 */
import * as net from "node:net";
import type { Socket } from "node:net";

/** How often the watchdog looks, and how long without an accepted connection before it probes. */
const WATCHDOG_CHECK_MS = 1_000;
const WATCHDOG_QUIET_MS = 3_000;

/**
 * Notices a listener that no longer accepts: when nothing was accepted for a while, it connects
 * to the port itself; if that connection is not accepted either (twice in a row), `relisten`.
 * A busy server accepts all the time and is never probed; an idle one gets one probe every few
 * seconds (a connection that is closed at once).
 */
export class AcceptWatchdog {
  private readonly timer: ReturnType<typeof setInterval>;
  private probeSentAt = 0;
  private probe: Socket | undefined;
  private failures = 0;
  private relistening = false;

  constructor(
    private readonly port: number,
    hostname: string,
    private readonly lastAccept: () => number,
    private readonly relisten: () => Promise<void>,
  ) {
    const host = hostname === "0.0.0.0" || hostname === ""
      ? "127.0.0.1"
      : hostname === "::"
      ? "::1"
      : hostname;
    this.timer = setInterval(() => this.check(host), WATCHDOG_CHECK_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.probe?.destroy();
  }

  private check(host: string): void {
    if (this.relistening) return;
    const now = Date.now();
    if (this.probe !== undefined) {
      this.probe.destroy();
      this.probe = undefined;
      if (this.lastAccept() >= this.probeSentAt) this.failures = 0;
      else if (++this.failures >= 2) {
        this.failures = 0;
        this.relistening = true;
        this.relisten().finally(() => this.relistening = false);
        return;
      }
    }
    if (now - this.lastAccept() < WATCHDOG_QUIET_MS) return;
    this.probeSentAt = now;
    const probe = net.connect({ port: this.port, host });
    probe.on("error", () => {}); // refused or out of descriptors ourselves: not the listener's fault
    probe.on("close", () => {
      if (this.probe === probe && this.lastAccept() < this.probeSentAt) {
        // never connected (EMFILE here, refused): count it as accepted, do not judge the listener
        this.probeSentAt = 0;
      }
    });
    this.probe = probe;
  }
}
