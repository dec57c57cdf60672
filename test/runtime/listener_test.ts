/**
 * What the runtime's listener (Bun.serve; Deno's node:http) must do beyond serving requests, where
 * no other test looks: a request offering another protocol than WebSocket is an ordinary request.
 * Its bounds (idle and body timeouts, descriptors, slow readers) are in
 * operations/hostile_clients_test.ts, HTTPS and WSS in runtime/tls_test.ts.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { API_KEY, startServer } from "../helpers/server.ts";
import { rawSocket } from "../helpers/raw.ts";

test("a request offering another protocol (h2c, as Java's HttpClient does) is served as HTTP/1.1, body and all", async (t) => {
  // java.net.http.HttpClient asks to upgrade every first plain-http request to HTTP/2; a server
  // without h2c (Centrifugo's Go server, Bun) ignores the offer. Only WebSocket is an upgrade here.
  const s = await startServer(t, {});
  const raw = await rawSocket(t, s.port);
  const body = JSON.stringify({ channel: "h2c", data: { from: "java" } });
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
  // Through the upgrade path the body was lost ({"error":{"code":107,…"channel required"}}).
  assertEquals(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { result: {} });
});
