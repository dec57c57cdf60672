/**
 * The server as users start it: `mod.ts` run by this runtime (dev mode, --config, --port, env
 * overrides, bad config, SIGINT), plus the package scripts.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import process from "node:process";
import { getRuntime } from "../../src/runtime/serve.ts";
import { portOf, type Proc, sluice, start, tempDir, writeConfig } from "../helpers/process.ts";
import { connectCommand, openHttpStream, openRaw } from "../helpers/raw.ts";
import { token } from "../helpers/tokens.ts";
import { once } from "../helpers/sdk.ts";
import { Centrifuge } from "centrifuge";

const runtime = await getRuntime();

test("dev mode prints a working token, a stream to watch and a publish line", async (t) => {
  const p = sluice(t, ["--port", "0"]);
  await p.waitFor(/Publish to it/);
  const out = p.output();
  const url = /URL:\s+(\S+)/.exec(out)![1];
  const apiKey = /API key:\s+(\S+)/.exec(out)![1];
  const tok = /Token:\s+(\S+)/.exec(out)![1];
  // the watch line is a unidirectional stream (curl cannot answer pings), run as printed
  const watch = /curl -N -X POST (\S+\/connection\/uni_http_stream) -d '([^']+)'/.exec(out);
  assert(watch, `uni_http_stream curl line in:\n${out}`);
  assert(watch[2].includes(tok), "the watch line carries the printed token");
  assert(out.includes(`-H "X-API-Key: ${apiKey}"`), "publish curl line");
  assert(out.includes(`new Centrifuge("ws://localhost:`), "the SDK line with the WebSocket URL");
  const stream = await openRaw(
    watch[1].replace("localhost", "127.0.0.1"),
    { method: "POST", body: watch[2] },
    "ndjson",
  );
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: { subs: { news: {} } } });
  const res = await fetch(`${url}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "news", data: { text: "hello" } }),
  });
  assertEquals(res.status, 200);
  assertMatch((await stream.next())!, { channel: "news", pub: { data: { text: "hello" } } });
  assert(
    (await (await fetch(`${url}/api/info`, { method: "POST", headers: { "X-API-Key": apiKey }, body: "{}" }))
      .text()).endsWith("}\n"),
    "API replies end with a newline",
  );
  // the printed export makes gentoken mint tokens this dev server accepts
  const secret = /export SLUICE_TOKEN_HMAC_SECRET_KEY=(\S+)/.exec(out)![1];
  const gen = sluice(
    t,
    ["gentoken", "--user", "minted"],
    { SLUICE_TOKEN_HMAC_SECRET_KEY: secret },
    tempDir(),
  );
  assertEquals(await gen.exited, 0, gen.output());
  const minted = await openHttpStream(url, connectCommand(gen.output().trim()));
  t.cleanup(() => minted.close());
  assertMatch((await minted.next())!, { connect: {} });
  // dev mode knows the README's `chat:` channels (presence and history on)
  const presence = await fetch(`${url}/api/presence_stats`, {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "chat:1" }),
  });
  assertEquals(await presence.json(), { result: { num_clients: 0, num_users: 0 } });
  // a second server on the same port says which address is taken
  const port = new URL(url).port;
  const twice = sluice(t, ["--port", port]);
  assertEquals(await twice.exited, 1);
  assert(twice.output().includes(port), `names the port: ${twice.output()}`);
  // dev mode turns every transport on
  assertEquals((await fetch(`${url}/connection/sse`)).status, 400);
});

test("dev mode: the banner's SDK line works as printed (WebSocket URL, token), and a publication arrives", async (t) => {
  const p = sluice(t, ["--port", "0"]);
  await p.waitFor(/Publish to it/);
  const out = p.output();
  const wsUrl = /new Centrifuge\("([^"]+)"/.exec(out)![1];
  const tok = /Token:\s+(\S+)/.exec(out)![1];
  const url = /URL:\s+(\S+)/.exec(out)![1];
  const apiKey = /API key:\s+(\S+)/.exec(out)![1];
  assert(wsUrl.startsWith("ws://localhost:") && wsUrl.endsWith("/connection/websocket"), wsUrl);
  // As the README's first snippet: the URL and the token as printed, the runtime's own WebSocket.
  const client = new Centrifuge(wsUrl, { token: tok, websocket: WebSocket });
  t.cleanup(() => client.disconnect());
  const connected = once<{ transport: string }>(client, "connected");
  client.connect();
  assertEquals((await connected).transport, "websocket");
  const sub = client.newSubscription("news");
  const publication = once<{ data: unknown }>(sub, "publication");
  const subscribed = once(sub, "subscribed");
  sub.subscribe();
  await subscribed;
  const res = await fetch(`${url}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "news", data: { text: "over the banner's URL" } }),
  });
  assertEquals(res.status, 200);
  assertEquals((await publication).data, { text: "over the banner's URL" });
});

test("--config FILE --port N: the file's settings, the flag's port; single-dash flags work", async (t) => {
  const path = writeConfig({
    http_stream: true,
    token_hmac_secret_key: "file-secret",
    api_key: "file-key",
    port: 1,
  });
  const p = sluice(t, ["-config", path, "-port", "0"]);
  const port = await portOf(p);
  assert(port > 1, "the flag overrides the file's port");
  const url = `http://127.0.0.1:${port}`;
  assertEquals((await fetch(`${url}/health`)).status, 200);
  const off = await fetch(`${url}/connection/sse`);
  assertEquals(off.status, 404, "sse is off unless configured");
  assertEquals(
    await off.text(),
    "Not Found: /connection/sse is turned off; set sse: true in the config to enable it\n",
  );
  const stream = await openHttpStream(
    url,
    connectCommand(await token({ sub: "u" }, { secret: "file-secret" })),
  );
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: {} });
  assert(!p.output().includes("dev mode"));
  assert(p.output().includes(`config loaded path=${path}`), "says which config it read");
});

test("SLUICE_* environment variables override the config file", async (t) => {
  const path = writeConfig({ http_stream: true, token_hmac_secret_key: "file-secret", api_key: "file-key" });
  const p = sluice(t, ["--config", path, "--port", "0"], { SLUICE_API_KEY: "env-key", SLUICE_SSE: "true" });
  const url = `http://127.0.0.1:${await portOf(p)}`;
  const publish = (key: string) =>
    fetch(`${url}/api/publish`, {
      method: "POST",
      headers: { "X-API-Key": key },
      body: '{"channel":"c","data":1}',
    });
  assertEquals((await publish("file-key")).status, 401);
  assertEquals((await publish("env-key")).status, 200);
  assertEquals((await fetch(`${url}/connection/sse`)).status, 400, "sse enabled by the environment");
});

test("an invalid config stops startup with one line naming the key", async (t) => {
  const path = writeConfig({ ping_interval: "soon" });
  const p = sluice(t, ["--config", path]);
  assertEquals(await p.exited, 1);
  assert(/sluice: .*ping_interval/.test(p.output()), p.output());
  const q = sluice(t, ["--port", "nope"]);
  assertEquals(await q.exited, 1);
  assert(q.output().includes("--port"), q.output());
  const missing = sluice(t, ["--config", "/nonexistent/sluice.json"]);
  assertEquals(await missing.exited, 1);
  assert(missing.output().includes("cannot read config file"), missing.output());
});

test("SIGTERM disconnects clients with 3001 (reconnect) and exits 0", async (t) => {
  const path = writeConfig({ http_stream: true, token_hmac_secret_key: "s", api_key: "k" });
  const p = sluice(t, ["--config", path, "--port", "0"]);
  const url = `http://127.0.0.1:${await portOf(p)}`;
  const stream = await openHttpStream(url, connectCommand(await token({ sub: "u" }, { secret: "s" })));
  t.cleanup(() => stream.close());
  await stream.next();
  p.kill("TERM");
  assertMatch((await stream.next())!, { push: { disconnect: { code: 3001, reason: "shutdown" } } });
  assertCleanExit(await p.exited, p);
});

/**
 * Deno's node:child_process reports a child that handled SIGTERM and exited 0 as killed by the
 * signal (code null); the "stopped" log line proves the graceful path ran to its end.
 */
