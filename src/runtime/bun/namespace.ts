/// <reference types="bun-types" />
/**
 * @module
 * Bun's namespace, typed with `bun-types` (the type checker sees Bun's API under any runtime; at
 * run time it is read only by Bun's adapter, which runs only on Bun).
 */

export const bun = (globalThis as { Bun?: typeof Bun }).Bun!;
