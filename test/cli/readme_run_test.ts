/**
 * The README's shell, JavaScript and config blocks, run as a new user runs them (each block found by
 * its `<!-- example: … -->` marker): the start commands from a checkout, the SDK snippets under Bun,
 * the EventSource snippet in Chromium, the Simple SSE lines with curl against the compiled binary and
 * `npx bun mod.ts`, the build's second line, and the config examples (the Redis one on a real Redis).
 * Ports 8000/8001 become free ones; nothing else in a block is changed.
 *
 * The commands pick their runtime themselves (`npx deno …`, `npx bun …`), so these run once per suite
 * run, in the Bun suite.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SignJWT } from "jose";
import { devBanner, freePort, type Proc, root, start } from "../helpers/process.ts";
import { readmeExample, shellLines } from "../helpers/readme.ts";
import { binary } from "../helpers/binary.ts";
import { redisAvailable, startRedis } from "../helpers/redis.mjs";

import { getRuntime } from "../../src/runtime/serve.ts";

const onBun = (await getRuntime()).name === "bun";
const once = {
  timeout: 120_000,
  skip: onBun ? false : "runs Deno's and Bun's commands itself, in the Bun suite",
};

/** A checkout without the caller's config.json or build: every entry of the repository linked. */
function checkout(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-checkout-"));
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of readdirSync(root)) {
    if ([".git", "config.json", "dist"].includes(name)) continue;
    symlinkSync(join(root, name), join(dir, name));
  }
  return dir;
}

/** Runs one shell line in `cwd`; resolves once it listens and answers /health, with its port. */
async function serves(t: TestContext, line: string, cwd: string, env: Record<string, string> = {}) {
  const p = start(t, "bash", ["-c", line], env, cwd);
  t.onFailure(() => `    --- ${line} ---\n${p.output().slice(-1500)}`);
  const port = Number((await p.waitFor(/address=[^\s:]+:(\d+)/, 30_000))[1]);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assertEquals(health.status, 200, line);
  await health.body?.cancel();
  return { p, port };
}

async function stop(p: Proc): Promise<void> {
  p.kill("TERM");
  await p.exited;
}

/** What dev mode's banner says: base URL, API key, HMAC secret, token. */

test(
  "README quick start: npm start from a checkout serves dev mode (npm install and npm test: this run)",
  async (t) => {
    const lines = shellLines(readmeExample("quick-start"));
    assertEquals(lines, ["npm install && npm start", "npm test"]);
    const dir = checkout(t);
    const { p } = await serves(t, "npm start -- --port 0", dir);
    await p.waitFor(/Publish to it/);
    assert(/running in dev mode/.test(p.output()), p.output());
    await stop(p);
  },
  once,
);

test(
  "README: each way to start the server starts it (npx deno, npx bun, npm start; with config.json)",
  async (t) => {
    const dir = checkout(t);
    const lines = shellLines(readmeExample("start-commands"));
    assertEquals(lines.length, 5);
    for (const line of lines) {
      // The lines with --config after `genconfig` (before it, dev mode: ./config.json is read by itself).
      if (line.includes("--config") && !existsSync(join(dir, "config.json"))) {
        const gen = start(t, "bash", ["-c", "npx bun mod.ts genconfig"], {}, dir);
        assertEquals(await gen.exited, 0, gen.output());
      }
      const cmd = line.includes("--port 9000") ? line.replace("--port 9000", "--port 0") : `${line} --port 0`;
      const { p } = await serves(t, cmd, dir);
      const usesConfig = line.includes("--config config.json");
      // Dev mode's banner comes after the "started" line the server is found listening by.
      if (!usesConfig) await p.waitFor(/running in dev mode/, 10_000);
      assertEquals(/config loaded/.test(p.output()), usesConfig, `${line}:\n${p.output()}`);
      assertEquals(/dev mode/.test(p.output()), !usesConfig, line);
      await stop(p);
    }
  },
  once,
);

