/**
 * The single executable (`bun build --compile`) with plugins: a user plugin loaded from a folder
 * next to it (a plain object importing nothing, throwing errors recognised by their shape), and
 * the shipped publish_validate plugin bundled inside it. A plugin importing `"sluice"` is in
 * `app_plugin_test.ts`.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { type Proc, spawnGroup, start } from "../helpers/process.ts";
import { binary } from "../helpers/binary.ts";
import { emulate, openHttpStream, openRaw, type RawStream } from "../helpers/raw.ts";

const TIMEOUT = 60_000;

/** A user plugin with no imports at all, errors by shape (still supported). */
const MY_AUTH = `
export default {
  name: "my_auth",
  onConnecting(event) {
    const user = event.client.headers.get("x-user");
    if (!user) return undefined;
    if (user === "banned") {
      throw Object.assign(new Error("banned"), { name: "ClientError", code: 403 });
    }
    if (user === "evil") {
      throw Object.assign(new Error("go away"), { name: "Disconnect", code: 4403 });
    }
    return { user, info: { via: "my_auth" } };
  },
};
`;

/** Writes `<dir>/plugins/my_auth.ts` and `<dir>/config.json`, starts the binary with --config. */
async function startBinary(t: TestContext, config: Record<string, unknown>): Promise<Proc & { dir: string }> {
  const bin = await binary();
  const dir = mkdtempSync(join(tmpdir(), "sluice-app-"));
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "plugins"));
  writeFileSync(join(dir, "plugins", "my_auth.ts"), MY_AUTH);
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      token_hmac_secret_key: "s",
      api_key: "k",
      plugins_dir: join(dir, "plugins"),
      ...config,
    }),
  );
  const p = start(
    t,
    bin,
    ["--config", join(dir, "config.json"), "--port", "0", "--address", "127.0.0.1"],
    {},
    dir,
  );
  t.onFailure(() => `    --- binary output ---\n${p.output()}`);
  return { ...p, dir };
}

async function urlOf(p: Proc): Promise<string> {
  const m = await p.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+)/);
  return `http://127.0.0.1:${m[1]}`;
}

async function connect(t: TestContext, url: string, user?: string): Promise<RawStream> {
  const stream = await openHttpStream(
    url,
    JSON.stringify({ id: 1, connect: {} }),
    user ? { "x-user": user } : {},
  );
  t.cleanup(() => stream.close());
  return stream;
}

test(
  "compiled binary: a plain-object plugin from plugins_dir decides connects; errors by shape keep their codes",
  async (t) => {
    const p = await startBinary(t, { http_stream: true, plugins: { my_auth: {} } });
    const url = await urlOf(p);
    assert(/plugins loaded.*my_auth/.test(p.output()), p.output());

    const ok = await connect(t, url, "alice");
    assertMatch((await ok.next())!, { id: 1, connect: {} });

    const banned = await connect(t, url, "banned");
    assertEquals(await banned.next(), { id: 1, error: { code: 403, message: "banned" } });

    const evil = await connect(t, url, "evil");
    assertEquals(await evil.next(), { push: { disconnect: { code: 4403, reason: "go away" } } });

    // no header: the plugin passes, there is no token either → the core's "no credentials" 3501
    const nobody = await connect(t, url);
    assertMatch((await nobody.next())!, { push: { disconnect: { code: 3501 } } });
  },
  { timeout: TIMEOUT },
);

test("compiled binary: the shipped publish_validate plugin is bundled and answers 107", async (t) => {
  const p = await startBinary(t, {
    http_stream: true,
    allow_subscribe_for_client: true,
    allow_publish_for_client: true,
    plugins: {
      my_auth: {},
      publish_validate: {
        schemas: { "": { type: "object", required: ["text"], properties: { text: { type: "string" } } } },
      },
    },
  });
  const url = await urlOf(p);
  const stream = await connect(t, url, "alice");
  const reply = (await stream.next())!.connect as { session: string; node: string };
  const send = async (commands: unknown[]) => {
    const res = await emulate(url, reply.session, reply.node, commands);
    assert(res.ok, `emulation request answered ${res.status}`);
    await res.body?.cancel();
  };
  await send([{ id: 2, subscribe: { channel: "news" } }]);
  assertMatch((await stream.until((m) => m.id === 2))!, { id: 2, subscribe: {} });
  await send([{ id: 3, publish: { channel: "news", data: { text: 1 } } }]);
  assertEquals(await stream.until((m) => m.id === 3), {
    id: 3,
    error: { code: 107, message: "/text must be string" },
  });
  await send([{ id: 4, publish: { channel: "news", data: { text: "hi" } } }]);
  assertMatch((await stream.until((m) => !!(m.push as { pub?: unknown })?.pub))!, {
    push: {
      channel: "news",
      pub: { data: { text: "hi" }, info: { user: "alice", conn_info: { via: "my_auth" } } },
    },
  });
}, { timeout: TIMEOUT });

test("compiled binary: an invalid schema stops boot, naming the plugin and the namespace", async (t) => {
  const p = await startBinary(t, {
    http_stream: true,
    namespaces: [{ name: "chat" }],
    plugins: { publish_validate: { schemas: { chat: { type: "strnig" } } } },
  });
  assertEquals(await p.exited, 1);
  assert(/sluice: .*publish_validate.*namespace "chat"/.test(p.output()), p.output());
}, { timeout: TIMEOUT });

