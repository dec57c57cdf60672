/**
 * Sluice's own CPU per delivery in a fan-out, without the network: N connections (one transport
 * kind per run) subscribed to one channel through `server.fetch` and a stand-in runtime, then
 * publications through the server API, each delivered to all N through the real hub, outbox and
 * writer. The stand-in runtime takes what it is given and drops it (a stream is drained as
 * node_http drains it: pull, write, pull again; a WebSocket's sends are counted), so the figure is
 * Sluice's work alone. Prints µs of CPU (`process.cpuUsage`: user + system) per delivery for each
 * round and the best.
 *
 *   npx bun bench/micro/fanout.ts [connections] [--rounds N] [--pubs N] [--kind K]…
 *   deno run -A bench/micro/fanout.ts …
 *
 * K is websocket (JSON), websocket_protobuf, uni_websocket or uni_http_stream; every kind
 * without `--kind`. Compare branches in alternating runs on an idle box: the figure moves with load.
 */
import process from "node:process";
import { setImmediate } from "node:timers";
import { SignJWT } from "jose";
import { loadConfig } from "../../src/config/mod.ts";
import { createServer } from "../../src/server.ts";
import type { ByteSource, ConnInfo, ServerWebSocket, WebSocketEvents } from "../../src/runtime/types.ts";

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const connections = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith("--")) ?? 10_000);
const rounds = option("--rounds", 5);
/** Publications per round, each published and delivered in its own turn. */
const pubs = option("--pubs", 20);
const KINDS = ["websocket", "websocket_protobuf", "uni_websocket", "uni_http_stream"] as const;
type Kind = typeof KINDS[number];
const kinds = argv.flatMap((a, i) => argv[i - 1] === "--kind" ? [a as Kind] : []);

const secret = "micro-secret-0123456789";
const { config } = loadConfig({
  file: {
    token_hmac_secret_key: secret,
    api_key: "k",
    log_level: "warn",
    uni_http_stream: true,
    uni_websocket: true,
    ping_interval: "1h", // no pings in the measured rounds
  },
});
const token = await new SignJWT({ sub: "u", channels: ["fan"] }).setProtectedHeader({ alg: "HS256" })
  .setExpirationTime("1h").sign(new TextEncoder().encode(secret));
const server = createServer(config);
await server.start();

/** What the stand-in runtime was handed: messages or chunks, and when it last got any. */
let received = 0;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const socket: ServerWebSocket = {
  sendText: () => void received++,
  sendTexts: (texts) => void (received += texts.length),
  sendBinary: () => void received++,
  bufferedAmount: 0,
  close() {},
  terminate() {},
};

/** A connection's runtime side: no close ever comes; streams drained directly; sockets open. */
function connInfo(): ConnInfo & { events?: WebSocketEvents } {
  const info: ConnInfo & { events?: WebSocketEvents } = {
    onClose() {},
    holdOpen() {},
    responseEnded() {},
    abort() {},
    upgradeWebSocket(_req, upgrade) {
      info.events = upgrade.events;
      return new Response(null);
    },
    streamResponse(source: ByteSource, init: ResponseInit) {
      source.start({
        enqueue() {
          received++;
          source.pull();
        },
        close() {},
        error() {},
      });
      source.pull();
      return new Response(null, init);
    },
  };
  return info;
}

async function connect(kind: Kind): Promise<void> {
  const conn = connInfo();
  const url = "http://127.0.0.1/connection/";
  if (kind === "uni_http_stream") {
    await server.fetch(
      new Request(url + kind, { method: "POST", body: JSON.stringify({ token }) }),
      conn,
    );
    return;
  }
  const protobuf = kind === "websocket_protobuf";
  const path = kind === "uni_websocket"
    ? `uni_websocket?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}`
    : `websocket${protobuf ? "?format=protobuf" : ""}`;
  await server.fetch(new Request(url + path, { headers: { upgrade: "websocket" } }), conn);
  conn.events!.open(socket);
  if (kind === "websocket") conn.events!.message(JSON.stringify({ id: 1, connect: { token } }));
  if (protobuf) conn.events!.message(protobufConnect(token));
}

/** A varint-delimited protobuf Command { id: 1, connect: { token } }. */
function protobufConnect(token: string): Uint8Array {
  const t = new TextEncoder().encode(token);
  const connectReq = [0x0a, ...varint(t.length), ...t];
  const command = [0x08, 1, 0x22, ...varint(connectReq.length), ...connectReq];
  return new Uint8Array([...varint(command.length), ...command]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

async function publish(i: number): Promise<void> {
  const body = `{"channel":"fan","data":{"text":"hello, subscribers","n":${i}}}`;
  const res = await server.fetch(
    new Request("http://127.0.0.1/api/publish", {
      method: "POST",
      headers: { "X-API-Key": "k", "Content-Type": "application/json", "Content-Length": `${body.length}` },
      body,
    }),
  );
  await res.text();
  await turn(); // the outboxes flush at the end of the turn
}

async function measure(kind: Kind): Promise<void> {
  for (let i = 0; i < connections; i++) await connect(kind);
  await turn();
  for (let i = 0; i < 3; i++) await publish(i); // warm up
  const figures: number[] = [];
  for (let r = 0; r < rounds; r++) {
    received = 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < pubs; i++) await publish(i);
    const cpu = process.cpuUsage(cpu0);
    if (received !== pubs * connections) {
      throw new Error(`${kind}: ${received} deliveries, not ${pubs * connections}`);
    }
    figures.push((cpu.user + cpu.system) / (pubs * connections));
  }
  console.log(
    `${kind.padEnd(18)} ${connections} × ${pubs} pubs: µs CPU per delivery ${
      figures.map((f) => f.toFixed(3)).join(", ")
    }; best ${Math.min(...figures).toFixed(3)}`,
  );
  // Everyone leaves: the next kind starts with an empty channel.
  await server.fetch(
    new Request("http://127.0.0.1/api/disconnect", {
      method: "POST",
      headers: { "X-API-Key": "k" },
      body: JSON.stringify({ user: "u" }),
    }),
  );
  await turn();
}

for (const kind of kinds.length > 0 ? kinds : KINDS) await measure(kind);
await server.close();
process.exit(0);