test(
  "README SDK snippets: the URL form connects over WebSocket; the transport list delivers a publication",
  async (t) => {
    const dir = checkout(t);
    const { p, port } = await serves(t, "npm start -- --port 0", dir);
    await p.waitFor(/Publish to it/);
    const { token, apiKey } = devBanner(p);
    const local = (code: string) =>
      code.replaceAll("localhost:8000", `127.0.0.1:${port}`).replaceAll(
        '"<connection JWT>"',
        JSON.stringify(token),
      );

    const connect = local(readmeExample("sdk-connect").body) +
      `\nclient.on("connected", (ctx) => { console.log("connected over " + ctx.transport); client.disconnect(); });` +
      `\nclient.connect();\nsetTimeout(() => process.exit(1), 10000).unref?.();\n`;
    writeFileSync(join(dir, "sdk_connect.mjs"), connect);
    const a = start(t, "npx", ["bun", "sdk_connect.mjs"], {}, dir);
    await a.waitFor(/connected over websocket/);

    const publish =
      `fetch("http://127.0.0.1:${port}/api/publish", { method: "POST", headers: { "X-API-Key": ${
        JSON.stringify(apiKey)
      } }, body: JSON.stringify({ channel: "news", data: { text: "from the README test" } }) })`;
    const fallback = `import { Centrifuge } from "centrifuge";\n` +
      local(readmeExample("sdk-fallback").body) +
      `\nclient.on("connected", (ctx) => console.log("connected over " + ctx.transport));` +
      `\nsub.on("subscribed", () => ${publish});` +
      `\nsub.on("publication", () => setTimeout(() => process.exit(0), 100));\n`;
    writeFileSync(join(dir, "sdk_fallback.mjs"), fallback);
    const b = start(t, "npx", ["bun", "sdk_fallback.mjs"], {}, dir);
    assertEquals(await b.exited, 0, b.output());
    assert(b.output().includes("connected over websocket"), b.output());
    assert(b.output().includes("from the README test"), `console.log(ctx.data) printed it:\n${b.output()}`);
  },
  once,
);

test(
  "README EventSource snippet in Chromium: render() gets a publication; reload event as the sample",
  async (t) => {
    assert(existsSync("/usr/bin/chromium"), "chromium is installed");
    const dir = checkout(t);
    const { p, port } = await serves(t, "npm start -- --port 0", dir);
    await p.waitFor(/Publish to it/);
    const { secret, apiKey, base } = devBanner(p);
    // The snippet's token subscribes through its `channels` claim (the paragraph above it says so).
    const token = await new SignJWT({ sub: "reader", channels: ["news"] }).setProtectedHeader({
      alg: "HS256",
    })
      .setExpirationTime("1h").sign(new TextEncoder().encode(secret));
    const script = `
    const token = ${JSON.stringify(token)};
    const seen = [];
    const render = (channel, data) => seen.push({ channel, data });
    const reloadState = (channel) => seen.push({ reload: channel });
    ${readmeExample("eventsource-resume").body}
    await new Promise((r) => es.addEventListener("message", r, { once: true }));
    await fetch("/api/publish", { method: "POST", headers: { "X-API-Key": ${JSON.stringify(apiKey)} },
      body: JSON.stringify({ channel: "news", data: { text: "to render" } }) });
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    es.close();
    return seen;`;
    const b = start(t, "node", [
      join(root, "test", "browser", "run_snippet.mjs"),
      `http://127.0.0.1:${port}/`,
      script,
    ]);
    assertEquals(await b.exited, 0, b.output());
    assertEquals(JSON.parse(b.output().trim().split("\n").at(-1)!), [{
      channel: "news",
      data: { text: "to render" },
    }]);

    // The reload sample: the same event name and fields as the server sends (here for a damaged id).
    const sample = readmeExample("reload-event").body;
    const res = await fetch(
      `${base}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}`,
      {
        headers: { "Last-Event-ID": "not-an-id" },
      },
    );
    const reader = res.body!.getReader();
    let text = "";
    await waitFor(async () => {
      text += new TextDecoder().decode((await reader.read()).value);
      return text.includes("event: reload\n");
    }, "a reload event");
    await reader.cancel();
    const data = (s: string) => JSON.parse(/event: reload\ndata: (.*)\n/.exec(s)![1]);
    assertEquals(Object.keys(data(text)), Object.keys(data(sample + "\n")));
    assertEquals(data(text), { channel: "news", reason: "invalid last event id" });
  },
  once,
);

