/**
 * Defaults (the `defaults` profile: a secret and an API key, nothing else): what is on, what is off,
 * and what a connection gets without any channel configuration.
 */
import { perTransport, scenario } from "../scenario.ts";

const bare = { profile: "defaults" };

perTransport(["websocket", "websocket_protobuf"], "defaults: WebSocket is on", async (s, t) => {
  const c = await s.connectAs(t, "alice");
  await s.subscribe(c, 2, s.ch("room"));
  await c.call({ id: 3, publish: { channel: s.ch("room"), data: 1 } });
  await c.call({ id: 4, presence: { channel: s.ch("room") } });
  await c.call({ id: 5, history: { channel: s.ch("room"), limit: 1 } });
}, bare);

scenario("defaults: the server API is on", async (s) => {
  await s.api("publish", { channel: s.ch("room"), data: 1 });
  await s.api("info", {}, { record: false });
}, bare);

for (
  const path of [
    "/connection/http_stream",
    "/connection/sse",
    "/connection/uni_sse",
    "/connection/uni_http_stream",
    "/emulation",
  ]
) {
  scenario(`defaults: ${path} is off`, async (s) => {
    await s.http(path, { method: "POST", body: "{}" });
  }, { ...bare, differs: "turned-off-path-says-why" });
}

scenario("defaults: /connection/uni_websocket is off", async (s) => {
  await s.http("/connection/uni_websocket");
}, { ...bare, differs: "turned-off-path-says-why" });

scenario("defaults: /health", async (s) => {
  await s.http("/health");
}, { ...bare, differs: "health-on-by-default" });

for (const path of ["/metrics", "/admin", "/", "/favicon.ico"]) {
  scenario(`defaults: GET ${path}`, async (s) => {
    await s.http(path);
  }, bare);
}
