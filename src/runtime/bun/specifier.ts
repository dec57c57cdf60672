/// <reference types="bun-types" />
/**
 * @module
 * Bun: makes a bare specifier (`"sluice"`) resolve, in files loaded from disk later, to a module
 * Sluice already holds in memory — also in the compiled binary, where no Sluice source exists on
 * disk. Bun's runtime plugins cannot answer a bare specifier in `onResolve` (the hook never fires
 * for one: oven-sh/bun#40579), but `onLoad` fires for every file loaded from disk and a namespaced
 * specifier reaches a namespaced `onLoad`. So each source file outside `node_modules` has its
 * `from "sluice"` / `import("sluice")` rewritten to `sluice-module:sluice`, whose exports are the
 * in-memory module's. When Bun answers bare specifiers, this shrinks to one `onResolve`.
 */
import { bun } from "./namespace.ts";

const NAMESPACE = "sluice-module";
const LOADERS: Record<string, Bun.Loader> = {
  ts: "ts",
  mts: "ts",
  cts: "ts",
  tsx: "tsx",
  js: "js",
  mjs: "js",
  cjs: "js",
  jsx: "jsx",
};
/** Source files an app team writes (packages in node_modules never import Sluice's API). */
const SOURCE_FILES = /^(?!.*[\\/]node_modules[\\/]).*\.(?:[cm]?[jt]s|[jt]sx)$/;

const modules = new Map<string, () => Promise<object>>();
let registered = false;

export function exposeBunModule(specifier: string, load: () => Promise<object>): string | undefined {
  if (!/^[a-z][a-z0-9_-]*$/.test(specifier)) return `"${specifier}" is not a plain package name`;
  modules.set(specifier, load);
  if (registered) return undefined;
  registered = true;
  bun.plugin({
    name: "sluice-module-specifier",
    setup(build) {
      build.onLoad({ filter: SOURCE_FILES }, async (args) => {
        const text: string = await bun.file(args.path).text();
        const ext = args.path.slice(args.path.lastIndexOf(".") + 1);
        return { contents: rewriteSpecifiers(text), loader: LOADERS[ext] ?? "js" };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        const load = modules.get(args.path);
        if (!load) throw new Error(`no module "${args.path}"`);
        return { exports: { ...(await load()) }, loader: "object" };
      });
    },
  });
  return undefined;
}

/** `from "x"`, `import "x"` and `import("x")` for each exposed `x`, as namespaced specifiers. */
function rewriteSpecifiers(text: string): string {
  for (const specifier of modules.keys()) {
    if (!text.includes(specifier)) continue;
    const pattern = new RegExp(String.raw`(\bfrom\s*|\bimport\s*\(?\s*)(["'])${specifier}\2`, "g");
    text = text.replace(pattern, `$1$2${NAMESPACE}:${specifier}$2`);
  }
  return text;
}
