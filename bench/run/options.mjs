// The command line (`node bench/run.mjs --help`), read once at start: scenarios, servers, sizes
// (--quick or the full ones), payload, load-client split, JSON output.
import { die } from "./processes.mjs";
import { ALL_SCENARIOS, ALL_SERVERS, PAIRINGS, scenariosOf } from "./servers.mjs";

const argv = process.argv.slice(2);
const opt = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name) => argv.includes(`--${name}`);
if (flag("help") || flag("h")) {
  console.log(
    `usage: node bench/run.mjs [--quick] [--only=${ALL_SCENARIOS.join(",")}] [--servers=${
      ALL_SERVERS.join(",")
    }]
                         [--pairing=core,box] [--json=FILE] [--per-worker=N] [--payload=BYTES] [--verbose]
                         [--idle-steps=1000,5000,10000]`,
  );
  process.exit(0);
}
export const QUICK = flag("quick");
export const VERBOSE = flag("verbose");
export const SCENARIOS = (opt("only") ?? ALL_SCENARIOS.join(",")).split(",").filter(Boolean);
// --pairing=core,box: the servers of those Sluice vs Centrifugo pairings, each in the scenarios it
// takes part in by default (scenariosOf); --servers names servers to run in every scenario.
const PAIRING = opt("pairing")?.split(",").filter(Boolean);
for (const p of PAIRING ?? []) if (!PAIRINGS[p]) die(`unknown pairing ${p} (core, box)`);
export const SERVERS = opt("servers")
  ? opt("servers").split(",").filter(Boolean)
  : PAIRING
  ? PAIRING.flatMap((p) => PAIRINGS[p].flat())
  : ALL_SERVERS;
export const serversFor = (scenario) =>
  SERVERS.filter((s) => scenariosOf(s, !!opt("servers")).includes(scenario));
export const JSON_FILE = opt("json");
export const PER_WORKER = Math.min(9000, Number(opt("per-worker") ?? 5000));
export const PAYLOAD = Number(opt("payload") ?? 64); // bytes of padding in every message, besides "t"
for (const s of SCENARIOS) if (!ALL_SCENARIOS.includes(s)) die(`unknown scenario ${s}`);
for (const s of SERVERS) if (!ALL_SERVERS.includes(s)) die(`unknown server ${s}`);

export const P = QUICK
  ? {
    fanout: {
      sizes: [200, 1000],
      rate: 20,
      seconds: 2,
      drainMs: 5000,
      burstDeliveries: 50_000,
      burstConcurrency: 8,
    },
    idle: { steps: [200, 1000], settleMs: 1000, holdMs: 0 },
    connect: { count: 1000, concurrency: 100, workers: 2, warmUp: 1000 },
    storm: { count: 1000, concurrency: 1000, workers: 2 },
    many: { count: 1000, groupSize: 10, rate: 200, seconds: 2, drainMs: 5000, burstConcurrency: 32 },
    publish: { connections: 32, threads: 2, channels: 1000, warmUpSeconds: 1, seconds: 2, batchSize: 100 },
  }
  : {
    fanout: {
      sizes: [1000, 10000],
      rate: 20,
      seconds: 5,
      drainMs: 10_000,
      burstDeliveries: 300_000,
      burstConcurrency: 8,
    },
    // 19000 is the top: the server's own open-file limit is 20000 here.
    idle: { steps: [1000, 5000, 10000, 19000], settleMs: 2000, holdMs: 26_000 },
    // warm: a server that has run a while (the JIT has compiled the connect path); the storm is the cold case
    connect: { count: 10000, concurrency: 200, workers: 2, warmUp: 10000 },
    // a reconnect storm: every client of a restarted server at once
    storm: { count: 10000, concurrency: 10000, workers: 2 },
    many: { count: 10000, groupSize: 10, rate: 500, seconds: 5, drainMs: 10_000, burstConcurrency: 32 },
    // wrk posting into 1000 channels, no subscribers: the HTTP publish path alone
    publish: { connections: 32, threads: 2, channels: 1000, warmUpSeconds: 3, seconds: 6, batchSize: 100 },
  };

// --idle-steps: the idle scenario's connection counts (a box with a lower open-file limit, a quick look)
const IDLE_STEPS = opt("idle-steps")?.split(",").map(Number);
if (IDLE_STEPS?.some((n) => !(n > 0))) {
  die("--idle-steps takes connection counts: --idle-steps=1000,5000,10000");
}
if (IDLE_STEPS) P.idle.steps = IDLE_STEPS;

export const PAD = "x".repeat(PAYLOAD);
