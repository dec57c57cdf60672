/**
 * The shipped `publish_validate` plugin: client publications checked against a JSON Schema per
 * namespace — through a real server with the SDK, with createTestServer, and at boot (bad schemas,
 * unknown namespaces, schemas_dir).
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertRejects, waitFor } from "../assert.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { collect, connected, sdk, subscribed, TRANSPORTS } from "../helpers/sdk.ts";
import { token, userToken } from "../helpers/tokens.ts";
import { startServer } from "../helpers/server.ts";
import { createTestServer } from "../../src/testing.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { loadPlugins, pluginEntries } from "../../src/plugin_api/loader.ts";
import { definePlugin } from "../../src/plugin_api/define.ts";
import { ClientError } from "../../src/errors.ts";
import publishValidate from "../../plugins/publish_validate.ts";
import { shippedPlugins } from "../../plugins/mod.ts";

const chatSchema = {
  type: "object",
  required: ["text"],
  additionalProperties: false,
  properties: {
    text: { type: "string", maxLength: 200 },
    from: { type: "string", format: "email" },
    mood: { enum: ["happy", "sad"] },
  },
};

const namespaces = [
  { name: "chat", allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
  { name: "free", allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
];

/** createTestServer's default HMAC secret is "test-secret". */
const testToken = (user: string) => token({ sub: user }, { secret: "test-secret" });
const codeOf = (err: unknown) => (err as { code?: number })?.code;

for (const transport of TRANSPORTS) {
  test(`${transport}: the SDK's invalid publications get 107 naming the path; valid ones arrive`, async (t) => {
    const s = await startServer(t, {
      namespaces,
      allow_publish_for_client: true,
      plugins: {
        publish_validate: { schemas: { chat: chatSchema, "": { type: "object", required: ["n"] } } },
      },
    });
    const client = sdk(t, s, transport, { token: await userToken("alice") });
    await connected(client);
    const chat = client.newSubscription("chat:room");
    const pubs = collect<{ data: unknown }>(chat, "publication");
    await subscribed(chat);

    await chat.publish({ text: "hi", from: "a@example.com" });
    await waitFor(() => pubs.length === 1, "the valid publication");

    const refused = async (data: unknown) => await chat.publish(data).then(() => undefined, (e) => e);
    assertMatch(await refused({ text: 1 }), { code: 107, message: "/text must be string" });
    assertMatch(await refused({}), { code: 107, message: "/ must have required property 'text'" });
    assertMatch(await refused({ text: "x", extra: true }), {
      code: 107,
      message: '/ must NOT have additional properties ("extra")',
    });
    assertMatch(await refused({ text: "x", from: "nobody" }), {
      code: 107,
      message: '/from must match format "email"',
    });
    assertMatch(await refused({ text: "x", mood: "meh" }), {
      code: 107,
      message: '/mood must be equal to one of the allowed values ("happy", "sad")',
    });
    assertMatch(await refused("just text"), { code: 107, message: "/ must be object" });

    // the top level has its own schema; a namespace without one takes anything
    const top = await client.publish("lobby", { x: 1 }).then(() => undefined, (e) => e);
    assertMatch(top, { code: 107, message: "/ must have required property 'n'" });
    await client.publish("lobby", { n: 1 });
    const free = client.newSubscription("free:room");
    const freePubs = collect<{ data: unknown }>(free, "publication");
    await subscribed(free);
    await free.publish(["anything", 1]);
    await waitFor(() => freePubs.length === 1, "the unchecked publication");

    // errors answered the commands only: the connection is still up and publishing works
    assertEquals(client.state, "connected");
    await chat.publish({ text: "still here" });
    await waitFor(() => pubs.length === 2, "the second valid publication");
    assertEquals(pubs.map((p) => p.data), [{ text: "hi", from: "a@example.com" }, { text: "still here" }]);
  });
}

