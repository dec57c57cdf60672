/**
 * An app team's plugin, as they would write it: in their own folder outside any Sluice checkout,
 * importing the public API as `"sluice"` (and a helper file of their own), enabled from their
 * config by a relative path. A real server process on the runtime running this suite, and the
 * compiled binary, load it from that folder; the real SDK sees its decisions: connects accepted
 * as the plugin's user or refused with its terminal Disconnect, publishes rejected with its
 * ClientError or delivered.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Centrifuge } from "centrifuge";
import { type Proc, sluice, start } from "../helpers/process.ts";
import { binary } from "../helpers/binary.ts";
import { once } from "../helpers/sdk.ts";

const TIMEOUT = 60_000;

const DEVICE_AUTH = `
import { ClientError, definePlugin, Disconnect } from "sluice";
import { lookupDevice } from "./devices.ts";

export default (options: { devices: Record<string, string> }) =>
  definePlugin({
    name: "device_auth",
    onConnecting(event) {
      const key = (event.data as { key?: string } | undefined)?.key;
      if (key === undefined) return undefined;
      const owner = lookupDevice(options.devices, key);
      if (!owner) throw new Disconnect(4501, "unknown device");
      return { user: owner, info: { device: key } };
    },
    onPublish(event) {
      const temp = (event.data as { temp?: unknown })?.temp;
      if (typeof temp !== "number") throw new ClientError(400, "temp must be a number");
      return { data: { temp, by: event.client.user } };
    },
  });
`;

const DEVICES = `
import type { Logger } from "sluice";
export type { Logger };
export function lookupDevice(devices: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(devices, key) ? devices[key] : undefined;
}
`;

/** The app's folder: `plugins/device_auth.ts`, `plugins/devices.ts`, `config.json`. */
function appFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "my-app-"));
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "plugins"));
  writeFileSync(join(dir, "plugins", "device_auth.ts"), DEVICE_AUTH);
  writeFileSync(join(dir, "plugins", "devices.ts"), DEVICES);
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      token_hmac_secret_key: "unused-here",
      http_stream: true,
      allow_subscribe_for_client: true,
      allow_publish_for_client: true,
      plugins: { "./plugins/device_auth.ts": { devices: { "k-1": "alice", "k-2": "bob" } } },
    }),
  );
  return dir;
}

const ARGS = ["--config", "config.json", "--port", "0", "--address", "127.0.0.1"];

async function urlOf(p: Proc): Promise<string> {
  const m = await p.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+)/);
  return `http://127.0.0.1:${m[1]}`;
}

function device(t: TestContext, url: string, key: string): Centrifuge {
  const client = new Centrifuge(
    [{ transport: "http_stream", endpoint: `${url}/connection/http_stream` }],
    {
      emulationEndpoint: `${url}/emulation`,
      fetch: globalThis.fetch.bind(globalThis),
      readableStream: ReadableStream,
      data: { key },
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    },
  );
  t.cleanup(() => client.disconnect());
  return client;
}

/** What every way of running Sluice must show with the app's plugin. */
async function pluginDecides(t: TestContext, p: Proc): Promise<void> {
  t.onFailure(() => `    --- server output ---\n${p.output()}`);
  const url = await urlOf(p);
  assert(/plugins loaded plugins=\["device_auth"\]/.test(p.output()), p.output());

  const alice = device(t, url, "k-1");
  const bob = device(t, url, "k-2");
  const aliceIn = once(alice, "connected");
  const bobIn = once(bob, "connected");
  alice.connect();
  bob.connect();
  await Promise.all([aliceIn, bobIn]);

  const watch = bob.newSubscription("sensors");
  const publications: Array<{ data: unknown; info?: { user: string } }> = [];
  watch.on("publication", (ctx) => publications.push(ctx as (typeof publications)[number]));
  const subscribed = once(watch, "subscribed");
  watch.subscribe();
  await subscribed;

  const sensor = alice.newSubscription("sensors");
  const ready = once(sensor, "subscribed");
  sensor.subscribe();
  await ready;
  const refused = await sensor.publish({ temp: "hot" }).then(() => undefined, (e) => e);
  assertEquals(
    refused,
    { code: 400, message: "temp must be a number", temporary: false },
    "the plugin's ClientError",
  );
  await sensor.publish({ temp: 21.5 });
  const delivered = await waitFor(() => publications[0], "the first publication");
  assertEquals(delivered.data, { temp: 21.5, by: "alice" }, "the plugin's replacement data");
  assertEquals(delivered.info?.user, "alice", "the user the plugin chose");
  assertEquals(publications.length, 1, "the refused publication reached nobody");

  const stranger = device(t, url, "k-unknown");
  const gone = once<{ code: number; reason: string }>(stranger, "disconnected");
  stranger.connect();
  assertEquals(await gone, { code: 4501, reason: "unknown device" }, "terminal: the SDK stays away");
}

test('an app\'s plugin importing "sluice" from its own folder runs in a server process', async (t) => {
  const dir = appFolder(t);
  await pluginDecides(t, sluice(t, ARGS, {}, dir));
}, { timeout: TIMEOUT });

test("the compiled binary loads the same plugin file unchanged", async (t) => {
  const dir = appFolder(t);
  await pluginDecides(t, start(t, await binary(), ARGS, {}, dir));
}, { timeout: TIMEOUT });

test(
  "mod.ts imported by a plugin through a path (the older style) does not deadlock the server",
  async (t) => {
    const dir = appFolder(t);
    const mod = new URL("../../mod.ts", import.meta.url).href;
    writeFileSync(
      join(dir, "plugins", "device_auth.ts"),
      DEVICE_AUTH.replace(`from "sluice"`, `from ${JSON.stringify(mod)}`),
    );
    await pluginDecides(t, sluice(t, ARGS, {}, dir));
  },
  { timeout: TIMEOUT },
);
