/**
 * `tls_cert` / `tls_key`: the server process serves HTTPS and WSS directly (a self-signed
 * certificate from test/fixtures/tls). The clients are node:tls sockets that accept it: an HTTPS
 * request, and a WebSocket upgrade carrying a connect command whose reply comes back over TLS.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { join } from "node:path";
import { getRuntime } from "../../src/runtime/serve.ts";
import tls from "node:tls";
import { root, sluice, writeConfig } from "../helpers/process.ts";
import { userToken } from "../helpers/tokens.ts";
import { SECRET } from "../helpers/server.ts";

const fixtures = join(root, "test", "fixtures", "tls");

/** Writes `request` over TLS and collects what comes back until `done` says so. */
function overTls(
  port: number,
  request: Uint8Array | string,
  done: (text: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" });
    let text = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`over TLS, got only: ${text}`));
    }, 5000);
    sock.on("secureConnect", () => sock.write(request));
    sock.on("data", (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      if (done(text)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(text);
      }
    });
    sock.on("error", (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const head = payload.length < 126
    ? [0x81, 0x80 | payload.length]
    : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 255];
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head, 0);
  out.set([9, 8, 7, 6], head.length);
  payload.forEach((b, i) => (out[head.length + 4 + i] = b ^ [9, 8, 7, 6][i % 4]));
  return out;
}

/** A server process with the test certificate (HTTPS only), started as users start it; its port. */
async function tlsServer(t: TestContext): Promise<{ p: ReturnType<typeof sluice>; port: number }> {
  const config = writeConfig({
    tls_cert: join(fixtures, "cert.pem"),
    tls_key: join(fixtures, "key.pem"),
    token_hmac_secret_key: SECRET,
    http_stream: true,
  });
  const p = sluice(t, ["--config", config, "--port", "0", "--address", "127.0.0.1"]);
  const port = Number((await p.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+) tls=true/))[1]);
  return { p, port };
}

test("tls_cert / tls_key: HTTPS and WSS straight from the server", async (t) => {
  const { p, port } = await tlsServer(t);

  const health = await overTls(
    port,
    "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    (x) => x.includes("{}"),
  );
  assert(health.startsWith("HTTP/1.1 200"), health);

  const token = await userToken("secure");
  const upgrade = "GET /connection/websocket HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n" +
    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  const frame = maskedTextFrame(JSON.stringify({ id: 1, connect: { token } }));
  const head = new TextEncoder().encode(upgrade);
  const request = new Uint8Array(head.length + frame.length);
  request.set(head, 0);
  request.set(frame, head.length);
  const wss = await overTls(port, request, (x) => x.includes('"client"'));
  assert(wss.startsWith("HTTP/1.1 101"), wss);
  assert(/"id":1,"connect":\{"client":"/.test(wss), `connect reply over WSS: ${wss}`);

  const plain = await fetch(`http://127.0.0.1:${port}/health`).then(() => "answered", () => "refused");
  assertEquals(plain, "refused", "no plain HTTP on the TLS port");
  // Deno's node:http has no HTTP/2: said in the log, where the operator looks.
  assertEquals(
    p.output().includes("HTTPS on Deno is HTTP/1.1 only"),
    (await getRuntime()).name === "deno",
    p.output(),
  );
});

test("tls_cert without tls_key stops startup naming the key", async (t) => {
  const config = writeConfig({ tls_cert: join(fixtures, "cert.pem") });
  const p = sluice(t, ["--config", config, "--port", "0"]);
  assertEquals(await p.exited, 1);
  assert(p.output().includes("tls_cert and tls_key go together"), p.output());
});

test("tls: a stream (http_stream) over HTTPS", async (t) => {
  const { port } = await tlsServer(t);
  const body = JSON.stringify({ id: 1, connect: { token: await userToken("secure") } });
  const stream = await overTls(
    port,
    `POST /connection/http_stream HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    (x) => x.includes('"client"'),
  );
  assert(stream.startsWith("HTTP/1.1 200"), stream);
});
