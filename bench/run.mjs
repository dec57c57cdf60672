#!/usr/bin/env node
// Sluice benchmarks side by side with Centrifugo, nchan and a bare SSE loop — one command, one machine.
//
//   npm run bench                     # everything (≈ 50 min; redis-server for the -w2 servers, Go
//                                     # for Centrifugo: bench/peers/centrifugo.sh builds it)
//   node bench/run.mjs --quick        # small sizes, a smoke run (≈ 5 min)
//   node bench/run.mjs --only=fanout,idle --servers=sluice-bun,nchan --json=out.json
//   node bench/run.mjs --pairing=core # Sluice vs Centrifugo, one core each (also: box, or core,box)
//
// Scenarios: fanout, idle, connect, storm, many, publish (wrk). Servers: sluice-bun, sluice-deno, nchan, bare-bun,
// bare-deno, and (fanout and many only, unless named in --servers) sink-bun, sink-deno: the bare
// loop writing through Sluice's StreamWriter; (connect, storm and publish only) auth-bun, auth-deno:
// the bare loop with Sluice's HS256 token check and a connect push, and an API-key checked JSON
// publish; centrifugo* and the Sluice servers paired with them (PAIRINGS). Every server runs
// alone, one after another, fresh for every measurement; load comes
// from bench/load_client.mjs workers (raw TCP, ≤ 9000 connections each) and publishes from this
// process, all on 127.0.0.1. Figures are measured and reported, never asserted. See bench/README.md.
//
// This file runs the scenarios in order and prints the report; its parts are in bench/run/
// (servers, options, processes, launchers, fleet, publisher, stats, scenarios/, comparisons, report).
import os from "node:os";
import { existsSync, writeFileSync } from "node:fs";
import { computeRatios, targets, vsCentrifugo } from "./run/comparisons.mjs";
import { environment, versionOf } from "./run/environment.mjs";
import { centrifugoBinary } from "./run/launchers.mjs";
import { JSON_FILE, P, PAYLOAD, PER_WORKER, QUICK, SCENARIOS, SERVERS, serversFor } from "./run/options.mjs";
import { NCHAN_MODULE } from "./run/paths.mjs";
import { die, killEverything, log, now, sleep } from "./run/processes.mjs";
import { render, summaryJson } from "./run/report.mjs";
import { connect } from "./run/scenarios/connect.mjs";
import { fanout } from "./run/scenarios/fanout.mjs";
import { idle } from "./run/scenarios/idle.mjs";
import { many } from "./run/scenarios/many.mjs";
import { publish } from "./run/scenarios/publish.mjs";
import { parseServer } from "./run/servers.mjs";
import { round } from "./run/stats.mjs";

const RUNNERS = { fanout, idle, connect, storm: (name) => connect(name, P.storm), many, publish };

async function main() {
  const env = environment();
  const startedAt = now();
  log(
    `Sluice bench${QUICK ? " (quick)" : ""}: scenarios ${SCENARIOS.join(", ")}; servers ${
      SERVERS.join(", ")
    }`,
  );
  log(
    `versions: Sluice ${env.sluice}, Bun ${env.bun}, Deno ${env.deno}, Node ${env.node}, nginx ${env.nginx}, nchan ${env.nchan}`,
  );
  log(`machine: ${env.cpu}, ${env.memGB} GB, Linux ${env.kernel}, ulimit -n ${env.nofile}`);
  if (SERVERS.includes("nchan") && !existsSync(NCHAN_MODULE)) {
    die(`nchan module not found at ${NCHAN_MODULE} (set NCHAN_MODULE)`);
  }
  // What the chosen servers need, said in one line each before anything starts.
  const parsed = SERVERS.map(parseServer);
  if (parsed.some((s) => s.pinned) && versionOf("taskset", ["-V"]) === "unavailable") {
    die("the -1core servers need taskset (util-linux) — or leave them out with --servers=");
  }
  if (parsed.some((s) => s.pinned) && os.cpus().length < 2) {
    die("the -1core servers need 2 cores: the server on one, the load on another");
  }
  if (parsed.some((s) => s.workers > 1) && versionOf("redis-server", ["--version"]) === "unavailable") {
    die(
      "the -w2 servers need redis-server (apt-get install redis-server) — or leave them out with --servers=",
    );
  }
  if (parsed.some((s) => s.kind === "centrifugo")) {
    env.centrifugo = versionOf(centrifugoBinary(), ["version"], /Centrifugo v?(\S+)/) ?? "?";
    log(`Centrifugo ${env.centrifugo}: ${centrifugoBinary()}`);
  }
  const results = {
    env,
    quick: QUICK,
    params: P,
    perWorker: PER_WORKER,
    payloadBytes: PAYLOAD,
    scenarios: {},
  };
  for (const sc of SCENARIOS) {
    log(`\n== ${sc}`);
    results.scenarios[sc] = {};
    for (const s of serversFor(sc)) {
      const t0 = now();
      try {
        results.scenarios[sc][s] = await RUNNERS[sc](s);
      } catch (err) {
        log(`  ${sc} ${s}: ERROR ${err?.message ?? err}`);
        results.scenarios[sc][s] = sc === "fanout"
          ? [{ error: String(err?.message ?? err) }]
          : { error: String(err?.message ?? err) };
      }
      killEverything(); // nothing survives into the next measurement
      log(`  (${sc} ${s}: ${((now() - t0) / 1000).toFixed(0)} s)`);
      await sleep(500);
    }
  }
  results.ratios = computeRatios(results);
  results.targets = targets(results);
  results.vsCentrifugo = vsCentrifugo(results);
  results.seconds = round((now() - startedAt) / 1000, 0);
  const env2 = results.env;
  console.log(`\n## Results${QUICK ? " (--quick)" : ""} — ${env2.date}\n`);
  console.log(
    `- Sluice ${env2.sluice} · Bun ${env2.bun} · Deno ${env2.deno} · Node ${env2.node} (load client) · nginx ${env2.nginx} + nchan ${env2.nchan} (1 worker)${
      env2.centrifugo ? ` · Centrifugo ${env2.centrifugo}` : ""
    }`,
  );
  console.log(
    `- ${env2.cpu} · ${env2.memGB} GB RAM · Linux ${env2.kernel} · ulimit -n ${env2.nofile} · ${PAYLOAD}-byte padding per message · total ${results.seconds} s\n`,
  );
  console.log(render(results));
  const json = JSON.stringify(results, null, 2);
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, json + "\n");
    log(`JSON written to ${JSON_FILE}`);
  }
  console.log("```json\n" + JSON.stringify(summaryJson(results)) + "\n```");
}

main().then(() => {
  killEverything();
  process.exit(0);
}, (err) => {
  log("bench: " + (err?.stack ?? err));
  killEverything();
  process.exit(1);
});
