/**
 * @module
 * A runtime-neutral test harness: the same suite runs on Deno and on Bun.
 *
 * Test files call `test(name, fn)`; the per-runtime entry (`test/run.ts`) imports every
 * file and calls `run()`. Each test gets a context with `cleanup(fn)`, run in reverse
 * order even when the test fails, so servers and sockets never leak into the next test.
 */

export interface TestContext {
  /** Registers work that must run after the test (servers, clients, sockets). */
  cleanup(fn: () => unknown): void;
  /** Aborted when the test times out. */
  signal: AbortSignal;
  /** Returns text to print when the test fails (server logs, say), for diagnosing CI failures. */
  onFailure(fn: () => string): void;
}

export interface TestOptions {
  timeout?: number;
  skip?: boolean | string;
}

interface TestCase {
  name: string;
  file: string;
  fn: (t: TestContext) => unknown;
  options: TestOptions;
}

const cases: TestCase[] = [];
let currentFile = "";

export function setCurrentFile(file: string): void {
  currentFile = file;
}

export function test(name: string, fn: (t: TestContext) => unknown, options: TestOptions = {}): void {
  cases.push({ name, fn, options, file: currentFile });
}

const finalizers: Array<() => unknown> = [];

/** Work to do once every test has run (shared servers a file started lazily). */
export function afterAll(fn: () => unknown): void {
  finalizers.push(fn);
}

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

export async function run(
  opts: { filters?: string[]; runtime: string; log?: (line: string) => void },
): Promise<RunSummary> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const summary: RunSummary = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const c of cases) {
    const full = `${c.file ? c.file + ": " : ""}${c.name}`;
    if (opts.filters?.length && !opts.filters.some((f) => full.includes(f))) continue;
    if (c.options.skip) {
      summary.skipped++;
      log(`skip ${full}${typeof c.options.skip === "string" ? ` (${c.options.skip})` : ""}`);
      continue;
    }
    const started = performance.now();
    const error = await runOne(c);
    const ms = Math.round(performance.now() - started);
    if (error === undefined) {
      summary.passed++;
      log(`ok   ${full} (${ms} ms)`);
    } else {
      summary.failed++;
      summary.failures.push(full);
      log(`FAIL ${full} (${ms} ms)\n${indent(formatError(error))}`);
    }
  }
  for (const fn of finalizers.splice(0).reverse()) {
    try {
      await withTimeout(Promise.resolve().then(fn), 10_000);
    } catch (err) {
      log(`afterAll failed: ${formatError(err)}`);
    }
  }
  return summary;
}

async function runOne(c: TestCase): Promise<unknown> {
  const cleanups: Array<() => unknown> = [];
  const diagnostics: Array<() => string> = [];
  const controller = new AbortController();
  const timeoutMs = c.options.timeout ?? 20_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: unknown;
  try {
    await Promise.race([
      Promise.resolve().then(() =>
        c.fn({
          cleanup: (fn) => cleanups.push(fn),
          signal: controller.signal,
          onFailure: (fn) => diagnostics.push(fn),
        })
      ),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new Error(`test timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } catch (err) {
    failure = err ?? new Error("test threw a nullish value");
  } finally {
    clearTimeout(timer);
  }
  if (failure !== undefined) {
    for (const fn of diagnostics) {
      try {
        console.log(fn());
      } catch {
        // diagnostics are best effort
      }
    }
  }
  for (const fn of cleanups.reverse()) {
    try {
      await withTimeout(Promise.resolve().then(fn), 5_000);
    } catch (err) {
      failure ??= err;
    }
  }
  return failure;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cleanup timed out after ${ms} ms`)), ms);
    }),
  ]);
}

function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

function indent(text: string): string {
  return text.split("\n").map((l) => "    " + l).join("\n");
}
