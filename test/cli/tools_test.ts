/**
 * `sluice genconfig`, `gentoken`, `checktoken`, `checkconfig`, `version`, `--help`, and the path a
 * new user takes: `sluice genconfig && sluice`, mint a token, connect, see metrics move.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, waitFor } from "../assert.ts";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { portOf, sluice, tempDir, writeConfig } from "../helpers/process.ts";
import { connectCommand, openHttpStream } from "../helpers/raw.ts";

test("genconfig writes a config with random secrets and refuses to overwrite it", async (t) => {
  const dir = tempDir();
  const p = sluice(t, ["genconfig"], {}, dir);
  assertEquals(await p.exited, 0);
  const written = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert(/^[0-9a-f]{48}$/.test(written.token_hmac_secret_key) && /^[0-9a-f]{48}$/.test(written.api_key));
  assertEquals(written.http_stream, true);
  const again = sluice(t, ["genconfig"], {}, dir);
  assertEquals(await again.exited, 1);
  assert(/^sluice: .*already exists/m.test(again.output()), again.output());
  assertEquals(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), written, "unchanged");
  const other = sluice(t, ["genconfig", "--config", join(dir, "other.json")], {}, dir);
  assertEquals(await other.exited, 0);
  assert(existsSync(join(dir, "other.json")));
});

test("gentoken signs with the config's secret; checktoken prints claims or why it is invalid", async (t) => {
  const path = writeConfig({ token_hmac_secret_key: "k1" });
  const gen = sluice(t, [
    "gentoken",
    "--user",
    "42",
    "--ttl",
    "600",
    "--channels",
    "news, chat:1",
    "--config",
    path,
  ]);
  assertEquals(await gen.exited, 0);
  const token = gen.output().trim();
  assert(/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token), gen.output());
  const check = sluice(t, ["checktoken", token, "--config", path]);
  assertEquals(await check.exited, 0);
  assertMatch(JSON.parse(check.output()), { valid: true, user: "42", channels: ["news", "chat:1"] });
  const otherKey = writeConfig({ token_hmac_secret_key: "k2" });
  const bad = sluice(t, ["checktoken", token, "--config", otherKey]);
  assertEquals(await bad.exited, 1);
  assert(/^sluice: token is not valid: /m.test(bad.output()), bad.output());
  const noUser = sluice(t, ["gentoken", "--config", path]);
  assertEquals(await noUser.exited, 1);
  assert(noUser.output().includes("--user is required"));
  const noSecret = sluice(t, ["gentoken", "--user", "1", "--config", writeConfig({})]);
  assertEquals(await noSecret.exited, 1);
  assert(noSecret.output().includes("no token_hmac_secret_key"));
});

test("checkconfig, version, --help on every subcommand, unknown commands and flags", async (t) => {
  const ok = sluice(t, ["checkconfig", "--config", writeConfig({ sse: true, token_hmac_secret_key: "k" })]);
  assertEquals(await ok.exited, 0, ok.output());
  assert(ok.output().includes("config is valid"), ok.output());
  const unknown = sluice(t, [
    "checkconfig",
    "--config",
    writeConfig({ sse: true, mystery: 1, presense: true }),
  ]);
  assertEquals(await unknown.exited, 1, "unknown keys fail checkconfig");
  assert(unknown.output().includes('unknown config key "mystery"'), unknown.output());
  assert(unknown.output().includes('(did you mean "presence"?)'), unknown.output());
  assert(unknown.output().includes("no client can connect"), unknown.output());
  assert(!unknown.output().includes("config is valid"), unknown.output());
  const broken = join(tempDir(), "broken.json");
  writeFileSync(broken, '{\n  "sse": true\n  "port": 1\n}\n');
  const notJson = sluice(t, ["checkconfig", "--config", broken]);
  assertEquals(await notJson.exited, 1);
  assert(/not valid JSON: line 3, column 3/.test(notJson.output()), notJson.output());
  const bad = sluice(t, ["checkconfig", "--config", writeConfig({ history_size: 10 })]);
  assertEquals(await bad.exited, 1);
  assertEquals(bad.output().trim().split("\n").length, 1, "one line");
  assert(bad.output().includes("history_ttl"));
  const version = sluice(t, ["version"]);
  assertEquals(await version.exited, 0);
  assert(/^sluice \d+\.\d+\.\d+ \((deno|bun) /.test(version.output()));
  for (const cmd of ["serve", "genconfig", "gentoken", "checktoken", "checkconfig", "version"]) {
    const help = sluice(t, [cmd, "--help"]);
    assertEquals(await help.exited, 0, cmd);
    assert(
      help.output().includes(`Usage: sluice ${cmd === "serve" ? "[serve]" : cmd}`),
      `${cmd}: ${help.output()}`,
    );
  }
  const topHelp = sluice(t, ["--help"]);
  assertEquals(await topHelp.exited, 0);
  assert(
    /Commands:[\s\S]*gentoken[\s\S]*checkconfig/.test(topHelp.output()),
    "sluice --help lists the subcommands",
  );
  const unknownCommand = sluice(t, ["frobnicate"]);
  assertEquals(await unknownCommand.exited, 1);
  assert(unknownCommand.output().includes('unknown command "frobnicate"'));
  const badFlag = sluice(t, ["gentoken", "--usr", "x"]);
  assertEquals(await badFlag.exited, 1);
  assert(badFlag.output().includes("sluice gentoken --help"));
});

test("a new user's path: genconfig, sluice, gentoken, connect, metrics move", async (t) => {
  const dir = tempDir();
  assertEquals(await sluice(t, ["genconfig"], {}, dir).exited, 0);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, port: 0 }));
  const server = sluice(t, [], {}, dir); // finds ./config.json by itself
  const url = `http://127.0.0.1:${await portOf(server)}`;
  assert(!server.output().includes("dev mode"));
  const gen = sluice(t, ["gentoken", "--user", "newcomer"], {}, dir);
  assertEquals(await gen.exited, 0);
  const metric = async (re: RegExp) =>
    Number(re.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const accepted = /centrifugo_client_connections_accepted\{transport="http_stream"\} (\d+)/;
  const before = await metric(accepted);
  const stream = await openHttpStream(
    url,
    connectCommand(gen.output().trim(), 1, { subs: { "chat:lobby": {} } }),
  );
  t.cleanup(() => stream.close());
  assertMatch((await stream.next())!, { connect: { subs: { "chat:lobby": { recoverable: true } } } });
  await waitFor(async () => (await metric(accepted)) === before + 1, "connections_accepted moves");
  const res = await fetch(`${url}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": config.api_key },
    body: JSON.stringify({ channel: "chat:lobby", data: { hello: "world" } }),
  });
  assertEquals(res.status, 200);
  assertMatch((await stream.next())!, { push: { pub: { data: { hello: "world" } } } });
  await waitFor(
    async () =>
      (await metric(/centrifugo_api_command_duration_seconds_count\{method="publish"\} (\d+)/)) === 1,
    "api metric",
  );
  assert(
    !server.output().includes(config.api_key) && !server.output().includes(gen.output().trim()),
    "no secrets in logs",
  );
});

test("checkconfig loads plugins as the server would, and names each mistake with a suggestion", async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, "plugins"));
  const write = (name: string, text: string) => writeFileSync(join(dir, "plugins", name), text);
  write("good.ts", `export default (o) => ({ name: "good", onConnecting: () => ({ user: o.user }) });`);
  write("typo.ts", `export default { name: "typo", onConnectng: () => undefined };`);
  write(
    "picky.ts",
    `export default (o) => { if (!o.url) throw new Error("option url is required"); return { name: "picky" }; };`,
  );
  write("started.ts", `export default { name: "started", setup() { console.log("SETUP RAN"); } };`);
  const check = async (plugins: Record<string, unknown>) => {
    writeFileSync(join(dir, "c.json"), JSON.stringify({ plugins }));
    const p = sluice(t, ["checkconfig", "--config", "c.json"], {}, dir);
    return { code: await p.exited, out: p.output() };
  };

  const ok = await check({ "./plugins/good.ts": { user: "u" }, started: {}, publish_validate: {} });
  assertEquals(ok.code, 0, ok.out);
  assert(/plugins: good, started, publish_validate/.test(ok.out), ok.out);
  assert(!ok.out.includes("SETUP RAN"), "nothing is started");

  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ "./plugins/god.ts": {} }, /no file at .*god\.ts \(did you mean "good\.ts"\?\)/],
    [{ godo: {} }, /Cannot load plugin "godo".*\(did you mean "good"\?\)/],
    [{ conect_proxy: {} }, /\(did you mean "connect_proxy"\?\)/],
    [{ typo: {} }, /plugin "typo": hook "onConnectng" is unknown \(did you mean "onConnecting"\?\)/],
    [{ picky: {} }, /Cannot load plugin "picky": its factory threw: option url is required/],
    [{ publish_validate: { schemas: { "": { type: "strnig" } } } }, /publish_validate/],
  ];
  for (const [plugins, expected] of cases) {
    const r = await check(plugins);
    assertEquals(r.code, 1, `${JSON.stringify(plugins)}: ${r.out}`);
    assert(expected.test(r.out), `${JSON.stringify(plugins)}: ${r.out}`);
    assert(!r.out.includes("config is valid"), r.out);
  }
});
