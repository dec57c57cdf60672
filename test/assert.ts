/**
 * @module
 * Small assertion helpers, so the suite needs no runtime-specific assertion library.
 */

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  if (deepEqual(actual, expected)) {
    throw new AssertionError(`${message ? message + ": " : ""}expected a value other than ${show(expected)}`);
  }
}

/** Asserts that `actual` contains every key of `expected` with an equal value (recursively). */
export function assertMatch(actual: unknown, expected: Record<string, unknown>, message?: string): void {
  if (!isSubset(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(actual)} to contain ${show(expected)}`,
    );
  }
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  check?: (err: unknown) => boolean | void,
  message?: string,
): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    if (check && check(err) === false) {
      throw new AssertionError(`${message ? message + ": " : ""}unexpected rejection ${show(err)}`);
    }
    return err;
  }
  throw new AssertionError(`${message ? message + ": " : ""}expected a rejection`);
}

export function assertThrows(
  fn: () => unknown,
  check?: (err: unknown) => boolean | void,
  message?: string,
): unknown {
  try {
    fn();
  } catch (err) {
    if (check && check(err) === false) {
      throw new AssertionError(`${message ? message + ": " : ""}unexpected error ${show(err)}`);
    }
    return err;
  }
  throw new AssertionError(`${message ? message + ": " : ""}expected an error`);
}

function isSubset(actual: unknown, expected: unknown): boolean {
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected as Record<string, unknown>).every(([k, v]) =>
      isSubset((actual as Record<string, unknown>)[k], v)
    );
  }
  return deepEqual(actual, expected);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 600 ? s.slice(0, 600) + "…" : s;
  } catch {
    return String(v);
  }
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new AssertionError(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
