/**
 * centrifuge-java (Centrifugal's Java SDK: protobuf over WebSocket) against the target server: a
 * Maven project beside this file with JUnit 5 tests. `prepare()` checks for a JDK ≥ 17 and Maven and
 * resolves and compiles everything; `run()` is one `mvn test` per target (one JVM start, not one per
 * test) whose surefire XML reports become one result per test.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { Suite, SuiteResult } from "../suite.ts";

const here = dirname(fileURLToPath(import.meta.url));
const reports = join(here, "target", "surefire-reports");
/** The whole Maven run for one target; the tests' own waits are far shorter (10 s each). */
const RUN_TIMEOUT_MS = 600_000;

interface Ran {
  code: number | null;
  out: string;
  /** The command could not be started at all (not installed). */
  missing: boolean;
}

function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = RUN_TIMEOUT_MS,
): Promise<Ran> {
  return new Promise((resolve) => {
    let out = "";
    let missing = false;
    const child = spawn(cmd, args, {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.stderr!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    const timer = setTimeout(() => {
      out += `\n(killed after ${timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") missing = true;
      else out += String(err);
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, out, missing });
    });
  });
}

const tail = (s: string, lines = 40) => s.trim().split("\n").slice(-lines).join("\n");

/** `-B` batch mode (no colours, no progress), `-q` only errors: the reports carry the results. */
const MVN = ["-B", "-q"];

/**
 * Surefire's `-Dtest` for the runner's filters ("a test whose name contains a filter"): the name
 * here is `Class.method`, so a filter selects a class or a method containing it, or `Class.meth…`.
 */
function testSelector(filters: string[]): string {
  return filters.flatMap((f) => {
    const dot = f.indexOf(".");
    if (dot >= 0) return [`*${f.slice(0, dot)}#${f.slice(dot + 1)}*`];
    return [`*${f}*`, `*#*${f}*`];
  }).join(",");
}

const unescape = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");

const attr = (attrs: string, name: string) =>
  unescape(new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1] ?? "");

/** One result per `<testcase>` of every `TEST-*.xml`. */
export function readReports(dir: string): SuiteResult[] {
  if (!existsSync(dir)) return [];
  const results: SuiteResult[] = [];
  for (const file of readdirSync(dir).filter((f) => /^TEST-.*\.xml$/.test(f)).sort()) {
    const xml = readFileSync(join(dir, file), "utf8");
    for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const [, attrs, body = ""] = m;
      const cls = attr(attrs, "classname").split(".").pop();
      const name = `${cls}.${attr(attrs, "name").replace(/\(\)$/, "")}`;
      const problem = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
      if (problem) {
        const message = attr(problem[2], "message");
        const trace = tail(unescape((problem[3] ?? "").replace(/^\s*<!\[CDATA\[|\]\]>\s*$/g, "")), 25);
        results.push({ name, ok: false, output: trace.includes(message) ? trace : `${message}\n${trace}` });
      } else if (/<skipped\b/.test(body)) {
        // Nothing here is skipped on purpose: a skipped test did not pass.
        results.push({
          name,
          ok: false,
          output: `skipped: ${attr(/<skipped\b([^>]*)/.exec(body)![1], "message")}`,
        });
      } else {
        results.push({ name, ok: true });
      }
    }
  }
  return results;
}

export const suite: Suite = {
  name: "java",

  async prepare() {
    const java = await exec("java", ["-version"], {}, 60_000);
    const mvn = await exec("mvn", ["-v"], {}, 60_000);
    const missing = [
      java.missing && ["a JDK ≥ 17 (java)", "openjdk-17-jdk-headless"],
      mvn.missing && ["Maven (mvn)", "maven"],
    ].filter((m): m is string[] => !!m);
    if (missing.length) {
      const what = missing.map((m) => m[0]).join(" and ");
      throw new Error(`java suite: install ${what} (apt-get install ${missing.map((m) => m[1]).join(" ")})`);
    }
    const major = Number(/version "(\d+)/.exec(java.out)?.[1] ?? 0);
    if (major < 17) throw new Error(`java suite: needs a JDK ≥ 17 (java -version says ${major || "?"})`);
    // Resolves the dependencies and plugins (and Surefire's JUnit provider, which only a `test` run
    // fetches), compiles, and runs no test: the per-target runs then start with everything in ~/.m2.
    const r = await exec("mvn", [
      ...MVN,
      "test",
      "-Dtest=NoSuchTest",
      "-Dsurefire.failIfNoSpecifiedTests=false",
    ]);
    if (r.code !== 0) throw new Error(`java suite: mvn could not build the tests:\n${tail(r.out)}`);
  },

  async run(env, filters) {
    rmSync(reports, { recursive: true, force: true });
    // Offline: prepare() fetched everything, and each remote metadata check costs seconds here.
    const args = [...MVN, "-o", "test", "-Dsurefire.failIfNoSpecifiedTests=false"];
    if (filters.length) args.push(`-Dtest=${testSelector(filters)}`);
    const r = await exec("mvn", args, env);
    const results = readReports(reports);
    // A failing test makes mvn exit 1 and shows in the reports; anything else (a compile error, a
    // crashed or timed-out fork) must not pass for a clean run.
    if (r.code !== 0 && !results.some((t) => !t.ok)) {
      results.push({ name: "mvn test", ok: false, output: `exit ${r.code}\n${tail(r.out)}` });
    }
    return results;
  },
};