test("createTestServer: validation sees earlier plugins' data, skips API publishes, bounds messages", async (t) => {
  const upgrade = definePlugin({
    name: "upgrade",
    onPublish: (e) => (typeof e.data === "string" ? { data: { text: e.data } } : undefined),
  });
  const server = await createTestServer({
    plugins: [upgrade, [publishValidate, { schemas: { chat: chatSchema } }]],
    config: { namespaces },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ token: await testToken("bob") });
  await client.subscribe("chat:1");
  // a string becomes {text} in the first plugin, which then passes the schema
  await client.publish("chat:1", "hello");
  await client.waitForPush((p) => p.channel === "chat:1" && !!p.pub);
  assertEquals(client.publications("chat:1"), [{ text: "hello" }]);
  const err = await assertRejects(() => client.publish("chat:1", 42));
  assert(err instanceof ClientError, String(err));
  assertEquals([err.code, err.message], [107, "/ must be object"]);
  // keys come from the client: the message stays short
  const long = await assertRejects(() => client.publish("chat:1", { text: "x", ["k".repeat(1000)]: 1 }));
  assertEquals(codeOf(long), 107);
  assert((long as Error).message.length < 200, `message of ${(long as Error).message.length} chars`);
  // server API publishes are trusted: no validation
  await server.api("publish", { channel: "chat:1", data: 42 });
  await client.waitForPush((p) => (p.pub as { data?: unknown } | undefined)?.data === 42);
  assertEquals(client.disconnected, undefined);
});

test("boot: an invalid schema stops loading, naming the plugin and the namespace", async () => {
  const load = (schemas: Record<string, unknown>) => {
    const { config } = loadConfig({ file: { namespaces, plugins: { publish_validate: { schemas } } } });
    return loadPlugins(pluginEntries(config), { pluginsDir: config.plugins_dir, shipped: shippedPlugins });
  };
  const bad = await assertRejects(() => load({ chat: { type: "strnig" } }));
  assert(/publish_validate/.test(String(bad)) && /namespace "chat"/.test(String(bad)), String(bad));
  assert(String(bad).includes("schema is invalid"), String(bad));
  const typo = await assertRejects(() => load({ "": { type: "object", requierd: ["x"] } }));
  assert(/publish_validate/.test(String(typo)) && /top level/.test(String(typo)), String(typo));
  assert(String(typo).includes("requierd"), String(typo));
  const format = await assertRejects(() => load({ free: { type: "string", format: "emial" } }));
  assert(/namespace "free"/.test(String(format)) && String(format).includes("emial"), String(format));
  const notSchema = await assertRejects(() => load({ chat: "object" }));
  assert(/namespace "chat"/.test(String(notSchema)), String(notSchema));
  const option = await assertRejects(() =>
    loadPlugins([["publish_validate", { schema: {} }]], { pluginsDir: "./plugins", shipped: shippedPlugins })
  );
  assert(String(option).includes('unknown option "schema"'), String(option));
  // valid schemas load
  const ok = await load({ chat: chatSchema });
  assertEquals(ok.map((l) => l.plugin.name), ["publish_validate"]);
});

test("boot: a schema for a namespace the config lacks stops the server", async () => {
  const err = await assertRejects(() =>
    createTestServer({
      plugins: [[publishValidate, { schemas: { chats: chatSchema } }]],
      config: { namespaces },
    })
  );
  assert(/publish_validate/.test(String(err)) && /namespace "chats"/.test(String(err)), String(err));
});

test("schemas_dir: one file per namespace, _.json for the top level, 2020-12 schemas", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-schemas-"));
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "chat.json"), JSON.stringify(chatSchema));
  writeFileSync(
    join(dir, "_.json"),
    JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "array",
      prefixItems: [{ type: "string" }, { type: "integer" }],
    }),
  );
  writeFileSync(join(dir, "README.txt"), "not a schema");
  const server = await createTestServer({
    plugins: [[publishValidate, { schemas_dir: dir }]],
    config: { namespaces, allow_publish_for_client: true },
  });
  t.cleanup(() => server.close());
  const client = await server.connect({ token: await testToken("carol") });
  await client.subscribe("chat:1");
  await client.publish("chat:1", { text: "ok" });
  assertMatch(await assertRejects(() => client.publish("chat:1", { text: 1 })) as object, {
    code: 107,
    message: "/text must be string",
  });
  await client.publish("lobby", ["a", 1]);
  assertMatch(await assertRejects(() => client.publish("lobby", ["a", "b"])) as object, {
    code: 107,
    message: "/1 must be integer",
  });
  // the same namespace in both places, and a broken file, stop boot
  const twice = await assertRejects(async () =>
    await publishValidate({ schemas: { chat: chatSchema }, schemas_dir: dir })
  );
  assert(/namespace "chat"/.test(String(twice)) && String(twice).includes(dir), String(twice));
  writeFileSync(join(dir, "free.json"), "{not json");
  const broken = await assertRejects(async () => await publishValidate({ schemas_dir: dir }));
  assert(/namespace "free"/.test(String(broken)) && String(broken).includes("free.json"), String(broken));
});
