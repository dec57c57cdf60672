/**
 * The structure rules hold: no import circles and the layer rules of `.dependency-cruiser.cjs`
 * (checked by dependency-cruiser over `mod.ts`, `src/` and `plugins/`), and only `src/runtime/`
 * names the platform (`Deno.` / `Bun.`).
 */
import { test } from "./harness.ts";
import { assert, assertEquals } from "./assert.ts";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { root, spawnGroup } from "./helpers/process.ts";

test(
  "imports: no circles, core below http and the endpoints, http below transports and api (which stay apart), shipped plugins use the public API",
  async () => {
    const p = spawnGroup(join(root, "node_modules", ".bin", "depcruise"), [
      "--output-type",
      "err",
      "mod.ts",
      "src",
      "plugins",
    ]);
    const code = await p.exited;
    assertEquals(code, 0, p.output());
    assert(/no dependency violations found \(\d+ modules/.test(p.output()), p.output());
  },
  { timeout: 60_000 },
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

test("only src/runtime/ names Deno or Bun", () => {
  const offenders = [...sourceFiles(join(root, "src")), ...sourceFiles(join(root, "plugins"))]
    .filter((f) => !relative(root, f).startsWith("src/runtime/"))
    .filter((f) =>
      /\b(Deno|Bun)\.[a-zA-Z]/.test(readFileSync(f, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ""))
    );
  assertEquals(offenders.map((f) => relative(root, f)), []);
});
