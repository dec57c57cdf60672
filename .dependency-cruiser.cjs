/**
 * Import rules for Sluice (`npm run check:imports`, also run by `npm test`). The layers, bottom
 * up, are described in docs/ARCHITECTURE.md; a rule here is the check of a sentence there.
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import circles: a module's dependencies can be read without reading the module.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-below-the-edges",
      comment: "core/ knows nothing of plugins, runtimes, HTTP, transports, the server API or the server.",
      severity: "error",
      from: { path: "^src/core/" },
      to: {
        path:
          "^src/(plugins|plugin_api|runtime|http|transports|api)/|^src/(server|testing|public|cli|cli_tools)\\.ts$",
      },
    },
    {
      name: "http-is-below-the-endpoints",
      comment: "http/ (routing, Origin, bodies, answers) is what transports/ and api/ use; it is handed " +
        "their handlers by the server and imports none of them, nor plugins or the composition.",
      severity: "error",
      from: { path: "^src/http/" },
      to: {
        path: "^src/(transports|api|plugins|plugin_api)/|^src/(server|testing|workers|public|cli[^/]*)\\.ts$",
      },
    },
    {
      name: "api-and-transports-are-apart",
      comment: "The server API and the connection endpoints share only what lies below them (http/, " +
        "core/, auth/): Simple SSE's two sides meet in core/simple_sse_channel.ts and the server's wiring.",
      severity: "error",
      from: { path: "^src/api/" },
      to: { path: "^src/transports/" },
    },
    {
      name: "transports-and-api-are-apart",
      comment: "The other direction of api-and-transports-are-apart.",
      severity: "error",
      from: { path: "^src/transports/" },
      to: { path: "^src/api/" },
    },
    {
      name: "auth-is-below-core",
      comment: "Token checks do not depend on connections.",
      severity: "error",
      from: { path: "^src/auth/" },
      to: { path: "^src/(core|plugin_api|transports|api|runtime)/" },
    },
    {
      name: "wire-and-broker-are-at-the-bottom",
      comment: "Wire types and brokers sit below core: they import neither core nor anything above it.",
      severity: "error",
      from: { path: "^src/(wire|broker)/" },
      to: {
        path: "^src/(core|plugin_api|transports|api|auth)/|^src/(server|testing|public|cli|cli_tools)\\.ts$",
      },
    },
    {
      name: "src-does-not-import-shipped-plugins",
      comment: "Shipped plugins are handed to the loader (a registry), never imported from src/.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^plugins/" },
    },
    {
      name: "shipped-plugins-use-the-public-api",
      comment: 'A shipped plugin imports Sluice as an app team\'s plugin does: "sluice" (mod.ts).',
      severity: "error",
      from: { path: "^plugins/" },
      to: { path: "^src/", pathNot: "^src/public\\.ts$" },
    },
    {
      name: "only-runtime-names-the-platform",
      comment: "Deno and Bun are reached through src/runtime/ only (checked by grep in test/unit too): " +
        "from outside, only the contract (types.ts) and the runtime's choice (serve.ts); the adapters " +
        "(deno/, bun/, node_http/) and what they share stay inside.",
      severity: "error",
      from: { pathNot: "^src/runtime/" },
      to: { path: "^src/runtime/", pathNot: "^src/runtime/(types|serve)\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    tsPreCompilationDeps: true,
    // Resolves "sluice" (the public API, as plugins import it) through tsconfig.json's paths.
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: true,
  },
};
