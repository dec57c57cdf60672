/**
 * @module
 * Sluice's public API (`src/public.ts`, also importable as `"sluice"` from plugins). Importing
 * this module never starts a server; running it does (`deno run -A mod.ts`, `bun mod.ts`).
 *
 * Plugin authors need `definePlugin`, `ClientError`, `Disconnect` and, for tests,
 * `createTestServer`.
 */
export * from "./src/public.ts";

if (import.meta.main) {
  // No top-level await: a plugin that imports this module (by any path) while the CLI loads it
  // would wait for this module to finish evaluating, which would wait for the CLI: a deadlock.
  void (async () => {
    const { main } = await import("./src/cli.ts");
    const { getRuntime } = await import("./src/runtime/serve.ts");
    const { shippedPlugins } = await import("./plugins/mod.ts");
    const runtime = await getRuntime();
    runtime.exit(await main(runtime.args(), { shipped: shippedPlugins }));
  })();
}
