/**
 * Loading plugins from config: shipped names, files in plugins_dir, explicit paths, factories with
 * options, plain objects; and every load-time error naming the plugin.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createServer,
  definePlugin,
  loadConfig,
  loadPlugins,
  MemoryBroker,
  pluginEntries,
} from "../../mod.ts";
import type { Plugin } from "../../mod.ts";
import { createTestServer } from "../../mod.ts";
import { shippedPlugins } from "../../plugins/mod.ts";
import { tempDir } from "../helpers/temp.ts";

const modUrl = pathToFileURL(fileURLToPath(new URL("../../mod.ts", import.meta.url).href)).href;

function tempPlugins(files: Record<string, string>): string {
  const dir = tempDir("plugins-");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const message = (err: unknown) => (err as Error).message;

test("plugins load by name from plugins_dir, by path, as factories with options or plain objects", async () => {
  const dir = tempPlugins({
    "factory.ts": `import { definePlugin } from ${JSON.stringify(modUrl)};
      export default (options) => definePlugin({ name: "factory", onRpc: () => ({ data: options.answer }) });`,
    "plain.js": `export default { name: "plain", onConnecting: () => undefined };`,
  });
  const { config } = loadConfig({
    file: { plugins_dir: dir, plugins: { factory: { answer: 42 }, [join(dir, "plain.js")]: {} } },
  });
  const loaded = await loadPlugins(pluginEntries(config), {
    pluginsDir: config.plugins_dir,
    shipped: shippedPlugins,
  });
  assertEquals(loaded.map((l) => l.plugin.name), ["factory", "plain"]);
  assertEquals(loaded[0].options, { answer: 42 });
  const s = await createTestServer({ plugins: loaded.map((l) => l.plugin) });
  try {
    const c = await s.connect({ token: undefined, data: 1 }).catch(() => undefined);
    assertEquals(c, undefined, "plain passes and nobody else authenticates");
  } finally {
    await s.close();
  }
});

test("a relative path in plugins resolves against the working directory", async () => {
  const { config } = loadConfig({
    file: { plugins: { "./test/plugins/fixtures/echo_plugin.ts": { tag: "x" } } },
  });
  const [loaded] = await loadPlugins(pluginEntries(config), {
    pluginsDir: config.plugins_dir,
    shipped: shippedPlugins,
  });
  assertEquals(loaded.plugin.name, "echo");
});

test("load errors name the plugin: missing file, no default export, unknown hook, bad shape", async () => {
  const dir = tempPlugins({
    "nodefault.ts": `export const plugin = { name: "x" };`,
    "typo.ts": `export default { name: "typo", onConect: () => undefined };`,
    "noname.ts": `export default { onRpc: () => undefined };`,
    "throws.ts": `export default () => { throw new Error("bad options"); };`,
    "syntax.ts": `export default {{{`,
  });
  const load = (spec: string) => loadPlugins([[spec, {}]], { pluginsDir: dir, shipped: shippedPlugins });
  assert(
    /Cannot load plugin "ghost": not a shipped plugin .* no file at/.test(message(
      await assertRejects(() => load("ghost")),
    )),
  );
  assert(/"nodefault".*no default export/.test(message(await assertRejects(() => load("nodefault")))));
  assert(
    /plugin "typo": hook "onConect" is unknown \(did you mean "onConnect"\?\)/.test(
      message(await assertRejects(() => load("typo"))),
    ),
  );
  assert(/"noname".*"name" must be/.test(message(await assertRejects(() => load("noname")))));
  assert(/"throws".*factory threw: bad options/.test(message(await assertRejects(() => load("throws")))));
  assert(/Cannot load plugin "syntax" from/.test(message(await assertRejects(() => load("syntax")))));
  assert(
    /options must be an object/.test(message(
      await assertRejects(() => loadPlugins([["x", 5]], { pluginsDir: dir, shipped: shippedPlugins })),
    )),
  );
});

test("duplicate names, missing dependencies and two providers for one slot stop boot", () => {
  const { config } = loadConfig({});
  const p = (name: string, extra: Partial<Plugin> = {}): Plugin => ({ name, ...extra });
  assert(
    /"a" and "a" are both named "a"/.test(
      message(assertThrows(() => createServer(config, { plugins: [p("a"), p("a")] }))),
    ),
  );
  assert(
    /plugin "b": it depends on "auth", which is not enabled before it/.test(
      message(
        assertThrows(() =>
          createServer(config, { plugins: [p("b", { dependencies: ["auth"] }), p("auth")] })
        ),
      ),
    ),
  );
  createServer(config, { plugins: [p("auth"), p("b", { dependencies: ["auth"] })] });
  const broker = () => new MemoryBroker();
  assert(
    /both "r1" and "r2" provide a broker/.test(
      message(
        assertThrows(() =>
          createServer(config, {
            plugins: [
              p("r1", { provides: { broker: broker() } }),
              p("r2", { provides: { broker: broker() } }),
            ],
          })
        ),
      ),
    ),
  );
  assert(
    /provides\.queue is not a slot/.test(
      message(assertThrows(() => definePlugin({ name: "q", provides: { queue: {} } as never }))),
    ),
  );
});

test("a throwing setup stops boot naming the plugin; earlier teardowns still run", async () => {
  const torn: string[] = [];
  const err = await assertRejects(() =>
    createTestServer({
      plugins: [
        { name: "ok", setup: () => () => void torn.push("ok") },
        {
          name: "broken",
          setup: () => {
            throw new Error("no database");
          },
        },
      ],
    })
  );
  assertEquals(message(err), 'Cannot start plugin "broken": setup failed: no database');
  assertEquals(torn, ["ok"]);
});

test("provides.broker replaces the memory broker", async (t) => {
  const seen: string[] = [];
  class SpyBroker extends MemoryBroker {
    override publish(...args: Parameters<MemoryBroker["publish"]>) {
      seen.push(args[0]);
      return super.publish(...args);
    }
  }
  const s = await createTestServer({ plugins: [{ name: "spy", provides: { broker: new SpyBroker() } }] });
  t.cleanup(() => s.close());
  await s.api("publish", { channel: "via-plugin", data: 1 });
  assertEquals(seen, ["via-plugin"]);
});

test("importing mod.ts starts nothing", async () => {
  const mod = await import("../../mod.ts");
  assertEquals(typeof mod.createServer, "function");
  assertEquals(typeof mod.definePlugin, "function");
  assertEquals(typeof mod.createTestServer, "function");
});
