#!/usr/bin/env node
// `npm test`: runs the one runtime-neutral suite on Deno and on Bun (side by side), prefixes
// their output, and ends with the combined line `N passed, N failed, N skipped`.
// Usage: node test/run_all.mjs [filter...] [--only=deno|bun]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith("--only="))?.slice(7);
const filter = args.filter((a) => !a.startsWith("--"));

const runtimes = [
  { name: "deno", cmd: bin("deno"), args: ["run", "-A", "test/run.ts", ...filter] },
  { name: "bun", cmd: bin("bun"), args: ["test/run.ts", ...filter] },
].filter((r) => !only || r.name === only);

function runOne(r) {
  return new Promise((resolve) => {
    const child = spawn(r.cmd, r.args, { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    let summary = null;
    let pending = "";
    const onData = (chunk) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) {
        const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(line.trim());
        if (m) summary = { passed: +m[1], failed: +m[2], skipped: +(m[3] ?? 0) };
        process.stdout.write(`[${r.name}] ${line}\n`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => {
      if (pending) onData("\n");
      if (!summary) {
        process.stdout.write(`[${r.name}] exited with code ${code} before printing a summary\n`);
        summary = { passed: 0, failed: 1, skipped: 0 };
      }
      resolve(summary);
    });
  });
}

const results = await Promise.all(runtimes.map(runOne));
const total = results.reduce(
  (a, s) => ({ passed: a.passed + s.passed, failed: a.failed + s.failed, skipped: a.skipped + s.skipped }),
  { passed: 0, failed: 0, skipped: 0 },
);
runtimes.forEach((r, i) => {
  const s = results[i];
  console.log(`${r.name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
});
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
