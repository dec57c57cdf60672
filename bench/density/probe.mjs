#!/usr/bin/env node
// Opens N idle SSE connections to 127.0.0.1:<port>/ (raw TCP, GET, reads the first bytes), then
// prints the server's RSS growth per connection. Used with bench/density/deno_paths.ts.
//
//   node bench/density/probe.mjs <server pid> <port> [N]
import net from "node:net";
import { readFileSync } from "node:fs";

const [pid, port, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 5000);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(1000);
const before = rss();
const socks = [];
let ready = 0;
for (let i = 0; i < N; i++) {
  const s = net.connect({ host: "127.0.0.1", port: Number(port) }, () => {
    s.write("GET /sub HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  });
  s.once("data", () => ready++);
  s.on("error", () => {});
  socks.push(s);
  if (i % 200 === 199) await sleep(20);
}
for (let i = 0; i < 200 && ready < N; i++) await sleep(50);
await sleep(3000);
const after = rss();
console.log(
  JSON.stringify({
    connections: N,
    ready,
    rssBeforeMB: (before / 1024).toFixed(1),
    rssAfterMB: (after / 1024).toFixed(1),
    kbPerConn: ((after - before) / N).toFixed(2),
  }),
);
for (const s of socks) s.destroy();
process.exit(0);
