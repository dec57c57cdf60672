/**
 * @module
 * The Python interop suite: centrifuge-python (JSON and protobuf) and cent (sync and async), pinned
 * in `requirements.txt`, installed into `.venv` beside this file (git-ignored) and run with pytest.
 * Results come from pytest's JUnit XML report, one per test.
 *
 * Needs `python3` (≥ 3.10, with the venv module) on PATH; the first run installs the requirements
 * from PyPI, later runs reuse the venv while `requirements.txt` is unchanged.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Suite, SuiteResult } from "../suite.ts";

const here = dirname(fileURLToPath(import.meta.url));
const venv = join(here, ".venv");
const venvPython = join(venv, "bin", "python");
const requirements = join(here, "requirements.txt");
/** What the venv was installed from: requirements.txt and the Python that made it. */
const stamp = join(venv, ".interop-stamp");
/** pytest's own per-test timeout is 60 s; this bounds the whole run (a hung interpreter, a stuck teardown). */
const RUN_TIMEOUT_MS = 300_000;
/** centrifuge-python 0.7 and pytest-asyncio 1.x need it. */
const MIN_PYTHON: [number, number] = [3, 10];

interface Ran {
  code: number | null;
  output: string;
  timedOut: boolean;
  /** Set when the command could not be started at all (ENOENT: not installed). */
  spawnError?: Error;
}

function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: here,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let timedOut = false;
    child.stdout!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    child.stderr!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs)
      : undefined;
    child.on("error", (err: Error) => {
      clearTimeout(timer);
      resolve({ code: null, output, timedOut, spawnError: err });
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

const lastLine = (text: string) => text.trim().split("\n").pop() ?? "";

async function prepare(): Promise<void> {
  const version = await run("python3", ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]);
  if (version.spawnError || version.code !== 0) {
    throw new Error(
      `python3 not found: the python interop suite needs Python ≥ ${MIN_PYTHON.join(".")} with venv ` +
        `(apt-get install python3 python3-venv)`,
    );
  }
  const [major, minor] = version.output.trim().split(".").map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new Error(
      `python3 is ${version.output.trim()}: the python interop suite needs Python ≥ ${MIN_PYTHON.join(".")}`,
    );
  }
  const want = createHash("sha256").update(readFileSync(requirements)).update(version.output).digest("hex");
  if (existsSync(venvPython) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want) return;

  // A venv from another Python or other requirements is made anew: pip would keep stale packages.
  rmSync(venv, { recursive: true, force: true });
  const made = await run("python3", ["-m", "venv", venv]);
  if (made.code !== 0) {
    throw new Error(
      `python3 -m venv failed (on Debian: apt-get install python3-venv): ${lastLine(made.output)}`,
    );
  }
  const pip = await run(venvPython, [
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "-r",
    requirements,
  ], { timeoutMs: 600_000 });
  if (pip.code !== 0) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`pip install -r test/interop/python/requirements.txt failed: ${lastLine(pip.output)}`);
  }
  writeFileSync(stamp, want + "\n");
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return entities[e] ?? m;
  });
}

function attr(tag: string, name: string): string {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]) : "";
}

/**
 * One result per `<testcase>` of pytest's JUnit XML: failed when it holds a `<failure>` or an
 * `<error>` (a fixture that broke), and also when it was skipped — nothing here may skip quietly.
 */
export function parseJunit(xml: string): SuiteResult[] {
  const results: SuiteResult[] = [];
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(testcase)) {
    const head = m[1];
    const body = m[3] ?? "";
    const classname = attr(head, "classname");
    const name = `${classname ? classname.replaceAll(".", "/") + ".py::" : ""}${attr(head, "name")}`;
    const problems: string[] = [];
    for (const p of body.matchAll(/<(failure|error|skipped)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
      const kind = p[1];
      const message = attr(p[2], "message");
      const text = unescapeXml(p[3] ?? "").trim();
      problems.push(`${kind}: ${text || message}`);
    }
    results.push(problems.length ? { name, ok: false, output: problems.join("\n") } : { name, ok: true });
  }
  return results;
}

export const suite: Suite = {
  name: "python",
  prepare,
  async run(env, filters) {
    const dir = mkdtempSync(join(tmpdir(), "interop-python-"));
    const junit = join(dir, "junit.xml");
    try {
      const ran = await run(venvPython, ["-m", "pytest", "-q", "-rN", "--tb=short", `--junitxml=${junit}`], {
        env: {
          ...env,
          INTEROP_FILTERS: JSON.stringify(filters),
          // Loopback only: no proxy from the environment, no bytecode written into the tree.
          NO_PROXY: "127.0.0.1,localhost",
          no_proxy: "127.0.0.1,localhost",
          PYTHONDONTWRITEBYTECODE: "1",
        },
        timeoutMs: RUN_TIMEOUT_MS,
      });
      if (ran.timedOut) {
        return [{
          name: "pytest",
          ok: false,
          output: `did not finish within ${RUN_TIMEOUT_MS / 1000} s\n${ran.output.slice(-3000)}`,
        }];
      }
      // 5: no test matched the filters, which the runner reports as such.
      if (ran.code === 5) return [];
      const results = existsSync(junit) ? parseJunit(readFileSync(junit, "utf8")) : [];
      // 0: all passed, 1: some failed (both in the report); anything else is pytest itself failing.
      if (results.length === 0 || (ran.code !== 0 && ran.code !== 1)) {
        results.push({ name: "pytest", ok: false, output: `exit ${ran.code}\n${ran.output.slice(-3000)}` });
      }
      return results;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
