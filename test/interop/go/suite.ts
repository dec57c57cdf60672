/**
 * The Go suite: centrifuge-go (the official Go SDK, pinned in go.mod) over its JSON and protobuf
 * protocols, as `go test` tests in this folder (a module of its own). Needs Go ≥ 1.25 on PATH;
 * modules come from the Go proxy into the usual module cache.
 *
 * Results: one per protocol subtest (`TestRecovery/json`), or per test for the few without
 * protocol subtests; deeper subtests are folded into theirs. Skipped tests (not selected by the
 * filters) are left out.
 */
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { Suite, SuiteResult } from "../suite.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** A whole run is bounded: `go test` stops itself first (-timeout), this is the backstop. */
const GO_TIMEOUT = "150s";
const KILL_AFTER_MS = 200_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  killAfterMs = KILL_AFTER_MS,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: here, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Uint8Array) => (stdout += new TextDecoder().decode(d)));
    child.stderr.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line of `go test -json` (test2json). */
interface TestEvent {
  Action: string;
  Test?: string;
  Output?: string;
}

interface Entry {
  /** The test's own last action: run, pass, fail, skip. */
  action: string;
  output: string;
}

/** The name a test's result is reported under: its first two levels (`TestX/json`). */
function resultKey(name: string): string {
  return name.split("/").slice(0, 2).join("/");
}

/** Reads `go test -json` output into one result per reported test (see the module comment). */
export function parseGoTestJson(stdout: string, exitCode: number | null, stderr: string): SuiteResult[] {
  const tests = new Map<string, Entry>();
  let packageOutput = "";
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) {
      if (line.trim()) packageOutput += line + "\n";
      continue;
    }
    let ev: TestEvent;
    try {
      ev = JSON.parse(line) as TestEvent;
    } catch {
      packageOutput += line + "\n";
      continue;
    }
    if (!ev.Test) {
      if (ev.Action === "output" && ev.Output) packageOutput += ev.Output;
      continue;
    }
    const entry = tests.get(ev.Test) ?? { action: "run", output: "" };
    if (ev.Action === "output") entry.output += ev.Output ?? "";
    else if (["run", "pass", "fail", "skip"].includes(ev.Action)) entry.action = ev.Action;
    tests.set(ev.Test, entry);
  }

  // Group every test under its result key; a test that never finished (a crash, the -timeout
  // panic) counts as failed.
  const groups = new Map<string, { failed: boolean; skipped: boolean; output: string }>();
  for (const [name, entry] of tests) {
    const key = resultKey(name);
    const g = groups.get(key) ?? { failed: false, skipped: false, output: "" };
    if (entry.action === "fail" || entry.action === "run") g.failed = true;
    if (name === key && entry.action === "skip") g.skipped = true;
    g.output += entry.output;
    groups.set(key, g);
  }

  const results: SuiteResult[] = [];
  const tops = [...groups.keys()].filter((k) => !k.includes("/"));
  for (const top of tops) {
    const own = groups.get(top)!;
    const children = [...groups.entries()].filter(([k, g]) => k.startsWith(top + "/") && !g.skipped);
    for (const [name, g] of children) {
      results.push({ name, ok: !g.failed, output: g.failed ? g.output.trimEnd() : undefined });
    }
    if (own.skipped) continue;
    // The test itself is a result when it has no subtests of its own, or when it failed outside
    // them (its subtests all passed).
    if (children.length === 0 || (own.failed && children.every(([, g]) => !g.failed))) {
      results.push({ name: top, ok: !own.failed, output: own.failed ? own.output.trimEnd() : undefined });
    }
  }

  // The package failed without a failing test to show for it (build error, panic outside a test,
  // TestMain's exit): that is a failure too, with what go printed.
  if (exitCode !== 0 && !results.some((r) => !r.ok)) {
    results.push({
      name: "go test",
      ok: false,
      output: `exit code ${exitCode}\n${packageOutput}${stderr}`.trimEnd().slice(-4000),
    });
  }
  return results;
}

export const suite: Suite = {
  name: "go",

  async prepare() {
    try {
      await run("go", ["version"]);
    } catch {
      throw new Error(
        "go not found on PATH: install Go 1.25 or newer (https://go.dev/dl/) for the go interop suite",
      );
    }
    // Modules from the proxy (go.sum pins them), then a compile, so run() does not spend its
    // targets' time building and a compile error shows here once.
    for (const args of [["mod", "download"], ["vet", "."]]) {
      const r = await run("go", args);
      if (r.code !== 0) {
        throw new Error(
          `go ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().split("\n").join(" | ")}`,
        );
      }
    }
  },

  async run(env, filters) {
    const r = await run("go", ["test", "-json", "-count=1", "-parallel=8", `-timeout=${GO_TIMEOUT}`, "."], {
      ...env,
      // The tests select themselves by these (each suite reads the runner's filters the same way:
      // a test runs when its name contains one).
      INTEROP_FILTERS: filters.join("\n"),
    });
    return parseGoTestJson(r.stdout, r.code, r.stderr);
  },
};
