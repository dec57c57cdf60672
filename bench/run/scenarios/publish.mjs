// The publish path alone: wrk posting into many channels, nobody subscribed (and Sluice's and
// Centrifugo's batch of publications), with the server's CPU per request.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import os from "node:os";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withServer } from "../launchers.mjs";
import { P, PAD } from "../options.mjs";
import { log, onBenchCpus, sleep } from "../processes.mjs";
import { RawHttpConn } from "../publisher.mjs";
import { round } from "../stats.mjs";

const execFileAsync = promisify(execFile);

/**
 * The publish path alone: wrk (keep-alive, `connections` at once) posting one publication per
 * request into `channels` channels round-robin, nobody subscribed — Sluice's `/api/publish`, nchan's
 * `/pub`, the bare loop's `/pub`. A warm-up run first (the JIT), then the measured one.
 */
export function publish(name) {
  return withServer(name, async (server) => {
    const p = P.publish;
    const dir = mkdtempSync(join(os.tmpdir(), "sluice-wrk-"));
    try {
      const lua = (text) => `[==[${text}]==]`;
      /** A wrk script posting `req`, its `@CH@` replaced by `channelOf` (a Lua expression of request n). */
      const script = (file, req, channelOf) => {
        const headers = Object.entries(req.headers).map(([k, v]) => `[ ${lua(k)} ] = ${lua(v)}`).join(", ");
        const path = join(dir, file);
        writeFileSync(
          path,
          [
            "local n = 0",
            `local headers = { ${headers} }`,
            `local path, body = ${lua(req.path)}, ${lua(req.body)}`,
            "request = function()",
            `  n = n + 1`,
            `  local ch = tostring(${channelOf})`,
            `  return wrk.format("POST", path:gsub("@CH@", ch), headers, (body:gsub("@CH@", ch)))`,
            "end",
          ].join("\n"),
        );
        return path;
      };
      const wrk = (file, seconds) =>
        execFileAsync(
          ...onBenchCpus("wrk", [
            `-t${p.threads}`,
            `-c${p.connections}`,
            `-d${seconds}s`,
            "--latency",
            "-s",
            file,
            `http://127.0.0.1:${server.port}`,
          ]),
          { encoding: "utf8", timeout: (seconds + 30) * 1000 },
        ).then((r) => r.stdout);
      /** A warm-up run, then the measured one: requests/s, latency and the server's CPU per request. */
      const measure = async (file) => {
        await wrk(file, p.warmUpSeconds);
        const cpu0 = server.cpu(), broker0 = server.brokerCpu();
        const out = await wrk(file, p.seconds);
        const cpu = server.cpu() - cpu0, broker = server.brokerCpu() - broker0;
        const num = (re) => Number(re.exec(out)?.[1] ?? NaN);
        const latency = (q) => {
          const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
          return m ? round(Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]], 3) : null;
        };
        const requests = num(/(\d+) requests in/);
        return {
          requests,
          perSec: round(num(/Requests\/sec:\s+([\d.]+)/), 0),
          errors: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
          socketErrors: /Socket errors: (.*)/.exec(out)?.[1] ?? null,
          p50: latency(50),
          p99: latency(99),
          serverCpuSeconds: round(cpu, 2),
          serverUsPerRequest: round((cpu * 1e6) / requests, 1),
          ...(broker ? { brokerCpuSeconds: round(broker, 2) } : {}),
        };
      };
      /**
       * One request of the kind wrk will send, answered without an error: wrk counts only non-2xx,
       * and both servers' APIs answer a refused command with 200 and an `error` inside.
       */
      const check = async (req) => {
        const conn = new RawHttpConn(server.port);
        const text = `POST ${req.path.replaceAll("@CH@", "0")} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") +
          `Content-Length: ${Buffer.byteLength(req.body.replaceAll("@CH@", "0"))}\r\n\r\n` +
          req.body.replaceAll("@CH@", "0");
        const r = await Promise.race([
          conn.request(text),
          sleep(5000).then(() => ({ status: 0, body: "timeout" })),
        ]);
        conn.close();
        if (r.status < 200 || r.status > 299 || r.body.includes('"error"')) {
          throw new Error(`${req.path} refused: ${r.status} ${r.body.slice(0, 200)}`);
        }
      };
      const single = server.pub("@CH@", JSON.stringify({ x: PAD }));
      await check(single);
      const res = await measure(script("publish.lua", single, `"ch" .. (n % ${p.channels})`));
      log(
        `  publish ${name}: ${res.perSec}/s, p99 ${res.p99} ms, ${res.serverUsPerRequest} µs server CPU per request${
          res.brokerCpuSeconds ? ` (Redis ${round(res.brokerCpuSeconds * 1e6 / res.requests, 1)})` : ""
        }, ${res.errors} errors`,
      );
      const batch = server.batch?.(p.batchSize, (i) => `ch@CH@_${i}`, JSON.stringify({ x: PAD }));
      if (batch) {
        // the bulk path: `batchSize` publications per request, each request into its own channels
        await check(batch);
        const b = await measure(
          script("batch.lua", batch, `n % ${Math.max(1, Math.round(p.channels / p.batchSize))}`),
        );
        res.batch = {
          size: p.batchSize,
          ...b,
          publicationsPerSec: round(b.perSec * p.batchSize, 0),
          serverUsPerPublication: round((b.serverCpuSeconds * 1e6) / (b.requests * p.batchSize), 2),
        };
        log(
          `  publish ${name} batch of ${p.batchSize}: ${res.batch.publicationsPerSec} publications/s, ${res.batch.serverUsPerPublication} µs server CPU per publication${
            b.brokerCpuSeconds
              ? ` (Redis ${round(b.brokerCpuSeconds * 1e6 / (b.requests * p.batchSize), 2)})`
              : ""
          }, ${b.errors} errors`,
        );
      }
      return res;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
