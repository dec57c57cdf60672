/**
 * Server pings on both emulation transports: the SDK answers through /emulation and stays
 * connected; a client that never answers is closed with 3012.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, sleep } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { connected, sdk, TRANSPORTS } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { connectCommand, openHttpStream, openSse } from "../helpers/raw.ts";

const fast = { ping_interval: "1s", pong_timeout: "500ms" };

for (const transport of TRANSPORTS) {
  test(`${transport}: the SDK answers pings and stays connected`, async (t) => {
    const s = await startServer(t, fast);
    const client = sdk(t, s, transport, { token: await userToken("pia"), maxServerPingDelay: 2000 });
    await connected(client);
    const events: string[] = [];
    client.on("disconnected", () => events.push("disconnected"));
    client.on("connecting", () => events.push("connecting"));
    await sleep(3500);
    assertEquals(events, []);
    assertEquals(client.state, "connected");
  }, { timeout: 10_000 });

  test(`${transport}: a client that never pongs is disconnected with 3012`, async (t) => {
    const s = await startServer(t, fast);
    const open = transport === "sse" ? openSse : openHttpStream;
    const stream = await open(s.url, connectCommand(await userToken("quin")));
    t.cleanup(() => stream.close());
    const connect = await stream.next();
    assertMatch(connect!, { id: 1, connect: { ping: 1, pong: true } });
    const ping = await stream.next(3000);
    assertEquals(ping, {}, "a ping is an empty object");
    const disconnect = await stream.next(3000);
    assertMatch(disconnect!, { push: { disconnect: { code: 3012 } } });
    assertEquals(await stream.next(2000), undefined, "stream ends after the disconnect push");
    const raw = stream.text();
    if (transport === "sse") assert(raw.includes("data: {}\n\n"), "sse ping framing");
    else assert(raw.includes("\n{}\n"), "http_stream ping framing");
  }, { timeout: 10_000 });
}
