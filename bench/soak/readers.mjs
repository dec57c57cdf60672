#!/usr/bin/env node
// Recovering subscribers in a process of their own, so that a campaign's other clients (10k
// stalled sockets, a publisher) cannot starve them: a reader that falls behind is cut as slow by the
// server, which is then the client's fault, not the server's.
//
//   node bench/soak/readers.mjs '{"ports":[8000],"count":20,"channel":"c","user":"reader"}'
//
// Prints {"type":"ready"} once every reader is subscribed. On a line "dump" on stdin it prints
// {"type":"dump","readers":[{received:[[from,to],…],duplicates,unrecovered,connects,disconnects}]}
// (received offsets as ranges) and exits.
import { createInterface } from "node:readline";
import { RecoveringSubscriber, sleep } from "./lib.mjs";

const cfg = JSON.parse(process.argv[2]);
let k = 0;
const readers = Array.from({ length: cfg.count }, (_, i) =>
  new RecoveringSubscriber({
    ports: () => cfg.ports[k++ % cfg.ports.length],
    user: `${cfg.user}${i}`,
    channels: [cfg.channel],
  }).start());
while (readers.some((r) => r.connects === 0)) await sleep(50);
console.log(JSON.stringify({ type: "ready" }));

/** [[from, to], …] of a set of offsets. */
function ranges(set) {
  const sorted = [...set].sort((a, b) => a - b);
  const out = [];
  for (const o of sorted) {
    const last = out.at(-1);
    if (last && o === last[1] + 1) last[1] = o;
    else out.push([o, o]);
  }
  return out;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== "dump") continue;
  const dump = readers.map((r) => ({
    received: ranges(r.received.get(cfg.channel)),
    duplicates: r.duplicates,
    unrecovered: r.unrecovered,
    connects: r.connects,
    live: r.live,
    disconnects: Object.fromEntries(r.disconnects),
    history: process.env.SOAK_DEBUG ? r.history : undefined,
  }));
  for (const r of readers) r.stop();
  console.log(JSON.stringify({ type: "dump", readers: dump }));
  process.exit(0);
}
