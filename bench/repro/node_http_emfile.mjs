/**
 * Does a plain `node:http` server accept connections again after accept() failed with EMFILE?
 * No Sluice here: one `http.createServer` in a child process under `ulimit -n`, a driver in this
 * process that opens more connections than the child has descriptors, closes them all, then asks
 * for `GET /` — twice (two exhaustion episodes). The same script on each runtime compares them:
 *
 *   deno run -A bench/repro/node_http_emfile.mjs
 *   bun bench/repro/node_http_emfile.mjs
 *   node bench/repro/node_http_emfile.mjs
 *   node bench/repro/node_http_emfile.mjs --server node_modules/.bin/deno   (the driver on Node)
 *
 * Options: `--limit N` (the child's `ulimit -n`, default 64), `--flood N` (connections per episode,
 * default 2 × limit), `--episodes N` (default 2), `--max N` (the server's `maxConnections`).
 *
 * Measured (2 cores, Linux): Node 20.20 and Bun 1.4.5 answer after every episode; Deno 2.9.6 never
 * accepts again, with or without `--max 20` (its listener keeps the requests in the kernel's queue).
 * Deno's native accept drops the EMFILE error (no 'error' event) and does not poll the listener
 * again; `maxConnections` does not help, as connections beyond it are accepted, then closed, and
 * pile up faster than the closes complete (and Deno emits no 'drop' for them). Once, the Deno server
 * also panicked while out of descriptors (`ext/signals/lib.rs:58`, "Too many open files").
 * The child prints one line per event (`connection`, `error`, `drop`) so the driver can tell
 * "accepted and closed" from "never accepted"; every wait here is bounded.
 */
import * as http from "node:http";
import * as net from "node:net";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

if (process.argv.includes("server")) {
  // The server under test: nothing but node:http, and a line per event.
  const say = (line) => process.stdout.write(line + "\n");
  const version = typeof Deno !== "undefined"
    ? `deno ${Deno.version.deno}`
    : process.versions.bun
    ? `bun ${process.versions.bun}`
    : `node ${process.version}`;
  say(`runtime ${version}`);
  let open = 0;
  const server = http.createServer((_req, res) => res.end("ok"));
  const max = arg("max", 0);
  if (max > 0) server.maxConnections = max;
  server.on("connection", (socket) => {
    open++;
    say(`connection ${open}`);
    socket.on("close", () => open--);
    socket.on("error", () => {});
  });
  server.on("error", (err) => say(`error ${err.code ?? ""} ${err.message}`));
  server.on("drop", () => say("drop"));
  server.listen(0, "127.0.0.1", () => say(`port ${server.address().port}`));
} else {
  const limit = arg("limit", 64);
  const flood = arg("flood", limit * 2);
  const episodes = arg("episodes", 2);
  // The server runs on this runtime, or on `--server PATH` (a deno, bun or node executable).
  const serverIndex = process.argv.indexOf("--server");
  const executable = serverIndex > 0 ? process.argv[serverIndex + 1] : process.execPath;
  const self = fileURLToPath(import.meta.url);
  const max = arg("max", 0);
  const serverArgs = [self, "server", "--max", String(max)];
  const runArgs = /deno[^/]*$/.test(executable) ? ["run", "-A", ...serverArgs] : serverArgs;
  console.log(
    `node:http server under ulimit -n ${limit}, ${flood} connections per episode` +
      (max > 0 ? `, maxConnections ${max}` : ""),
  );

  const child = spawn("sh", ["-c", `ulimit -n ${limit} && exec "$0" "$@"`, executable, ...runArgs], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const events = { connection: 0, error: 0, drop: 0, errors: new Set() };
  let onPort;
  const portKnown = new Promise((r) => (onPort = r));
  let buffered = "";
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const [kind, ...rest] = line.split(" ");
      if (kind === "port") onPort(Number(rest[0]));
      else if (kind === "runtime") console.log(`server: ${rest.join(" ")}`);
      else if (kind in events) events[kind]++;
      if (kind === "error") events.errors.add(rest.join(" "));
    }
  });
  const exited = new Promise((r) => child.on("exit", (code, signal) => r(`${code ?? signal}`)));
  const until = async (cond, ms) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return cond();
  };
  const port = await Promise.race([
    portKnown,
    exited.then((c) => Promise.reject(new Error(`server exited ${c}`))),
  ]);

  /** GET / on a fresh connection; "ok", or why not within `ms`. */
  const get = (ms) =>
    new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: ms }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 ? "ok" : `status ${res.statusCode}`));
      });
      req.on("timeout", () => {
        req.destroy();
        resolve(`no answer in ${ms} ms`);
      });
      req.on("error", (e) => resolve(e.code ?? e.message));
    });

  // Deno sets up a signal handler shortly after start; out of descriptors at that moment it panics
  // (ext/signals/lib.rs:58, "Too many open files"), another bug. Flood only once it has settled.
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`before: GET / -> ${await get(2000)}`);
  let stalled = false;
  for (let episode = 1; episode <= episodes; episode++) {
    const before = { ...events };
    const sockets = [];
    for (let i = 0; i < flood; i++) {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.on("error", () => {});
      sockets.push(s);
    }
    // Wait until the server's accept count stops moving (it cannot reach `flood`).
    let last = -1;
    await until(() => {
      const moved = events.connection !== last;
      last = events.connection;
      return !moved;
    }, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const accepted = events.connection - before.connection;
    for (const s of sockets) s.destroy();
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const a = await get(2000);
      answers.push(a);
      if (a === "ok") break;
    }
    const ok = answers.at(-1) === "ok";
    if (!ok) stalled = true;
    console.log(
      `episode ${episode}: accepted ${accepted} of ${flood}, 'error' events ${
        events.error - before.error
      }, ` +
        `'drop' ${events.drop - before.drop}; after closing them: GET / -> ${answers.join(", ")}`,
    );
  }
  if (events.errors.size) console.log(`server 'error' messages: ${[...events.errors].join(" | ")}`);
  console.log(stalled ? "RESULT: the server stopped accepting" : "RESULT: the server accepts again");
  child.kill("SIGKILL");
  console.log(
    `server process: ${await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r("running"), 1000)),
    ])}`,
  );
  process.exit(0);
}
