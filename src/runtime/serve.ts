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
        return (await import("./deno.ts")).denoRuntime;
      case "bun":
        return (await import("./bun.ts")).bunRuntime;
      default:
        throw new Error("Sluice runs on Deno or Bun; this runtime is not supported");
    }
  })();
  return current;
}