function assertCleanExit(code: number | null, p: Proc): void {
  assert(p.output().includes("sluice stopped"), p.output());
  if (!(runtime.name === "deno" && code === null)) assertEquals(code, 0);
}

test("the package scripts start the same server", async (t) => {
  const scripts = runtime.name === "deno"
    ? [[process.execPath, ["task", "start", "--port", "0"]]] as const
    : [["npm", ["start", "--", "--port", "0"]], [process.execPath, ["run", "start", "--port", "0"]]] as const;
  for (const [cmd, args] of scripts) {
    const p = start(t, cmd, [...args]);
    const port = await portOf(p);
    assertEquals((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, `${cmd} ${args.join(" ")}`);
    p.kill("TERM");
    await p.exited;
  }
}, { timeout: 40_000 });

test("the Simple SSE Server's flags alone run its drop-in (single- and double-dash)", async (t) => {
  for (const dash of ["-", "--"]) {
    const p = sluice(t, [
      `${dash}bind`,
      "127.0.0.1:0",
      `${dash}bindctl`,
      "127.0.0.1:0",
      `${dash}secret`,
      "MySuperPassword42",
    ]);
    const client = `http://127.0.0.1:${await portOf(p)}`;
    const ctlPort = Number((await p.waitFor(/control listener started address=[^\s:]+:(\d+)/))[1]);
    const control = `http://127.0.0.1:${ctlPort}`;
    assert(!p.output().includes("dev mode"));
    const tok = await (await fetch(`${control}/token/`, {
      method: "POST",
      body: new URLSearchParams({ userId: "42", channel: "chat", exp: "3600" }),
    })).text();
    const ac = new AbortController();
    t.cleanup(() => ac.abort());
    const res = await fetch(`${client}/events/`, {
      headers: { Authorization: `Bearer ${tok}` },
      signal: ac.signal,
    });
    assertEquals(res.status, 200);
    const reader = res.body!.getReader();
    let text = "";
    await fetch(`${control}/emit/`, {
      method: "POST",
      body: new URLSearchParams({ userId: "42", channel: "chat", payload: "event: message\ndata: hello\n" }),
    });
    while (!text.includes("data: hello")) text += new TextDecoder().decode((await reader.read()).value);
    assert(text.includes("event: message\ndata: hello\n\n"));
    ac.abort();
    p.kill("TERM");
    await p.exited;
  }
}, { timeout: 40_000 });
