/**
 * The single executable (`bun build --compile mod.ts`), built once per suite run on first use,
 * into the run's own temporary folder (both runtimes run the suite at the same time).
 */
import { join } from "node:path";
import { root, spawnGroup } from "./process.ts";
import { tempDir } from "./temp.ts";

let built: Promise<string> | undefined;

/** The path of the compiled binary, built on first use. */
export function binary(): Promise<string> {
  return built ??= build();
}

async function build(): Promise<string> {
  const out = join(tempDir("bin-"), "sluice");
  const bun = join(root, "node_modules", ".bin", "bun");
  const p = spawnGroup(bun, ["build", "--compile", "mod.ts", "--outfile", out]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`bun build --compile exited with ${code}:\n${p.output()}`);
  return out;
}
