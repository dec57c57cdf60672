/**
 * `npm run test:interop`: the official SDKs of other languages against Sluice as users run it —
 * `bun mod.ts`, `deno run -A mod.ts` and the compiled binary — and, as a control that the suites
 * test the protocol and not Sluice's reading of it, against Centrifugo v6.9.1 itself.
 *
 *   bun test/interop/run.ts [filter…] [--targets=sluice-bun,…,centrifugo] [--suites=go,python]
 *   bun test/interop/run.ts --prepare     # only install what the suites need (CI does it early)
 *
 * A language suite is a folder here with a `suite.ts` (what to install, how to run, how to read its
 * results); the servers' addresses reach it as INTEROP_* variables (`config.ts`). A missing
 * toolchain fails the suite with one line naming it. Ends with `N passed, N failed`.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { ALL_TARGETS, type Running, startTarget, type TargetName } from "../targets/mod.ts";
import { interopConfig, interopEnv } from "./config.ts";
import { startRpcBackend } from "./rpc_backend.ts";
import type { Suite, SuiteResult } from "./suite.ts";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const filters = argv.filter((a) => !a.startsWith("--"));
const targets = (opt("targets")?.split(",") ?? ALL_TARGETS) as TargetName[];
for (const t of targets) {
  if (!ALL_TARGETS.includes(t)) fail(`unknown target ${t} (known: ${ALL_TARGETS.join(", ")})`);
}

function fail(message: string): never {
  console.error(`interop: ${message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/** Every `<lang>/suite.ts` beside this file, or those named in --suites. */
async function loadSuites(): Promise<Suite[]> {
  const wanted = opt("suites")?.split(",");
  const names = readdirSync(here).filter((n) =>
    statSync(join(here, n)).isDirectory() && readdirSync(join(here, n)).includes("suite.ts")
  ).sort();
  for (const w of wanted ?? []) {
    if (!names.includes(w)) fail(`unknown suite ${w} (known: ${names.join(", ")})`);
  }
  const suites: Suite[] = [];
  for (const name of names.filter((n) => !wanted || wanted.includes(n))) {
    suites.push((await import(join(here, name, "suite.ts"))).suite as Suite);
  }
  return suites;
}

/** The extra a target needs beyond the shared config, and why. */
async function extraEnv(
  target: TargetName,
): Promise<{ env: Record<string, string>; close?: () => Promise<void> }> {
  if (target === "centrifugo") {
    // Centrifugo answers the RPC through its proxy (Sluice through a plugin): environment only, so
    // the config file stays the one both read.
    const backend = await startRpcBackend();
    return {
      env: {
        CENTRIFUGO_RPC_PROXY_ENDPOINT: backend.url,
        CENTRIFUGO_RPC_WITHOUT_NAMESPACE_PROXY_ENABLED: "true",
      },
      close: backend.close,
    };
  }
  // Sluice answers the RPC through a plugin (the issue's "an RPC answered by a plugin").
  return { env: { SLUICE_PLUGINS: JSON.stringify({ [join(here, "plugins", "interop_rpc.ts")]: {} }) } };
}

const suites = await loadSuites();
let passed = 0;
const failedNames: string[] = [];
const report = (target: string, suite: string, r: SuiteResult) => {
  const full = `${target} ${suite}: ${r.name}`;
  if (r.ok) {
    passed++;
    console.log(`ok   ${full}`);
  } else {
    failedNames.push(full);
    console.log(
      `FAIL ${full}${r.output ? "\n" + r.output.split("\n").map((l) => "    " + l).join("\n") : ""}`,
    );
  }
};

// Toolchains first: a missing one is one clear line per suite, before any server starts.
const ready: Suite[] = [];
for (const suite of suites) {
  try {
    await suite.prepare();
    ready.push(suite);
  } catch (err) {
    report("-", suite.name, { name: "prepare", ok: false, output: (err as Error).message });
  }
}

if (argv.includes("--prepare")) {
  console.log(`${ready.length} passed, ${failedNames.length} failed`);
  process.exit(failedNames.length ? 1 : 0);
}

for (const target of targets) {
  const extra = await extraEnv(target);
  let server: Running | undefined;
  try {
    server = await startTarget(target, interopConfig, { env: extra.env });
  } catch (err) {
    report(target, "start", { name: "server", ok: false, output: (err as Error).message });
    await extra.close?.();
    continue;
  }
  try {
    for (const suite of ready) {
      const started = performance.now();
      const results = await suite.run(interopEnv(server.url, target), filters);
      // with a filter meant for another suite, no results is no failure
      if (results.length === 0 && filters.length === 0) {
        report(target, suite.name, {
          name: "(no tests ran)",
          ok: false,
          output: server.output().slice(-1500),
        });
      }
      for (const r of results) report(target, suite.name, r);
      console.log(
        `     ${target} ${suite.name}: ${results.length} tests in ${
          Math.round(performance.now() - started)
        } ms`,
      );
      if (results.some((r) => !r.ok)) {
        console.log(`     --- ${target} output (last lines) ---\n${server.output().slice(-3000)}`);
      }
    }
  } finally {
    await server.stop();
    await extra.close?.();
  }
}

if (failedNames.length) console.log(`\nFailed:\n${failedNames.map((f) => `  - ${f}`).join("\n")}`);
console.log(`${passed} passed, ${failedNames.length} failed`);
process.exit(failedNames.length ? 1 : 0);
