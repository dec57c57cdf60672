/**
 * Per-runtime test entry: `deno run -A test/run.ts [filter...]` or `bun test/run.ts [filter...]`
 * (a test runs when its file or name contains any filter).
 * Imports every `*_test.ts` under test/, runs them, and prints `N passed, N failed, N skipped`.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { run, setCurrentFile } from "./harness.ts";
import { getRuntime } from "../src/runtime/serve.ts";

const root = fileURLToPath(new URL(".", import.meta.url).href);
const runtime = await getRuntime();
const filters = runtime.args().filter((a) => !a.startsWith("-"));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

for (const file of findTests(root)) {
  setCurrentFile(relative(root, file));
  await import(file);
}

const summary = await run({ filters, runtime: runtime.name });
if (summary.failures.length > 0) {
  console.log(`\nFailed on ${runtime.name}:`);
  for (const f of summary.failures) console.log(`  - ${f}`);
}
console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
runtime.exit(summary.failed > 0 ? 1 : 0);
