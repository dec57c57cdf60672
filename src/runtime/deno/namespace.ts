/**
 * @module
 * Deno's namespace, typed by Deno's own declarations (at run time it is read only by Deno's
 * adapter, which runs only on Deno).
 */

export const deno = (globalThis as { Deno?: typeof Deno }).Deno!;
