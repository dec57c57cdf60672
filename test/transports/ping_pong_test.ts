/**
 * Server pings on both emulation transports: the SDK answers through /emulation and stays
 * connected; a client that never answers is closed with 3012. The server runs on a ManualClock:
 * a ping goes out, and a pong deadline passes, when the test moves it.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { startServer } from "../helpers/server.ts";
import { ManualClock } from "../helpers/clock.ts";
import { connected, EMULATION_TRANSPORTS, fence, sdk } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { connectCommand, openHttpStream, openSse } from "../helpers/raw.ts";

const fast = { ping_interval: "1s", pong_timeout: "500ms" };
/** The next ping is due within this: the interval (the first one 0.5–1 s), rounded up to the wheel's tick. */
const TO_NEXT_PING = 1100;
/** The pong deadline, rounded up to the wheel's tick. */
const PAST_PONG_TIMEOUT = 600;

for (const transport of EMULATION_TRANSPORTS) {
  test(`${transport}: the SDK answers pings and stays connected`, async (t) => {
    const clock = new ManualClock();
    const s = await startServer(t, fast, [], { now: clock.now });
    // After connect the SDK sends nothing through /emulation but pongs: each one counts once the
    // server has answered it.
    let pongs = 0;
    const fetchCountingPongs = async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (String(input).endsWith("/emulation")) pongs++;
      return res;
    };
    const client = sdk(t, s, transport, {
      token: await userToken("pia"),
      fetch: fetchCountingPongs,
      maxServerPingDelay: 2000,
    });
    await connected(client);
    const events: string[] = [];
    client.on("disconnected", () => events.push("disconnected"));
    client.on("connecting", () => events.push("connecting"));
    for (let ping = 1; ping <= 3; ping++) {
      clock.advance(TO_NEXT_PING, s.node.timers);
      await waitFor(() => pongs === ping, `pong ${ping}`);
      // An unanswered ping would now close the connection with 3012.
      clock.advance(PAST_PONG_TIMEOUT, s.node.timers);
    }
    await fence(s, client, "pia");
    assertEquals(events, []);
    assertEquals(client.state, "connected");
  });

  test(`${transport}: a client that never pongs is disconnected with 3012`, async (t) => {
    const clock = new ManualClock();
    const s = await startServer(t, fast, [], { now: clock.now });
    const open = transport === "sse" ? openSse : openHttpStream;
    const stream = await open(s.url, connectCommand(await userToken("quin")));
    t.cleanup(() => stream.close());
    const connect = await stream.next();
    assertMatch(connect!, { id: 1, connect: { ping: 1, pong: true } });
    clock.advance(TO_NEXT_PING, s.node.timers);
    const ping = await stream.next();
    assertEquals(ping, {}, "a ping is an empty object");
    clock.advance(PAST_PONG_TIMEOUT, s.node.timers);
    const disconnect = await stream.next();
    assertMatch(disconnect!, { push: { disconnect: { code: 3012 } } });
    assertEquals(await stream.next(), undefined, "stream ends after the disconnect push");
    const raw = stream.text();
    if (transport === "sse") assert(raw.includes("data: {}\n\n"), "sse ping framing");
    else assert(raw.includes("\n{}\n"), "http_stream ping framing");
  });
}
