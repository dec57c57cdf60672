/**
 * `deno_listener: "node_http"` (Deno's node:http, the default there; on Bun the key changes
 * nothing): the official SDK over http_stream and sse with `/emulation`, uni_sse with a publication,
 * a client that goes away releasing its session, body limits (declared and chunked), and HTTPS from a
 * server process. WebSocket on it: test/transports/websocket_test.ts (which runs on the default
 * listener); the hostile-client suite runs on it and on Sluice's own Deno listener.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { API_KEY, startServer } from "../helpers/server.ts";
import { collect, connected, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { openRaw, rawSocket } from "../helpers/raw.ts";
import { root, sluice, writeConfig } from "../helpers/process.ts";
import { join } from "node:path";
import tls from "node:tls";
import type { PublicationContext } from "centrifuge";
import { getRuntime } from "../../src/runtime/serve.ts";

const onDeno = (await getRuntime()).name === "deno";
const skip = onDeno ? false : "a Deno listener";
const config = {
  deno_listener: "node_http",
  uni_sse: true,
  namespaces: [{ name: "room", allow_subscribe_for_client: true, allow_publish_for_subscriber: true }],
};

for (const transport of TRANSPORTS) {
  test(`node_http: the SDK over ${transport} connects, subscribes, publishes and receives`, async (t) => {
    const s = await startServer(t, config);
    const client = sdk(t, s, transport, { token: await userToken("nh") });
    await connected(client);
    const sub = client.newSubscription("room:a");
    const got = collect<PublicationContext>(sub, "publication");
    await subscribed(sub);
    await sub.publish({ from: "sdk" });
    await s.apiJson("publish", { channel: "room:a", data: { from: "api" } });
    await waitFor(() => got.length === 2, "both publications");
    assertEquals(got.map((p) => p.data), [{ from: "sdk" }, { from: "api" }]);
    client.disconnect();
    await waitFor(() => s.node.hub.numClients === 0, "the session released");
  }, { skip });
}

test(
  "node_http: uni_sse gets the connect push and a publication; a client that leaves is released",
  async (t) => {
    const s = await startServer(t, config);
    const token = await userToken("reader", 3600, { channels: ["news"] });
    const cf = encodeURIComponent(JSON.stringify({ token }));
    const stream = await openRaw(`${s.url}/connection/uni_sse?cf_connect=${cf}`, {}, "sse");
    assert("connect" in (await stream.next())!, "the connect push");
    await s.apiJson("publish", { channel: "news", data: { n: 1 } });
    assertEquals((await stream.next())!.pub, { data: { n: 1 } });
    assertEquals(s.node.hub.numClients, 1);
    stream.close();
    await waitFor(() => s.node.hub.numClients === 0, "the session released when the client left");
  },
  { skip },
);

test(
  "node_http: bodies over the limit are 413, declared or chunked; the connection then closes",
  async (t) => {
    const s = await startServer(t, { ...config, http_stream_max_request_body_size: 1024 });
    const big = JSON.stringify({ id: 1, connect: { token: "x".repeat(2000) } });
    assertEquals((await fetch(`${s.url}/connection/http_stream`, { method: "POST", body: big })).status, 413);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode("z".repeat(600)));
        c.close();
      },
    });
    const res = await fetch(`${s.url}/connection/http_stream`, {
      method: "POST",
      body: chunked,
      duplex: "half",
    } as RequestInit);
    assertEquals(res.status, 413);
    assertEquals((await fetch(`${s.url}/health`)).status, 200);
  },
  { skip },
);

test(
  "node_http: a request offering another protocol (h2c, as Java's HttpClient does) is served as HTTP/1.1, body and all",
  async (t) => {
    // java.net.http.HttpClient asks to upgrade every first plain-http request to HTTP/2; a server
    // without h2c (Centrifugo's Go server, Bun) ignores the offer. Only WebSocket is an upgrade here.
    const s = await startServer(t, config);
    const body = JSON.stringify({ channel: "h2c", data: { from: "java" } });
    const raw = await rawSocket(t, s.port);
    raw.sock.write(
      `POST /api/publish HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
        `HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\nX-API-Key: ${API_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    // The whole answer: its head, then Content-Length bytes of body (ASCII here). The connection
    // stays open (keep-alive), so its close is no sign of the end.
    const complete = (text: string) => {
      const head = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text);
      return head >= 0 && length !== null && text.length - head - 4 >= Number(length[1]);
    };
    await waitFor(() => complete(raw.received()), "the whole answer");
    const answer = raw.received();
    assert(answer.startsWith("HTTP/1.1 200"), answer);
    // Before: the request went the upgrade way without its body ({"error":{"code":107,…"channel required"}}).
    assertEquals(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { result: {} });
  },
  { skip },
);

test("node_http: HTTPS from tls_cert / tls_key in a server process", async (t) => {
  const fixtures = join(root, "test", "fixtures", "tls");
  const file = writeConfig({
    ...config,
    tls_cert: join(fixtures, "cert.pem"),
    tls_key: join(fixtures, "key.pem"),
    token_hmac_secret_key: "node-http-secret",
  });
  const p = sluice(t, ["--config", file, "--port", "0", "--address", "127.0.0.1"]);
  const port = Number((await p.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+) tls=true/))[1]);
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" });
    let text = "";
    sock.on(
      "secureConnect",
      () => sock.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    sock.on("data", (d: Uint8Array) => (text += new TextDecoder().decode(d)));
    sock.on("close", () => resolve(text));
    sock.on("error", reject);
  });
  assert(answer.startsWith("HTTP/1.1 200"), answer);
}, { skip });
