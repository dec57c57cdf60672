/**
 * The README's "Write a plugin" section, run as written: every `ts` and `json` block there carries a
 * `<!-- file: … -->` marker and is written to that path in a fresh folder outside the repository
 * (`/opt/sluice` standing for this checkout). The plugin's own test runs with the README's command
 * for this runtime; the README's config starts a real server process, which a raw client and a real
 * HTTP lookup backend exercise; the shipped plugins' configs pass `checkconfig`.
 */
import { test, type TestContext } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { root, sluice, spawnGroup } from "../helpers/process.ts";
import { emulate, openHttpStream } from "../helpers/raw.ts";
import { getRuntime } from "../../src/runtime/serve.ts";

const TIMEOUT = 60_000;
const runtime = await getRuntime();

interface Block {
  marker: "file" | "run";
  target: string;
  lang: string;
  body: string;
}

/** The section's fenced blocks with their markers; unmarked `ts`/`json` blocks fail the test. */
function readmeBlocks(): Block[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("## Write a plugin");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end);
  const blocks: Block[] = [];
  const fence = /(?:<!-- (file|run): (\S+) -->\n\n)?```(\w*)\n([\s\S]*?)\n```/g;
  for (const m of section.matchAll(fence)) {
    const [, marker, target, lang, body] = m;
    if (!marker) {
      assert(!["ts", "json", "sh"].includes(lang), `README block without a file/run marker:\n${body}`);
      continue;
    }
    blocks.push({ marker: marker as Block["marker"], target, lang, body });
  }
  return blocks;
}

/** Writes every `file` block under a fresh folder; returns it. */
function writeFiles(t: TestContext, blocks: Block[]): string {
  const dir = mkdtempSync(join(tmpdir(), "readme-plugin-"));
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  for (const b of blocks.filter((b) => b.marker === "file")) {
    const path = join(dir, b.target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, b.body.replaceAll("/opt/sluice", root.replace(/\/$/, "")));
  }
  return dir;
}

/** The app's device lookup, as the README's plugin expects it. */
async function lookupBackend(t: TestContext, owners: Record<string, string>): Promise<string> {
  const app: Server = createServer((req, res) => {
    const owner = owners[decodeURIComponent(req.url!.split("/").pop()!)];
    res.writeHead(owner ? 200 : 404, { "content-type": "application/json" });
    res.end(owner ? JSON.stringify({ owner }) : "");
  }).listen(0, "127.0.0.1");
  await once(app, "listening");
  t.cleanup(() => app.close());
  return `http://127.0.0.1:${(app.address() as AddressInfo).port}/devices`;
}

test(
  "README plugin section: every snippet is marked; the plugin's test runs with the README's command",
  async (t) => {
    const blocks = readmeBlocks();
    const dir = writeFiles(t, blocks);
    const run = blocks.find((b) => b.marker === "run" && b.target === "my-app");
    assert(run, "the README says how to run the plugin's test");
    const line = run.body.split("\n").find((l) => l.trim().startsWith(`${runtime.name} `));
    assert(line, `a ${runtime.name} line in:\n${run.body}`);
    const [bin, ...args] = line.replace(/#.*/, "").trim().split(/\s+/);
    const p = spawnGroup(join(root, "node_modules", ".bin", bin), args, {}, join(dir, "my-app"));
    assertEquals(await p.exited, 0, p.output());
    assert(p.output().includes("device_auth: ok"), p.output());
  },
  { timeout: TIMEOUT },
);

test(
  "README plugin section: the config and plugin run in a server process against a real lookup",
  async (t) => {
    const dir = writeFiles(t, readmeBlocks());
    const app = join(dir, "my-app");
    const lookup = await lookupBackend(t, { "dev-0001": "42" });
    const configPath = join(app, "config.json");
    const config = readFileSync(configPath, "utf8");
    assert(config.includes("http://127.0.0.1:3000/devices"), config);
    writeFileSync(configPath, config.replace("http://127.0.0.1:3000/devices", lookup));

    const check = sluice(t, ["checkconfig"], {}, app);
    assertEquals(await check.exited, 0, check.output());
    assert(check.output().includes("plugins: device_auth"), check.output());

    const p = sluice(t, ["--port", "0", "--address", "127.0.0.1"], {}, app);
    t.onFailure(() => `    --- server output ---\n${p.output()}`);
    const url = `http://127.0.0.1:${(await p.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+)/))[1]}`;

    const device = await openHttpStream(url, JSON.stringify({ id: 1, connect: {} }), {
      "x-device-key": "dev-0001",
    });
    t.cleanup(() => device.close());
    const reply = (await device.next())!.connect as { session: string; node: string; subs?: object };
    assertEquals(Object.keys(reply.subs ?? {}), ["telemetry:dev-0001"], "server-side subscription");
    const send = async (commands: unknown[]) => {
      const res = await emulate(url, reply.session, reply.node, commands);
      assertEquals(res.status, 204);
      await res.body?.cancel();
    };
    await send([{ id: 2, publish: { channel: "telemetry:dev-0001", data: { temp: "hot" } } }]);
    assertEquals(await device.until((m) => m.id === 2), {
      id: 2,
      error: { code: 400, message: "temp must be a number" },
    });
    await send([{ id: 3, publish: { channel: "telemetry:dev-0001", data: { temp: 21.5 } } }]);
    const pub = await device.until((m) => !!(m.push as { pub?: unknown })?.pub);
    assertMatch(pub!, { push: { channel: "telemetry:dev-0001", pub: { data: { temp: 21.5 } } } });

    const stranger = await openHttpStream(url, JSON.stringify({ id: 1, connect: {} }), {
      "x-device-key": "dev-9999",
    });
    t.cleanup(() => stranger.close());
    assertEquals(await stranger.next(), { push: { disconnect: { code: 4501, reason: "unknown device" } } });
    await p.waitFor(/unknown device refused .*plugin=device_auth/);
  },
  { timeout: TIMEOUT },
);

test("README plugin section: the shipped plugins' configs pass checkconfig", async (t) => {
  const dir = writeFiles(t, readmeBlocks());
  for (const app of ["proxy-app", "validate-app"]) {
    const p = sluice(t, ["checkconfig"], {}, join(dir, app));
    assertEquals(await p.exited, 0, `${app}: ${p.output()}`);
    assert(p.output().includes("config is valid"), p.output());
  }
}, { timeout: TIMEOUT });
