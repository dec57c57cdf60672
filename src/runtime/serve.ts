/**
 * @module
 * Picks the runtime implementation lazily, so importing Sluice never loads the other runtime's code.
 */
import type { Runtime } from "./types.ts";

export type { ConnInfo, FetchHandler, Listener, ListenOptions, Runtime, SignalName } from "./types.ts";

let current: Promise<Runtime> | undefined;

/** Name of the runtime executing this code, without loading its adapter. */
export function detectRuntime(): "deno" | "bun" | "unsupported" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "unsupported";
}

export function getRuntime(): Promise<Runtime> {
  current ??= (async () => {
    switch (detectRuntime()) {
      case "deno":
        return (await import("./deno/runtime.ts")).denoRuntime;
      case "bun":
        return (await import("./bun/runtime.ts")).bunRuntime;
      default:
        throw new Error("Sluice runs on Deno or Bun; this runtime is not supported");
    }
  })();
  return current;
}

/**
 * Whether `Request.arrayBuffer()` of a body with a declared length costs only that length. On Bun
 * it reads into one buffer. Deno collects the chunks first, and each can be a view pinning a 64 KiB
 * buffer (a body sent a byte per packet would hold 64 KiB per byte), so there bodies are read
 * through a stream reader that copies (`http/request_body.ts`).
 */
export function bodiesBufferCompactly(): boolean {
  return detectRuntime() === "bun";
}
