/**
 * Keeps the README runnable: every fenced block carries a marker (test/helpers/readme.ts), every
 * `example:` is read by some test, `file:`/`run:` blocks sit in the plugin section that
 * test/plugins/readme_plugin_test.ts writes out and runs, and only what cannot run here (diagrams,
 * Apache, systemd, containers) is marked `not run`, with a reason.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { root } from "../helpers/process.ts";
import { readmeBlocks, readmeText } from "../helpers/readme.ts";

/** Every test source, to find which examples are read. */
function testSources(dir = join(root, "test")): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testSources(path);
    return /\.(ts|mjs)$/.test(name) && !path.endsWith(join("helpers", "readme.ts"))
      ? [readFileSync(path, "utf8")]
      : [];
  });
}

test("README: every block has a marker, every example is run by a test, only what cannot run is not run", () => {
  const blocks = readmeBlocks();
  assert(blocks.length >= 25, `found ${blocks.length} blocks`);
  const unmarked = blocks.filter((b) => b.marker === "");
  assertEquals(
    unmarked.map((b) => `README.md:${b.line} (${b.lang || "text"})`),
    [],
    "blocks without a marker",
  );

  const sources = testSources().join("\n");
  const examples = blocks.filter((b) => b.marker === "example").map((b) => b.value);
  assertEquals(new Set(examples).size, examples.length, "example names are unique");
  const unread = examples.filter((name) => !sources.includes(`readmeExample("${name}")`));
  assertEquals(unread, [], "examples no test reads");

  const text = readmeText();
  const plugins = [
    text.indexOf("## Write a plugin"),
    text.indexOf("\n## ", text.indexOf("## Write a plugin") + 1),
  ];
  const pluginLines = plugins.map((at) => text.slice(0, at).split("\n").length);
  for (const b of blocks.filter((b) => b.marker === "file" || b.marker === "run")) {
    assert(
      b.line > pluginLines[0] && b.line < pluginLines[1],
      `README.md:${b.line}: ${b.marker} outside "Write a plugin"`,
    );
  }
  for (const b of blocks.filter((b) => b.marker === "not run")) {
    assert(b.value.length > 10, `README.md:${b.line}: say why it is not run`);
    assert(
      !["sh", "js", "ts", "json", "nginx"].includes(b.lang),
      `README.md:${b.line}: a ${b.lang} block can run here`,
    );
  }
});
