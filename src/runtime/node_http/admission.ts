/**
 * @module
 * Which connections the node:http listeners admit, and when they must listen again.
 *
 * Deno's node:http (2.9) stops accepting for good once accept() has failed for lack of descriptors:
 * the error is dropped natively and no event reaches JavaScript (`bench/repro/node_http_emfile.mjs`;
 * Node and Bun accept again). Accept can fail that way only while the process has no descriptor
 * left, and under a cap kept below the limit that happens only while connections keep arriving
 * beyond the cap (each is accepted, then closed here, faster than the closes complete). Such an
 * arrival is the one sign this process can see, so after it, once the connections are back under the
 * cap and every refused socket is closed (descriptors are free again), every listener listens again
 * on a new socket: event-driven, no probe and no timer.
 *
 * The count is the process's because descriptors are: the main, internal and control listeners
 * share one cap, computed once from the limit at the first listen, before any client is connected.
 */
import type { Socket } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import type { ListenerLog } from "../types.ts";

/** Descriptors kept free beyond those open at startup (files, Redis, a plugin's own sockets). */
const DESCRIPTOR_RESERVE = 32;

/**
 * How many client connections fit under the soft limit on open files, counting the descriptors this
 * process holds now (Linux `/proc`); undefined where unreadable.
 */
export function connectionRoom(): { room: number; limit: number } | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (!m) return undefined;
    const limit = Number(m[1]);
    const open = readdirSync("/proc/self/fd").length;
    return { room: Math.max(1, limit - open - DESCRIPTOR_RESERVE), limit };
  } catch {
    return undefined;
  }
}

/** A listener that can listen again on a new socket. */
export interface Relistener {
  relisten(): void;
}

export class Admission {
  /** Admitted connections not yet closed. */
  private held = 0;
  /** Refused connections (destroyed on arrival) whose descriptor may still be open. */
  private refusing = 0;
  /** A connection arrived beyond the cap since the last listen: the listeners may have stalled. */
  private saturated = false;
  private readonly listeners = new Set<Relistener>();

  constructor(
    /** Undefined where the limit is unknown: every connection is admitted. */
    readonly cap: number | undefined,
    private readonly limit: number | undefined,
    private readonly log?: ListenerLog,
  ) {}

  add(listener: Relistener): void {
    this.listeners.add(listener);
  }

  delete(listener: Relistener): void {
    this.listeners.delete(listener);
  }

  /** For a server's 'connection' event: false for a socket beyond the cap (destroy it). */
  admit(socket: Socket): boolean {
    if (this.cap !== undefined && this.held >= this.cap) {
      this.refusing++;
      socket.on("close", this.refusedClosed);
      if (!this.saturated) {
        this.saturated = true;
        this.log?.warn("connection limit reached; refusing connections until some close", {
          connections: this.held,
          nofile: this.limit,
        });
      }
      return false;
    }
    this.held++;
    socket.on("close", this.admittedClosed);
    return true;
  }

  /** A listen that failed: the next close tries again. */
  retry(): void {
    this.saturated = true;
  }

  // One function each for every socket: a connection keeps no closure of its own.
  private readonly admittedClosed = (): void => {
    this.held--;
    this.check();
  };
  private readonly refusedClosed = (): void => {
    this.refusing--;
    this.check();
  };

  private check(): void {
    if (!this.saturated || this.refusing > 0 || this.held >= (this.cap ?? Infinity)) return;
    this.saturated = false;
    for (const listener of this.listeners) listener.relisten();
  }
}

let shared: Admission | undefined;

/** The process's admission, made at the first listen (when the descriptors open are the process's own). */
export function processAdmission(log?: ListenerLog): Admission {
  if (shared === undefined) {
    const room = connectionRoom();
    shared = new Admission(room?.room, room?.limit, log);
  }
  return shared;
}
