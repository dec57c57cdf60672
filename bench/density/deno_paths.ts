/**
 * Idle SSE connection cost on Deno by serving path — where the memory goes (bench/README.md,
 * "Idle density on Deno"). One server per run; bench/density/probe.mjs opens the connections and
 * reads RSS.
 *
 *   deno run -A bench/density/deno_paths.ts <path> <port>
 *
 * path: serve        Deno.serve, a ReadableStream body (what Sluice's removed deno_serve listener did)
 *       serve-bytes  Deno.serve, a type: "bytes" ReadableStream body
 *       conn         Sluice's runtime adapter (node:http since its own listener was removed), a
 *                    ReadableStream body
 *       nodehttp     node:http createServer, res.write (Deno's Node compatibility)
 *       nodehttp-stream  the same, the body a Web ReadableStream pumped into res.write
 *       raw          Deno.listen, the response head and events written on the TCP socket by hand
 */
import { getRuntime } from "../../src/runtime/serve.ts";

const [path, portArg] = Deno.args;
const port = Number(portArg);
const HEAD = ": ok\n\n";
const enc = new TextEncoder();
const streams: Array<(b: Uint8Array) => void> = [];

function sseBody(bytes = false): ReadableStream<Uint8Array> {
  return new ReadableStream(
    bytes
      ? {
        type: "bytes",
        start(c) {
          c.enqueue(enc.encode(HEAD));
          streams.push((b) => c.enqueue(b));
        },
      }
      : {
        start(c) {
          c.enqueue(enc.encode(HEAD));
          streams.push((b) => c.enqueue(b));
        },
      },
  );
}
const headers = { "content-type": "text/event-stream", "cache-control": "no-cache" };

switch (path) {
  case "serve":
  case "serve-bytes":
    Deno.serve(
      { port, hostname: "127.0.0.1", onListen() {} },
      () => new Response(sseBody(path === "serve-bytes"), { headers }),
    );
    break;
  case "conn": {
    const runtime = await getRuntime();
    await runtime.listen({
      port,
      hostname: "127.0.0.1",
      handler: (_req, conn) => {
        conn.holdOpen();
        return new Response(sseBody(), { headers });
      },
    });
    break;
  }
  case "nodehttp": {
    const http = await import("node:http");
    http.createServer((_req, res) => {
      res.writeHead(200, headers);
      res.write(HEAD);
      streams.push((b) => res.write(b));
    }).listen(port, "127.0.0.1");
    break;
  }
  case "nodehttp-stream": {
    // node:http carrying a Web ReadableStream body, pumped into res.write (a fetch-handler adapter)
    const http = await import("node:http");
    http.createServer((_req, res) => {
      res.writeHead(200, headers);
      const reader = sseBody().getReader();
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!res.write(value)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
      })().catch(() => {});
    }).listen(port, "127.0.0.1");
    break;
  }
  case "raw": {
    const listener = Deno.listen({ port, hostname: "127.0.0.1" });
    (async () => {
      for await (const conn of listener) {
        (async () => {
          const buf = new Uint8Array(4096);
          await conn.read(buf); // the request head (small, one packet on loopback)
          await conn.write(enc.encode(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n" +
              "transfer-encoding: chunked\r\n\r\n",
          ));
          const chunk = (s: string) => enc.encode(`${s.length.toString(16)}\r\n${s}\r\n`);
          await conn.write(chunk(HEAD));
          streams.push((b) => void conn.write(b).catch(() => {}));
        })().catch(() => {});
      }
    })();
    break;
  }
  default:
    throw new Error(`unknown path ${path}`);
}
console.log("listening");
// A heartbeat every 25 s, as Sluice, so nothing is idle forever in a way the runtime could cheat.
setInterval(() => {
  const ping = enc.encode(": ping\n\n");
  for (const write of streams) {
    try {
      write(ping);
    } catch { /* gone */ }
  }
}, 25_000);