test("compiled binary: its own CLI mints a token; every transport, the API and metrics work", async (t) => {
  const bin = await binary();
  const version = spawnGroup(bin, ["version"]);
  assertEquals(await version.exited, 0);
  assert(/^sluice \d+\.\d+\.\d+ \(bun /.test(version.output()), version.output());
  const p = await startBinary(t, {
    http_stream: true,
    sse: true,
    uni_sse: true,
    uni_http_stream: true,
    prometheus: true,
    allow_subscribe_for_client: true,
  });
  const url = await urlOf(p);
  const gen = spawnGroup(
    bin,
    [
      "gentoken",
      "--user",
      "u1",
      "--channels",
      "news",
      "--config",
      join(p.dir, "config.json"),
    ],
    {},
    p.dir,
  );
  assertEquals(await gen.exited, 0);
  const token = gen.output().trim();
  const connect = JSON.stringify({ id: 1, connect: { token } });
  const uniBody = JSON.stringify({ token });
  const streams = [
    await openHttpStream(url, connect),
    await openRaw(`${url}/connection/sse?cf_connect=${encodeURIComponent(connect)}`, {}, "sse"),
    await openRaw(`${url}/connection/uni_sse?cf_connect=${encodeURIComponent(uniBody)}`, {}, "sse"),
    await openRaw(`${url}/connection/uni_http_stream`, { method: "POST", body: uniBody }, "ndjson"),
  ];
  for (const s of streams) {
    t.cleanup(() => s.close());
    assertMatch((await s.next())!, {}, "connect reply or push");
  }
  const res = await fetch(`${url}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": "k" },
    body: JSON.stringify({ channel: "news", data: { from: "binary" } }),
  });
  assertEquals(res.status, 200);
  for (const s of streams) {
    const msg = await s.until((m) => JSON.stringify(m).includes('"from":"binary"'));
    assert(msg !== undefined, "publication on every transport");
  }
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert(metrics.includes('centrifugo_client_connections_accepted{transport="uni_sse"} 1'), "metrics move");
}, { timeout: TIMEOUT });

test(
  "compiled binary: the SDK's default URL form (websocket), JSON and protobuf, connects, subscribes and receives",
  async (t) => {
    const p = await startBinary(t, { allow_subscribe_for_client: true });
    const url = await urlOf(p);
    const { Centrifuge } = await import("centrifuge");
    const gen = spawnGroup(await binary(), [
      "gentoken",
      "--user",
      "ws-user",
      "--config",
      join(p.dir, "config.json"),
    ]);
    assertEquals(await gen.exited, 0);
    const client = new Centrifuge(`${url.replace("http", "ws")}/connection/websocket`, {
      token: gen.output().trim(),
      websocket: WebSocket,
    });
    t.cleanup(() => client.disconnect());
    const connected = new Promise<{ transport: string }>((resolve) => client.once("connected", resolve));
    client.connect();
    assertEquals((await connected).transport, "websocket");
    const sub = client.newSubscription("news");
    const got = new Promise<{ data: unknown }>((resolve) => sub.once("publication", resolve));
    const ready = new Promise((resolve) => sub.once("subscribed", resolve));
    sub.subscribe();
    await ready;
    const res = await fetch(`${url}/api/publish`, {
      method: "POST",
      headers: { "X-API-Key": "k" },
      body: JSON.stringify({ channel: "news", data: { over: "websocket" } }),
    });
    assertEquals(res.status, 200);
    assertEquals((await got).data, { over: "websocket" });

    // the SDK's protobuf build: the binary bundles the generated protobuf code
    const { Centrifuge: ProtobufCentrifuge } = await import("centrifuge/build/protobuf");
    const pb = new ProtobufCentrifuge(`${url.replace("http", "ws")}/connection/websocket`, {
      token: gen.output().trim(),
      websocket: WebSocket,
    });
    t.cleanup(() => pb.disconnect());
    const pbConnected = new Promise<{ transport: string }>((resolve) => pb.once("connected", resolve));
    pb.connect();
    assertEquals((await pbConnected).transport, "websocket");
    const pbSub = pb.newSubscription("news");
    const pbGot = new Promise<{ data: Uint8Array }>((resolve) => pbSub.once("publication", resolve));
    const pbReady = new Promise((resolve) => pbSub.once("subscribed", resolve));
    pbSub.subscribe();
    await pbReady;
    const raw = await fetch(`${url}/api/publish`, {
      method: "POST",
      headers: { "X-API-Key": "k" },
      body: JSON.stringify({ channel: "news", b64data: btoa("\u0001\u0002raw") }),
    });
    assertEquals(raw.status, 200);
    assertEquals([...(await pbGot).data], [1, 2, 114, 97, 119], "raw bytes, exactly");
  },
  { timeout: TIMEOUT },
);

test(
  "compiled binary: dev mode serves its page and the SDK's browser build from inside the binary",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-dev-"));
    t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const p = start(t, await binary(), ["--port", "0", "--address", "127.0.0.1"], {}, dir);
    const url = await urlOf(p);
    const page = await fetch(`${url}/`);
    assertEquals(page.status, 200);
    assert((await page.text()).includes("/_sluice/centrifuge.js"));
    const sdk = await fetch(`${url}/_sluice/centrifuge.js`);
    assertEquals(sdk.status, 200);
    assert((await sdk.text()).length > 50_000, "the SDK's browser build, embedded");
  },
  { timeout: TIMEOUT },
);