test(
  "README Simple SSE lines: the binary and npx bun with the original's flags; token, stream, emit with curl",
  async (t) => {
    const [bindPort, ctlPort] = [await freePort(), await freePort()];
    const ports = (s: string) =>
      s.replaceAll("127.0.0.1:8000", `127.0.0.1:${bindPort}`).replaceAll(
        "127.0.0.1:8001",
        `127.0.0.1:${ctlPort}`,
      );
    const starts = readmeExample("simple-sse-start").body.split("\n").map((l) => l.replace(/^# or: /, ""));
    assertEquals(starts.length, 2);
    const bin = await binary();
    const dir = checkout(t);
    mkdirSync(join(dir, "dist"));
    symlinkSync(bin, join(dir, "dist", "sluice"));
    for (const line of starts) {
      const p = start(t, "bash", ["-c", ports(line)], {}, dir);
      t.onFailure(() => `    --- ${line} ---\n${p.output().slice(-1500)}`);
      await p.waitFor(new RegExp(`:${ctlPort}\\b`), 30_000);
      // The curl lines as written; the stream (curl -N) runs in the background into a file.
      const out = join(dir, `stream-${bindPort}.txt`);
      const curls = readmeExample("simple-sse-curls").body.split("\n").map(ports).map((l) =>
        l.startsWith("curl -N") ? `${l} > ${out} & sleep 0.5` : l
      );
      const sh = start(t, "bash", ["-c", `${curls.join("\n")}\nsleep 0.5; kill %1`], {}, dir);
      await sh.exited;
      const stream = readFileSync(out, "utf8");
      assert(stream.includes('event: message\ndata: {"text":"hi"}\n'), `${line}\n${stream}\n${sh.output()}`);
      rmSync(out);
      await stop(p);
    }
  },
  once,
);

test(
  "README build: npm run build is the binary's build; ./dist/sluice genconfig && ./dist/sluice serves",
  async (t) => {
    const lines = shellLines(readmeExample("build-binary"));
    assertEquals(lines[0], "npm run build");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    // test/helpers/binary.ts runs exactly this (into a folder of its own instead of dist/).
    assertEquals(pkg.scripts.build, "bun build --compile mod.ts --outfile dist/sluice");
    const dir = mkdtempSync(join(tmpdir(), "sluice-bin-run-"));
    t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "dist"));
    symlinkSync(await binary(), join(dir, "dist", "sluice"));
    // The line as written; only the port comes from the environment (8000 may be taken here).
    const { p } = await serves(t, lines[1], dir, { SLUICE_PORT: "0" });
    assert(/config loaded/.test(p.output()), p.output());
    assert(existsSync(join(dir, "config.json")), "genconfig wrote config.json");
    await stop(p);
  },
  once,
);

test(
  "README config examples: the Configuration example and the Redis one (on a real Redis) start a server",
  async (t) => {
    const dir = checkout(t);
    writeFileSync(join(dir, "config.json"), readmeExample("config-example").body);
    const { p } = await serves(t, "npx bun mod.ts --config config.json --port 0", dir);
    await stop(p);

    if (!redisAvailable()) throw new Error("redis-server is needed (apt-get install redis-server)");
    const redis = await startRedis();
    t.cleanup(() => redis.stop());
    const redisConfig = readmeExample("redis-config").body
      .replace("redis://:password@10.0.0.5:6379/0", `redis://127.0.0.1:${redis.port}/0`);
    assert(redisConfig.includes(`127.0.0.1:${redis.port}`), "the address was replaced");
    const file = JSON.parse(redisConfig);
    writeFileSync(join(dir, "redis.json"), JSON.stringify({ ...file, token_hmac_secret_key: "k" }));
    const r = await serves(t, "npx bun mod.ts --config redis.json --port 0", dir);
    assert(/redis/i.test(r.p.output()), r.p.output());
    await stop(r.p);
  },
  once,
);

test(
  "README workers line: --workers auto from a checkout, on a real Redis: one worker per core",
  async (t) => {
    const [line] = shellLines(readmeExample("workers"));
    const dir = checkout(t);
    const redis = await startRedis();
    t.cleanup(() => redis.stop());
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ token_hmac_secret_key: "k", plugins: { redis_broker: { address: redis.url } } }),
    );
    const p = start(t, "bash", ["-c", `${line} --port 0`], {}, dir);
    t.onFailure(() => p.output());
    const cores = navigator.hardwareConcurrency;
    const port = Number(
      (await p.waitFor(new RegExp(`supervising workers workers=${cores} port=(\\d+)`), 30_000))[1],
    );
    await waitFor(
      () => (p.output().match(/worker serving/g) ?? []).length === cores,
      "every worker serving",
      30_000,
    );
    assertEquals((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    await stop(p);
  },
  once,
);
