/**
 * The single executable (`bun build --compile mod.ts`), built once per suite run on first use,
 * into a folder of its own (both runtimes run the suite at the same time) removed at exit.
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { root, spawnGroup } from "./process.ts";

let built: Promise<string> | undefined;

/** The path of the compiled binary, built on first use. */
export function binary(): Promise<string> {
  return built ??= build();
}

async function build(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bin-")); // random suffix: one per runtime and run
  removeAtExit(dir);
  const out = join(dir, "sluice");
  const bun = join(root, "node_modules", ".bin", "bun");
  const p = spawnGroup(bun, ["build", "--compile", "mod.ts", "--outfile", out]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`bun build --compile exited with ${code}:\n${p.output()}`);
  return out;
}

/** The binary is ~100 MB: remove it when the suite's process ends, whichever runtime runs it. */
function removeAtExit(dir: string): void {
  const remove = () => rmSync(dir, { recursive: true, force: true });
  // One runtime's exit fires the process "exit" event, the other's the global "unload" event.
  process.on("exit", remove);
  globalThis.addEventListener?.("unload", remove);
}
