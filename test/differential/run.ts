/**
 * `npm run test:differential`: the same scripted sessions against Centrifugo v6.9.1 and against
 * Sluice (Bun, Deno, the compiled binary), every answer compared field by field on the wire after
 * normalising what is random. A difference fails unless it is documented (differences.ts, pinned
 * exactly) — so a new one fails CI.
 *
 *   bun test/differential/run.ts [filter…] [--targets=sluice-bun,…] [--concurrency=N] [--show] [--list]
 *
 * --show prints both normalised transcripts of every scenario run (what each server sent).
 * Ends with `N passed, N failed` (one check per scenario and Sluice target, plus the README check).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { type Running, SLUICE_TARGETS, startTarget, type TargetName } from "../targets/mod.ts";
import { type Scenario, scenarios, setScenarioFile } from "./scenario.ts";
import { Session, type Transcript } from "./session.ts";
import { PROFILES, REDIS_PLACEHOLDER } from "./profiles.ts";
import { startRedis } from "../helpers/redis.mjs";
import { normalize, renumber } from "./normalize.ts";
import { clone, differences, formatDifferences } from "./compare.ts";
import { DIFFERENCES, expectedEverywhere } from "./differences.ts";
import { proxy, PROXY_PLACEHOLDER, redisUnder, startProxyBackend } from "./proxy_backend.ts";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name: string) => argv.includes(`--${name}`);
const filters = argv.filter((a) => !a.startsWith("--"));
const targets = (opt("targets")?.split(",") ?? SLUICE_TARGETS) as TargetName[];
const concurrency = Number(opt("concurrency") ?? 6);
const SHOW = flag("show");

for (const file of readdirSync(join(here, "scenarios")).filter((f) => f.endsWith(".ts")).sort()) {
  setScenarioFile(file);
  await import(join(here, "scenarios", file));
}

const selected = scenarios.filter((s) =>
  !filters.length || filters.some((f) => s.name.includes(f) || s.file.includes(f))
);
if (flag("list")) {
  for (const s of selected) console.log(`${s.file}: ${s.name}${s.differs ? ` (differs: ${s.differs})` : ""}`);
  console.log(`${selected.length} scenarios`);
  process.exit(0);
}

let passed = 0;
const failed: string[] = [];
function pass(name: string) {
  passed++;
  console.log(`ok   ${name}`);
}
function fail(name: string, why: string) {
  failed.push(name);
  console.log(`FAIL ${name}\n${why}`);
}

// ------------------------------------------------------------------- documented differences
// Every documented difference is in the README's list, word for word, and pinned by a scenario.
if (!filters.length) {
  // compared with whitespace collapsed: the README is wrapped at 110 columns
  const flat = (text: string) => text.replace(/\s+/g, " ");
  const readme = flat(readFileSync(join(here, "../../README.md"), "utf8"));
  const problems: string[] = [];
  for (const [id, d] of Object.entries(DIFFERENCES)) {
    if (!readme.includes(flat(d.readme))) problems.push(`  ${id}: README does not say "${d.readme}"`);
    if (!scenarios.some((s) => s.differs === id)) problems.push(`  ${id}: no scenario pins it`);
  }
  for (const s of scenarios) {
    if (s.differs && !DIFFERENCES[s.differs]) problems.push(`  ${s.name}: unknown difference ${s.differs}`);
  }
  if (problems.length) fail("documented differences: README and scenarios agree", problems.join("\n"));
  else pass(`documented differences: README and scenarios agree (${Object.keys(DIFFERENCES).length})`);
}

// ------------------------------------------------------------------- running
let runCounter = 0;
const runPrefix = Math.random().toString(36).slice(2, 6);

async function runOn(server: Running, s: Scenario): Promise<{ transcript: Transcript; runId: string }> {
  const runId = `${runPrefix}${(runCounter++).toString(36)}`;
  const session = new Session(server, runId, PROFILES[s.profile]);
  let transcript: Transcript;
  try {
    await s.run(session);
    transcript = await session.finish();
  } catch (err) {
    await session.abandon();
    transcript = {
      ...(await session.finish().catch(() => ({}))),
      error: String((err as Error)?.message ?? err),
    };
  }
  let normalized = normalize(transcript, runId) as Transcript;
  if (s.normalize) normalized = s.normalize(normalized);
  return { transcript: normalized, runId };
}

async function runScenario(s: Scenario, servers: Map<TargetName, Running>): Promise<void> {
  const reference = await runOn(servers.get("centrifugo")!, s);
  if (reference.transcript.error) {
    for (const t of targets) {
      fail(
        `${s.name} [${t}]`,
        `    the scenario failed against Centrifugo itself: ${reference.transcript.error}`,
      );
    }
    return;
  }
  const results = await Promise.all(targets.map((t) => runOn(servers.get(t)!, s)));
  targets.forEach((t, i) => {
    const name = `${s.name} [${t}]`;
    const sluice = results[i].transcript;
    if (SHOW) {
      console.log(
        `--- ${name}\n  centrifugo: ${JSON.stringify(reference.transcript)}\n  sluice:     ${
          JSON.stringify(sluice)
        }`,
      );
    }
    // what Sluice should send: Centrifugo's answer with every documented difference applied
    const profile = PROFILES[s.profile];
    const expected = renumber(expectedEverywhere(clone(reference.transcript), profile));
    const differs = s.differs && !(DIFFERENCES[s.differs].onlyOn?.includes(t) === false)
      ? s.differs
      : undefined;
    if (!differs) {
      const diffs = differences(expected, renumber(sluice));
      if (diffs.length === 0) pass(name);
      else fail(name, formatDifferences(diffs));
      return;
    }
    const d = DIFFERENCES[differs];
    const withIt = d.everywhere ? expected : renumber(d.patch(clone(expected), profile));
    const withoutIt = d.everywhere
      ? renumber(expectedEverywhere(clone(reference.transcript), profile, differs))
      : expected;
    const unexplained = differences(withIt, renumber(sluice));
    if (differences(withoutIt, renumber(sluice)).length === 0) {
      fail(
        name,
        `    documented difference "${s.differs}" is gone: Sluice now answers as Centrifugo (remove it)`,
      );
    } else if (unexplained.length) {
      fail(
        name,
        `    beyond the documented difference "${differs}" (expected Sluice → actual Sluice):\n` +
          formatDifferences(unexplained).replaceAll("centrifugo:", "expected:  "),
      );
    } else pass(`${name} (differs on purpose: ${differs})`);
  });
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const started = performance.now();
// The application backend the `proxy` profile's servers call
proxy.backend = await startProxyBackend();
const withBackend = (config: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(config).replaceAll(PROXY_PLACEHOLDER, proxy.backend!.url));
const byProfile = new Map<string, Scenario[]>();
for (const s of selected) byProfile.set(s.profile, [...(byProfile.get(s.profile) ?? []), s]);

for (const [profile, list] of byProfile) {
  const servers = new Map<TargetName, Running>();
  const redises: Array<{ stop(): Promise<void> }> = [];
  try {
    await Promise.all((["centrifugo", ...targets] as TargetName[]).map(async (t) => {
      let config = withBackend(PROFILES[profile].config);
      let redis: { url: string; stop(): Promise<void> } | undefined;
      if (JSON.stringify(config).includes(REDIS_PLACEHOLDER)) {
        // a redis-server of its own for each server: the two must not form one cluster
        redis = await startRedis();
        redises.push(redis);
        config = JSON.parse(JSON.stringify(config).replaceAll(REDIS_PLACEHOLDER, redis.url));
      }
      const server = await startTarget(t, config);
      servers.set(t, server);
      if (redis) redisUnder.set(server.url, redis);
    }));
  } catch (err) {
    for (const s of list) {
      fail(s.name, `    cannot start the servers for profile ${profile}: ${(err as Error).message}`);
    }
    await Promise.all([...servers.values()].map((r) => r.stop()));
    await Promise.all(redises.map((r) => r.stop().catch(() => {})));
    continue;
  }
  try {
    await pool(list, concurrency, (s) => runScenario(s, servers));
  } finally {
    await Promise.all([...servers.values()].map((r) => r.stop()));
    await Promise.all(redises.map((r) => r.stop().catch(() => {})));
  }
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `\n${selected.length} scenarios × ${targets.length} Sluice targets (${targets.join(", ")}) in ${seconds} s`,
);
if (failed.length) console.log(`Failed:\n${failed.map((f) => `  - ${f}`).join("\n")}`);
await proxy.backend.close();
console.log(`${passed} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
