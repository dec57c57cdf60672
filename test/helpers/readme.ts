/**
 * The README's fenced blocks with the marker above each one, so tests run the examples as written:
 *
 *   <!-- example: NAME -->     run (or compared) by a test that calls readmeExample("NAME")
 *   <!-- file: PATH -->        written to PATH by test/plugins/readme_plugin_test.ts
 *   <!-- run: DIR -->          the command run there by the same test
 *   <!-- not run: REASON -->   a diagram, or a recipe for a machine this one is not (said in the README)
 *
 * test/cli/readme_coverage_test.ts fails on a block without a marker and on an example no test reads.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./process.ts";

export interface ReadmeBlock {
  /** "" when the block has no marker. */
  marker: "" | "example" | "file" | "run" | "not run";
  /** The example's name, the file's path, the run's folder, or the reason it is not run. */
  value: string;
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function readmeText(): string {
  return readFileSync(join(root, "README.md"), "utf8");
}

export function readmeBlocks(text = readmeText()): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const fence = /(?:<!-- (example|file|run|not run): ([^\n]+?) -->\n\n)?^```([\w-]*)\n([\s\S]*?)\n```$/gm;
  for (const m of text.matchAll(fence)) {
    const [, marker = "", value = "", lang, body] = m;
    const line = text.slice(0, m.index! + m[0].indexOf("```")).split("\n").length;
    blocks.push({ marker: marker as ReadmeBlock["marker"], value, lang, body, line });
  }
  return blocks;
}

/** The block marked `<!-- example: NAME -->`; throws when there is none. */
export function readmeExample(name: string): ReadmeBlock {
  const block = readmeBlocks().find((b) => b.marker === "example" && b.value === name);
  if (!block) throw new Error(`README has no block marked <!-- example: ${name} -->`);
  return block;
}

/** The commands of a shell block: one per line, comments and blank lines dropped. */
export function shellLines(block: ReadmeBlock): string[] {
  return block.body.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) =>
    l && !l.startsWith("#")
  );
}
