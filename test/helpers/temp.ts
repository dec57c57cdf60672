/**
 * Folders the suite writes (configs, app folders, plugin files, the compiled binary): each one
 * inside a single folder per suite run, removed when the run ends — after the last test, or at
 * the process's exit if the run is cut short. Nothing is left in the OS temp directory.
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll } from "../harness.ts";

let runDir: string | undefined;

/** A fresh, empty folder named `prefix` + a random suffix, removed with the run's folder. */
export function tempDir(prefix = "dir-"): string {
  runDir ??= makeRunDir();
  return mkdtempSync(join(runDir, prefix));
}

function makeRunDir(): string {
  // A random suffix: both runtimes run the suite at the same time.
  const dir = mkdtempSync(join(tmpdir(), "sluice-test-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  afterAll(remove);
  // One runtime's exit fires the process "exit" event, the other's the global "unload" event.
  process.on("exit", remove);
  globalThis.addEventListener?.("unload", remove);
  return dir;
}
