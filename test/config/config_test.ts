/**
 * Unit tests of src/config/: defaults, durations, the file ← env ← flags layering, type and
 * range checks (errors must name the offending key), namespaces, handler prefixes, dev mode and
 * legacy aliases.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import {
  type Config,
  ConfigError,
  defaultConfig,
  devModeDefaults,
  isKnownConfigKey,
  loadConfig,
  type LoadConfigInput,
  parseDuration,
  topLevelChannelOptions,
} from "../../src/config/mod.ts";

const HANDLER_PREFIXES: Record<string, string> = {
  sse_handler_prefix: "/connection/sse",
  http_stream_handler_prefix: "/connection/http_stream",
  emulation_handler_prefix: "/emulation",
  uni_sse_handler_prefix: "/connection/uni_sse",
  uni_http_stream_handler_prefix: "/connection/uni_http_stream",
  websocket_handler_prefix: "/connection/websocket",
  uni_websocket_handler_prefix: "/connection/uni_websocket",
  api_handler_prefix: "/api",
  health_handler_prefix: "/health",
};

const BODY_LIMITS = [
  "sse_max_request_body_size",
  "http_stream_max_request_body_size",
  "uni_sse_max_request_body_size",
  "uni_http_stream_max_request_body_size",
  "emulation_max_request_body_size",
];

const load = (input: LoadConfigInput) => loadConfig(input).config;
const file = (f: Record<string, unknown>) => load({ file: f });
const env = (e: Record<string, string | undefined>, f?: Record<string, unknown>) => load({ env: e, file: f });
const get = (c: unknown, key: string) => (c as unknown as Record<string, unknown>)[key];

/**
 * Asserts that `fn` throws a ConfigError whose message names every one of `names`; the error's
 * `key` must be one of them (the key as the user wrote it) unless `names` holds no key at all.
 */
function throwsNaming(
  fn: () => unknown,
  names: string | string[],
  _kind?: "TypeError" | "RangeError",
): ConfigError {
  const list = Array.isArray(names) ? names : [names];
  const err = assertThrows(fn, undefined, `expected an error naming ${list.join(", ")}`) as Error;
  assert(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
  for (const n of list) assert(err.message.includes(n), `error message should name "${n}": ${err.message}`);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Defaults

test("defaultConfig: documented defaults", () => {
  const c = defaultConfig();
  assertEquals(c.port, 8000);
  assertEquals(c.ping_interval, 25_000);
  assertEquals(c.pong_timeout, 8_000);
  assertEquals(c.client_queue_max_size, 1_048_576);
  for (const key of BODY_LIMITS) assertEquals(get(c, key), 65_536, key);
  for (const [key, value] of Object.entries(HANDLER_PREFIXES)) assertEquals(get(c, key), value, key);
  assertEquals(c.token_user_id_claim, "sub");
  assertEquals(c.allowed_origins, []);
  assertEquals(c.namespaces, []);
  assertEquals(c.health, true);
  assertEquals(c.sse, false);
  assertEquals(c.http_stream, false);
  assertEquals(c.log_level, "info");
  assertEquals(c.log_format, "text");
  assertEquals(c.client_channel_limit, 128);
  assertEquals(c.client_expired_close_delay, 25_000);
  assertEquals(c.client_expired_sub_close_delay, 25_000);
  assertEquals(c.client_stale_close_delay, 10_000);
  assertEquals(c.client_presence_update_interval, 27_000);
  assertEquals(c.global_history_meta_ttl, 720 * 3_600_000);
  assertEquals(c.channel_max_length, 255);
  assertEquals(c.channel_namespace_boundary, ":");
  assertEquals(c.channel_private_prefix, "$");
  assertEquals(c.shutdown_timeout, 30);
  assertEquals(c.plugin_hook_timeout, 3_000);
  assertEquals(c.allow_anonymous_connect_without_token, false);
  assertEquals(c.allow_subscribe_for_client, false);
  assertEquals(c.history_size, 0);
  assertEquals(c.history_ttl, 0);
  assertEquals(c.channel_regex, "");
});

test("defaultConfig returns a fresh object each time", () => {
  const a = defaultConfig();
  a.allowed_origins.push("http://x.example");
  a.namespaces.push({ name: "x" } as Config["namespaces"][number]);
  (a.plugins as Record<string, unknown>).p = 1;
  const b = defaultConfig();
  assertEquals(b.allowed_origins, []);
  assertEquals(b.namespaces, []);
  assertEquals(b.plugins, {});
});

test("loadConfig with no layers equals the defaults, without warnings", () => {
  const { config, warnings } = loadConfig({});
  assertEquals(config, defaultConfig());
  assertEquals(warnings, []);
  assertEquals(loadConfig({ file: {} }).config, defaultConfig());
  assertEquals(loadConfig({ file: undefined, env: {}, flags: {} }).config, defaultConfig());
});

test("topLevelChannelOptions picks exactly the channel options", () => {
  const c = file({ presence: true, history_size: 5, history_ttl: "30s", port: 9000 });
  const o = topLevelChannelOptions(c);
  assertMatch(o as unknown as Record<string, unknown>, {
    presence: true,
    history_size: 5,
    history_ttl: 30_000,
  });
  assert(!("port" in o), "no server option leaks into channel options");
  assert(!("namespaces" in o));
});

// ---------------------------------------------------------------------------------------------
// Durations

test("parseDuration: Centrifugo duration strings", () => {
  const cases: Array<[string, number]> = [
    ["25s", 25_000],
    ["5m", 300_000],
    ["1m30s", 90_000],
    ["250ms", 250],
    ["720h", 720 * 3_600_000],
    ["1h30m", 5_400_000],
    ["1h0m0s", 3_600_000],
    ["2h45m30s500ms", 2 * 3_600_000 + 45 * 60_000 + 30_000 + 500],
    ["1.5s", 1500],
    ["0.5h", 1_800_000],
    ["0", 0],
    ["0s", 0],
    ["0ms", 0],
    [" 10s ", 10_000],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration("k", text), ms, text);
});

test("parseDuration: numbers are seconds", () => {
  assertEquals(parseDuration("k", 25), 25_000);
  assertEquals(parseDuration("k", 0), 0);
  assertEquals(parseDuration("k", 0.25), 250);
  assertEquals(parseDuration("k", 1.5), 1500);
  assertEquals(parseDuration("k", 2_592_000), 2_592_000_000);
});

test("parseDuration: invalid values throw naming the key", () => {
  const bad: unknown[] = [
    "",
    "   ",
    "abc",
    "25",
    "25x",
    "s",
    "ms",
    "-5s",
    "5 s",
    "5s garbage",
    "garbage 5s",
    "1d",
    "25S",
    "1m30",
    "s25",
    null,
    undefined,
    true,
    {},
    [],
    ["25s"],
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ];
  for (const value of bad) {
    throwsNaming(() => parseDuration("ping_interval", value), "ping_interval");
  }
});

test("durations in the config file become milliseconds", () => {
  const c = file({
    ping_interval: "10s",
    pong_timeout: 5,
    client_expired_close_delay: "1m",
    client_stale_close_delay: "250ms",
    global_history_meta_ttl: "720h",
    history_size: 10,
    history_ttl: "5m",
    plugin_hook_timeout: 2.5,
  });
  assertEquals(c.ping_interval, 10_000);
  assertEquals(c.pong_timeout, 5_000);
  assertEquals(c.client_expired_close_delay, 60_000);
  assertEquals(c.client_stale_close_delay, 250);
  assertEquals(c.global_history_meta_ttl, 2_592_000_000);
  assertEquals(c.history_ttl, 300_000);
  assertEquals(c.plugin_hook_timeout, 2_500);
});

test("invalid durations in the config file throw naming the key", () => {
  throwsNaming(() => file({ ping_interval: "soon" }), "ping_interval");
  throwsNaming(() => file({ client_stale_close_delay: "10" }), "client_stale_close_delay");
  throwsNaming(() => file({ pong_timeout: -1 }), "pong_timeout");
  throwsNaming(() => file({ client_presence_update_interval: true }), "client_presence_update_interval");
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_size: 10, history_ttl: "forever" }] }),
    ["history_ttl", "chat"],
  );
});

// ---------------------------------------------------------------------------------------------
// Environment

test("env: booleans parse like Go's strconv.ParseBool", () => {
  for (const v of ["1", "t", "T", "TRUE", "true", "True"]) {
    assertEquals(env({ SLUICE_SSE: v }).sse, true, `SLUICE_SSE=${v}`);
  }
  for (const v of ["0", "f", "F", "FALSE", "false", "False"]) {
    assertEquals(env({ SLUICE_HEALTH: v }).health, false, `SLUICE_HEALTH=${v}`);
  }
  for (const v of ["yes", "no", "on", "off", "2", "tRuE", " true", "true "]) {
    throwsNaming(() => env({ SLUICE_SSE: v }), "SLUICE_SSE", "TypeError");
  }
});

test("env: integers", () => {
  assertEquals(env({ SLUICE_PORT: "9000" }).port, 9000);
  assertEquals(env({ SLUICE_CLIENT_QUEUE_MAX_SIZE: "2048" }).client_queue_max_size, 2048);
  assertEquals(env({ SLUICE_CLIENT_CHANNEL_LIMIT: "0" }).client_channel_limit, 0);
  throwsNaming(() => env({ SLUICE_PORT: "abc" }), "SLUICE_PORT", "TypeError");
  throwsNaming(() => env({ SLUICE_PORT: "80.5" }), "SLUICE_PORT", "TypeError");
  throwsNaming(() => env({ SLUICE_PORT: "-1" }), "SLUICE_PORT", "RangeError");
  throwsNaming(() => env({ SLUICE_PORT: "70000" }), "SLUICE_PORT", "RangeError");
  throwsNaming(
    () => env({ SLUICE_CLIENT_QUEUE_MAX_SIZE: "0" }),
    "SLUICE_CLIENT_QUEUE_MAX_SIZE",
    "RangeError",
  );
});

test("env: a whitespace-only integer is not silently 0", () => {
  // Number("  ") is 0: SLUICE_PORT="  " must not turn into "listen on a random port".
  let port: number | undefined;
  try {
    port = env({ SLUICE_PORT: "   " }).port;
  } catch (err) {
    assert(err instanceof TypeError || err instanceof RangeError, `unexpected ${err}`);
    assert((err as Error).message.includes("SLUICE_PORT"), "error names SLUICE_PORT");
    return;
  }
  assertEquals(port, 8000, "whitespace-only SLUICE_PORT should be unset (8000) or rejected");
});

test("env: allowed_origins as a space-separated list or a JSON array", () => {
  assertEquals(env({ SLUICE_ALLOWED_ORIGINS: "http://a.example https://b.example" }).allowed_origins, [
    "http://a.example",
    "https://b.example",
  ]);
  assertEquals(
    env({ SLUICE_ALLOWED_ORIGINS: "  http://a.example\t\n https://b.example  " }).allowed_origins,
    [
      "http://a.example",
      "https://b.example",
    ],
  );
  assertEquals(env({ SLUICE_ALLOWED_ORIGINS: "http://only.example" }).allowed_origins, [
    "http://only.example",
  ]);
  assertEquals(env({ SLUICE_ALLOWED_ORIGINS: '["http://a.example", "https://b.example"]' }).allowed_origins, [
    "http://a.example",
    "https://b.example",
  ]);
  assertEquals(env({ SLUICE_ALLOWED_ORIGINS: ' ["*"]' }).allowed_origins, ["*"]);
  throwsNaming(
    () => env({ SLUICE_ALLOWED_ORIGINS: '["http://a.example"' }),
    "SLUICE_ALLOWED_ORIGINS",
    "TypeError",
  );
  throwsNaming(() => env({ SLUICE_ALLOWED_ORIGINS: "[1, 2]" }), "SLUICE_ALLOWED_ORIGINS", "TypeError");
});

test("env: namespaces as JSON", () => {
  const c = env({
    SLUICE_NAMESPACES:
      '[{"name":"chat","presence":true,"history_size":10,"history_ttl":"300s"},{"name":"feed"}]',
  });
  assertEquals(c.namespaces.map((n) => n.name), ["chat", "feed"]);
  assertMatch(c.namespaces[0] as unknown as Record<string, unknown>, {
    presence: true,
    history_size: 10,
    history_ttl: 300_000,
    join_leave: false,
  });
  throwsNaming(() => env({ SLUICE_NAMESPACES: "[{name:chat}]" }), "SLUICE_NAMESPACES", "TypeError");
  throwsNaming(() => env({ SLUICE_NAMESPACES: '{"name":"chat"}' }), "SLUICE_NAMESPACES", "TypeError");
  throwsNaming(
    () => env({ SLUICE_NAMESPACES: '[{"name":"chat","presence":"yes"}]' }),
    "presence",
    "TypeError",
  );
});

test("env: durations, strings, enums and objects", () => {
  assertEquals(env({ SLUICE_PING_INTERVAL: "30" }).ping_interval, 30_000);
  assertEquals(env({ SLUICE_PING_INTERVAL: "1.5", SLUICE_PONG_TIMEOUT: "0.5" }).ping_interval, 1_500);
  assertEquals(env({ SLUICE_PING_INTERVAL: "30s" }).ping_interval, 30_000);
  assertEquals(env({ SLUICE_PING_INTERVAL: "1m30s" }).ping_interval, 90_000);
  assertEquals(env({ SLUICE_CLIENT_STALE_CLOSE_DELAY: "250ms" }).client_stale_close_delay, 250);
  assertEquals(env({ SLUICE_CLIENT_STALE_CLOSE_DELAY: "0" }).client_stale_close_delay, 0);
  throwsNaming(() => env({ SLUICE_PING_INTERVAL: "soon" }), "SLUICE_PING_INTERVAL");
  assertEquals(
    env({ SLUICE_TOKEN_HMAC_SECRET_KEY: "s3cret with spaces" }).token_hmac_secret_key,
    "s3cret with spaces",
  );
  assertEquals(env({ SLUICE_LOG_LEVEL: "debug" }).log_level, "debug");
  throwsNaming(() => env({ SLUICE_LOG_LEVEL: "verbose" }), "SLUICE_LOG_LEVEL", "TypeError");
  assertEquals(env({ SLUICE_PLUGINS: '{"audit":{"level":2}}' }).plugins, { audit: { level: 2 } });
  throwsNaming(() => env({ SLUICE_PLUGINS: "audit" }), "SLUICE_PLUGINS", "TypeError");
  throwsNaming(() => env({ SLUICE_PLUGINS: "[1]" }), "SLUICE_PLUGINS", "TypeError");
});

test("env: an empty value means unset", () => {
  const f = {
    port: 9000,
    sse: true,
    allowed_origins: ["http://a.example"],
    ping_interval: "20s",
    log_level: "warn",
  };
  const c = env(
    {
      SLUICE_PORT: "",
      SLUICE_SSE: "",
      SLUICE_ALLOWED_ORIGINS: "",
      SLUICE_PING_INTERVAL: "",
      SLUICE_LOG_LEVEL: "",
      SLUICE_NAMESPACES: "",
      SLUICE_UNKNOWN_THING: "",
    },
    f,
  );
  assertEquals(c.port, 9000);
  assertEquals(c.sse, true);
  assertEquals(c.allowed_origins, ["http://a.example"]);
  assertEquals(c.ping_interval, 20_000);
  assertEquals(c.log_level, "warn");
  assertEquals(
    loadConfig({ env: { SLUICE_UNKNOWN_THING: "" } }).warnings,
    [],
    "empty unknown var is not warned",
  );
  assertEquals(env({ SLUICE_PORT: undefined }).port, 8000);
});

test("env: only SLUICE_* variables are read", () => {
  const { config, warnings } = loadConfig({
    env: { PORT: "1", CENTRIFUGO_PORT: "2", sluice_port: "3", SLUICE: "4", HOME: "/root", PATH: "/bin" },
  });
  assertEquals(config.port, 8000);
  assertEquals(warnings, []);
});

test("env: an unknown SLUICE_ variable is a warning naming it, not an error", () => {
  const { config, warnings } = loadConfig({ env: { SLUICE_NOT_A_KEY: "1", SLUICE_PORT: "9001" } });
  assertEquals(config.port, 9001);
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0].key, "SLUICE_NOT_A_KEY");
  assert(warnings[0].message.includes("SLUICE_NOT_A_KEY"));
});

test("env: the client_anonymous alias", () => {
  assertEquals(env({ SLUICE_CLIENT_ANONYMOUS: "true" }).allow_anonymous_connect_without_token, true);
  assertEquals(
    env({ SLUICE_ALLOW_ANONYMOUS_CONNECT_WITHOUT_TOKEN: "1" }).allow_anonymous_connect_without_token,
    true,
  );
});

// ---------------------------------------------------------------------------------------------
// Layering

test("precedence: defaults ← file ← env ← flags", () => {
  const f = { port: 1000, address: "10.0.0.1", log_level: "warn", sse: true };
  const e = { SLUICE_PORT: "2000", SLUICE_LOG_LEVEL: "error" };
  const all = load({ file: f, env: e, flags: { port: 3000 } });
  assertEquals(all.port, 3000, "flag wins");
  assertEquals(all.log_level, "error", "env over file");
  assertEquals(all.address, "10.0.0.1", "file over default");
  assertEquals(all.sse, true);
  assertEquals(load({ file: f, env: e }).port, 2000, "env over file");
  assertEquals(load({ file: f }).port, 1000);
  assertEquals(load({ file: f, env: e, flags: { port: undefined } }).port, 2000, "undefined flag ignored");
  assertEquals(load({ env: e, flags: { log_level: "debug" } }).log_level, "debug");
});

test("precedence: dev-mode defaults sit under the file, env and flags", () => {
  assertEquals(load({ dev: true }).presence, true);
  assertEquals(load({ dev: true, file: { presence: false } }).presence, false);
  assertEquals(load({ dev: true, env: { SLUICE_SSE: "false" } }).sse, false);
  assertEquals(load({ dev: true, flags: { port: 9999 } }).port, 9999);
  assertEquals(load({ dev: true, file: { allowed_origins: ["http://a.example"] } }).allowed_origins, [
    "http://a.example",
  ]);
});

test("flags: unknown flags and wrong types throw naming the flag", () => {
  throwsNaming(() => load({ flags: { no_such_flag: 1 } }), "no_such_flag", "TypeError");
  throwsNaming(() => load({ flags: { port: "9000" } }), "port", "TypeError");
  throwsNaming(() => load({ flags: { port: 70000 } }), "port", "RangeError");
  throwsNaming(() => load({ flags: { log_level: "loud" } }), "log_level", "TypeError");
});

test("loadConfig does not alias the caller's arrays", () => {
  const origins = ["http://a.example"];
  const f = { allowed_origins: origins, namespaces: [{ name: "chat", presence: true }] };
  const c = file(f);
  origins.push("http://evil.example");
  f.namespaces[0].presence = false;
  assertEquals(c.allowed_origins, ["http://a.example"]);
  assertEquals(c.namespaces[0].presence, true);
  const d = load({ dev: true });
  d.allowed_origins.push("x");
  assertEquals(load({ dev: true }).allowed_origins, ["*"]);
  assertEquals(devModeDefaults().allowed_origins, ["*"]);
});

// ---------------------------------------------------------------------------------------------
// Unknown keys and types

test("unknown keys in the file are warnings naming the key, not errors", () => {
  const { config, warnings } = loadConfig({
    file: { port: 9000, foo: 1, bar_baz: { x: 1 } },
    fileName: "my.json",
  });
  assertEquals(config.port, 9000);
  assertEquals(warnings.map((w) => w.key).sort(), ["bar_baz", "foo"]);
  for (const w of warnings) assert(w.message.includes(w.key), w.message);
});

test("prototype property names in the file are unknown keys, not crashes", () => {
  const parsed = JSON.parse(
    '{"__proto__": {"port": 1}, "constructor": 5, "toString": "x", "hasOwnProperty": 1}',
  );
  const { config, warnings } = loadConfig({ file: parsed });
  assertEquals(config.port, 8000);
  assertEquals(warnings.map((w) => w.key).sort(), ["__proto__", "constructor", "hasOwnProperty", "toString"]);
  assertEquals(typeof String(config), "string");
  assertEquals(Object.getPrototypeOf(config), Object.prototype);
  const fromEnv = loadConfig({ env: { SLUICE___PROTO__: "x", SLUICE_CONSTRUCTOR: "y" } });
  assertEquals(fromEnv.warnings.length, 2);
});

test("isKnownConfigKey", () => {
  assert(isKnownConfigKey("port"));
  assert(isKnownConfigKey("presence"));
  assert(isKnownConfigKey("client_anonymous"), "aliases are known");
  assert(isKnownConfigKey("history_lifetime"));
  assert(!isKnownConfigKey("nope"));
  assert(!isKnownConfigKey(""));
});

test("isKnownConfigKey is false for Object.prototype names", () => {
  for (const key of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
    assert(!isKnownConfigKey(key), `"${key}" is not a config key`);
  }
});

test("the top level of the file must be an object", () => {
  for (const f of [null, [], "port", 5, true]) {
    const err = assertThrows(() => load({ file: f, fileName: "sluice.json" }));
    assert(err instanceof TypeError, `file ${JSON.stringify(f)}: expected TypeError, got ${err}`);
  }
});

test("wrong types throw a TypeError naming the key", () => {
  const cases: Array<[string, unknown]> = [
    ["port", "8000"],
    ["port", 80.5],
    ["port", null],
    ["sse", "true"],
    ["sse", 1],
    ["health", null],
    ["allowed_origins", "http://a.example"],
    ["allowed_origins", [1]],
    ["allowed_origins", { a: 1 }],
    ["namespaces", {}],
    ["namespaces", "chat"],
    ["log_level", "verbose"],
    ["log_level", 3],
    ["log_format", "xml"],
    ["plugins", []],
    ["plugins", null],
    ["plugins", "x"],
    ["token_hmac_secret_key", 123],
    ["token_user_id_claim", ["sub"]],
    ["client_queue_max_size", "1MB"],
    ["presence", "yes"],
    ["history_size", "10"],
    ["channel_regex", 5],
  ];
  for (const [key, value] of cases) {
    throwsNaming(() => file({ [key]: value }), key, "TypeError");
  }
});

test("out-of-range numbers throw a RangeError naming the key", () => {
  throwsNaming(() => file({ port: -1 }), "port", "RangeError");
  throwsNaming(() => file({ port: 65536 }), "port", "RangeError");
  throwsNaming(() => file({ client_queue_max_size: 0 }), "client_queue_max_size", "RangeError");
  throwsNaming(() => file({ sse_max_request_body_size: 0 }), "sse_max_request_body_size", "RangeError");
  throwsNaming(() => file({ history_size: -5 }), "history_size", "RangeError");
  throwsNaming(() => file({ channel_max_length: 0 }), "channel_max_length", "RangeError");
  assertEquals(file({ port: 0 }).port, 0);
  assertEquals(file({ port: 65535 }).port, 65535);
});

test("token keys are checked for shape", () => {
  throwsNaming(() => file({ token_rsa_public_key: "not a pem" }), "token_rsa_public_key", "TypeError");
  throwsNaming(
    () => file({ token_ecdsa_public_key: "MFkwEwYHKoZIzj0CAQ" }),
    "token_ecdsa_public_key",
    "TypeError",
  );
  throwsNaming(
    () => file({ token_jwks_public_endpoint: "ftp://keys.example" }),
    "token_jwks_public_endpoint",
  );
  throwsNaming(() => file({ token_jwks_public_endpoint: "keys.example/jwks" }), "token_jwks_public_endpoint");
  const pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
  assertEquals(file({ token_rsa_public_key: pem }).token_rsa_public_key, pem);
  assertEquals(
    file({ token_jwks_public_endpoint: "https://id.example/.well-known/jwks.json" })
      .token_jwks_public_endpoint,
    "https://id.example/.well-known/jwks.json",
  );
});

// ---------------------------------------------------------------------------------------------
// Namespaces

test("namespaces: options default per namespace and are coerced", () => {
  const c = file({
    presence: true,
    namespaces: [
      { name: "chat", join_leave: true, history_size: 50, history_ttl: "10m", force_recovery: true },
      { name: "my-ns_1.v2", channel_regex: "^[a-z]+$" },
    ],
  });
  assertEquals(c.namespaces.length, 2);
  const [chat, other] = c.namespaces;
  assertMatch(chat as unknown as Record<string, unknown>, {
    name: "chat",
    join_leave: true,
    history_size: 50,
    history_ttl: 600_000,
    force_recovery: true,
    presence: false, // namespaces do not inherit top-level options
    allow_subscribe_for_client: false,
  });
  assertEquals(other.name, "my-ns_1.v2");
  assertEquals(other.channel_regex, "^[a-z]+$");
  assertEquals(other.history_size, 0);
});

test("namespaces: names must be 2+ characters of letters, digits, -, _ and .", () => {
  for (const name of ["a", "", "bad name", "chat:room", "ns/1", "é-ns", "a$", "#x"]) {
    const err = throwsNaming(() => file({ namespaces: [{ name }] }), "namespace", "TypeError");
    assert(
      err.message.includes(JSON.stringify(name)) || err.message.includes(name),
      `names ${name}: ${err.message}`,
    );
  }
  for (const name of ["ab", "chat", "my-ns_1.v2", "A1", "--", ".."]) {
    assertEquals(file({ namespaces: [{ name }] }).namespaces[0].name, name);
  }
});

test("namespaces: entries must be objects with a string name", () => {
  throwsNaming(() => file({ namespaces: [{ presence: true }] }), "namespaces[0].name", "TypeError");
  throwsNaming(() => file({ namespaces: [{ name: 5 }] }), "namespaces[0].name", "TypeError");
  throwsNaming(() => file({ namespaces: [{ name: "ok" }, null] }), "namespaces[1]", "TypeError");
  throwsNaming(() => file({ namespaces: ["chat"] }), "namespaces[0]", "TypeError");
  throwsNaming(() => file({ namespaces: [["chat"]] }), "namespaces[0]", "TypeError");
});

test("namespaces: duplicates are rejected", () => {
  throwsNaming(
    () => file({ namespaces: [{ name: "chat" }, { name: "feed" }, { name: "chat" }] }),
    "chat",
    "TypeError",
  );
});

test("namespaces: wrong option types name the namespace and the option", () => {
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", presence: "yes" }] }),
    ["chat", "presence"],
    "TypeError",
  );
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_size: "5" }] }),
    ["chat", "history_size"],
    "TypeError",
  );
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_size: -1 }] }),
    ["chat", "history_size"],
    "RangeError",
  );
});

test("namespaces: unknown options are warnings", () => {
  const { config, warnings } = loadConfig({
    file: { namespaces: [{ name: "chat", colour: "blue", presence: true }] },
  });
  assertEquals(config.namespaces[0].presence, true);
  assertEquals(warnings.length, 1);
  assert(warnings[0].key.includes("colour") && warnings[0].key.includes("chat"), warnings[0].key);
});

test("history_size and history_ttl must be set together", () => {
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_size: 10 }] }),
    ["chat", "history_ttl"],
    "TypeError",
  );
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_ttl: "60s" }] }),
    ["chat", "history_size"],
    "TypeError",
  );
  throwsNaming(() => file({ history_size: 10 }), "history_ttl", "TypeError");
  throwsNaming(() => file({ history_ttl: "1m" }), "history_size", "TypeError");
  assertEquals(file({ history_size: 10, history_ttl: "1m" }).history_ttl, 60_000);
});

test("history_ttl must be whole seconds", () => {
  throwsNaming(() => file({ history_size: 10, history_ttl: "1500ms" }), "history_ttl", "TypeError");
  throwsNaming(
    () => file({ namespaces: [{ name: "chat", history_size: 1, history_ttl: 0.5 }] }),
    "history_ttl",
  );
});

test("recovery and positioning without history are rejected", () => {
  for (const key of ["force_recovery", "allow_recovery", "force_positioning", "allow_positioning"]) {
    throwsNaming(
      () => file({ namespaces: [{ name: "chat", [key]: true }] }),
      ["chat", "history_size"],
      "TypeError",
    );
    throwsNaming(() => file({ [key]: true }), "history_size", "TypeError");
    const ok = file({ namespaces: [{ name: "chat", [key]: true, history_size: 10, history_ttl: "60s" }] });
    assertEquals(get(ok.namespaces[0], key), true);
  }
});

test("recovery without history: the error names the offending option", () => {
  // The user set force_recovery (or allow_recovery, ...); the message should say which one.
  for (const key of ["force_recovery", "allow_recovery", "force_positioning", "allow_positioning"]) {
    throwsNaming(() => file({ namespaces: [{ name: "chat", [key]: true }] }), [key, "chat"], "TypeError");
  }
});

test("channel_regex must compile", () => {
  throwsNaming(() => file({ namespaces: [{ name: "chat", channel_regex: "([a-z" }] }), [
    "chat",
    "channel_regex",
  ], "TypeError");
  throwsNaming(() => file({ channel_regex: "*oops" }), "channel_regex", "TypeError");
  assertEquals(file({ channel_regex: "^[a-z0-9_]+$" }).channel_regex, "^[a-z0-9_]+$");
});

test("legacy Centrifugo v3 namespace options are rejected with a hint", () => {
  const legacy: Record<string, string> = {
    anonymous: "allow_subscribe_for_anonymous",
    publish: "allow_publish_for_client",
    subscribe_to_publish: "allow_publish_for_subscriber",
    presence_disable_for_client: "allow_presence_for_subscriber",
    history_disable_for_client: "allow_history_for_subscriber",
    protected: "allow_subscribe_for_client",
    recover: "force_recovery",
    position: "force_positioning",
    history_recover: "force_recovery",
    server_side: "server_side",
    secret: "token_hmac_secret_key",
  };
  for (const [key, hint] of Object.entries(legacy)) {
    throwsNaming(
      () => file({ namespaces: [{ name: "chat", [key]: true }] }),
      [key, "chat", hint],
      "TypeError",
    );
  }
});

test("legacy aliases: client_anonymous and history_lifetime", () => {
  assertEquals(file({ client_anonymous: true }).allow_anonymous_connect_without_token, true);
  assertEquals(file({ client_anonymous: false }).allow_anonymous_connect_without_token, false);
  assertEquals(
    loadConfig({ file: { client_anonymous: true } }).warnings,
    [],
    "an alias is not an unknown key",
  );
  assertEquals(file({ history_size: 5, history_lifetime: 60 }).history_ttl, 60_000);
  const ns = file({ namespaces: [{ name: "chat", history_size: 5, history_lifetime: "2m" }] }).namespaces[0];
  assertEquals(ns.history_ttl, 120_000);
});

test("a wrongly typed alias names the key the user wrote", () => {
  throwsNaming(() => file({ client_anonymous: "yes" }), "client_anonymous", "TypeError");
});

// ---------------------------------------------------------------------------------------------
// Ping / pong

test("pong_timeout must be less than ping_interval", () => {
  throwsNaming(() => file({ ping_interval: "25s", pong_timeout: "25s" }), "pong_timeout", "RangeError");
  throwsNaming(() => file({ ping_interval: "10s", pong_timeout: "30s" }), ["pong_timeout", "ping_interval"]);
  throwsNaming(() => file({ ping_interval: "5s" }), "pong_timeout", "RangeError"); // default pong 8s
  throwsNaming(() => load({ env: { SLUICE_PONG_TIMEOUT: "30" } }), "pong_timeout", "RangeError");
  const ok = file({ ping_interval: "25s", pong_timeout: "24s" });
  assertEquals([ok.ping_interval, ok.pong_timeout], [25_000, 24_000]);
  assertEquals(file({ ping_interval: "5s", pong_timeout: 0 }).pong_timeout, 0, "0 disables the pong check");
  assertEquals(file({ ping_interval: 0 }).ping_interval, 0, "0 disables pings");
});

// ---------------------------------------------------------------------------------------------
// Handler prefixes

test("handler prefixes must start with / and lose trailing slashes", () => {
  for (const key of Object.keys(HANDLER_PREFIXES)) {
    assertEquals(get(file({ [key]: "/custom/path/" }), key), "/custom/path", key);
    assertEquals(get(file({ [key]: "/custom///" }), key), "/custom", key);
    assertEquals(get(file({ [key]: "/x" }), key), "/x", key);
    assertEquals(get(file({ [key]: "/" }), key), "", `${key}: "/" is the root`);
    assertEquals(get(file({ [key]: "" }), key), "", key);
    throwsNaming(() => file({ [key]: "custom/path" }), key, "TypeError");
    throwsNaming(() => file({ [key]: "http://x/y" }), key, "TypeError");
  }
  assertEquals(env({ SLUICE_API_HANDLER_PREFIX: "/v1/api/" }).api_handler_prefix, "/v1/api");
  throwsNaming(() => env({ SLUICE_HEALTH_HANDLER_PREFIX: "health" }), "health_handler_prefix", "TypeError");
});

// ---------------------------------------------------------------------------------------------
// Dev mode

test("dev mode turns on sse, http_stream and client-side subscribe", () => {
  const { config, warnings } = loadConfig({ dev: true });
  assertEquals(config.sse, true);
  assertEquals(config.http_stream, true);
  assertEquals(config.uni_sse, true);
  assertEquals(config.uni_http_stream, true);
  assertEquals(config.allow_subscribe_for_client, true);
  assertEquals(config.allow_publish_for_subscriber, true);
  assertEquals(config.allow_presence_for_subscriber, true);
  assertEquals(config.allow_history_for_subscriber, true);
  assertEquals(config.allow_user_limited_channels, true);
  assertEquals(config.presence, true);
  assertEquals(config.join_leave, true);
  assertEquals(config.history_size, 100);
  assertEquals(config.history_ttl, 600_000);
  assertEquals(config.allow_recovery, true);
  assertEquals(config.allow_positioning, true);
  assertEquals(config.allowed_origins, ["*"]);
  assertEquals(warnings, [], "dev mode's own allowed_origins are not warned about");
  // Untouched by dev mode:
  assertEquals(config.port, 8000);
  assertEquals(config.allow_anonymous_connect_without_token, false);
});

test("devModeDefaults returns a fresh partial config", () => {
  const a = devModeDefaults();
  assertMatch(a as Record<string, unknown>, {
    sse: true,
    http_stream: true,
    allow_subscribe_for_client: true,
  });
  a.allowed_origins!.push("x");
  assertEquals(devModeDefaults().allowed_origins, ["*"]);
});

test("without dev mode everything stays off", () => {
  const c = load({});
  assertEquals([c.sse, c.http_stream, c.uni_sse, c.allow_subscribe_for_client, c.presence], [
    false,
    false,
    false,
    false,
    false,
  ]);
});

test('allowed_origins "*" is warned about unless it is dev mode\'s own default', () => {
  const w1 = loadConfig({ file: { allowed_origins: ["*"] } }).warnings;
  assertEquals(w1.map((w) => w.key), ["allowed_origins"]);
  const w2 = loadConfig({ env: { SLUICE_ALLOWED_ORIGINS: "*" } }).warnings;
  assertEquals(w2.map((w) => w.key), ["allowed_origins"]);
  const w3 = loadConfig({ dev: true, env: { SLUICE_ALLOWED_ORIGINS: "* http://a.example" } }).warnings;
  assertEquals(w3.map((w) => w.key), ["allowed_origins"]);
  assertEquals(loadConfig({ file: { allowed_origins: ["http://a.example"] } }).warnings, []);
});

// ---------------------------------------------------------------------------------------------
// Mistakes named with a suggestion, errors carrying their key

test("unknown keys get the closest known key, at the top level and in namespaces (naming the namespace)", () => {
  const { warnings } = loadConfig({
    file: {
      allow_subscribe_for_clinet: true,
      namespaces: [{ name: "chat", histroy_size: 10 }],
    },
    env: { SLUICE_TOKEN_HMAC_SECRT_KEY: "x" },
  });
  const byKey = Object.fromEntries(warnings.map((w) => [w.key, w]));
  assertMatch(byKey.allow_subscribe_for_clinet, { kind: "unknown" });
  assert(
    byKey.allow_subscribe_for_clinet.message.includes('(did you mean "allow_subscribe_for_client"?)'),
    byKey.allow_subscribe_for_clinet.message,
  );
  const ns = warnings.find((w) => w.message.includes("histroy_size"))!;
  assert(/in namespace "chat".*\(did you mean "history_size"\?\)/.test(ns.message), ns.message);
  assert(byKey.SLUICE_TOKEN_HMAC_SECRT_KEY.message.includes("SLUICE_TOKEN_HMAC_SECRET_KEY"));
});

test('deno_listener: "node_http" loads with one warning that the key is no longer needed', () => {
  for (
    const input of [
      { file: { deno_listener: "node_http" } },
      { env: { SLUICE_DENO_LISTENER: "node_http" } },
      { file: { deno_listener: "node_http" }, env: { SLUICE_DENO_LISTENER: "node_http" } },
    ]
  ) {
    const { config, warnings } = loadConfig(input);
    assertEquals(warnings.map((w) => [w.key, w.kind]), [["deno_listener", "advice"]], JSON.stringify(input));
    assert(warnings[0].message.includes("no longer needed"), warnings[0].message);
    assert(warnings[0].message.includes("node:http is Deno's only listener"), warnings[0].message);
    assert(!("deno_listener" in config), "nothing of it is left in the config");
  }
});

test("deno_listener: the removed listeners and any other value are refused, naming the key and why", () => {
  const sluice = throwsNaming(() => file({ deno_listener: "sluice" }), [
    "deno_listener",
    '"sluice" was removed',
  ]);
  assert(sluice.message.includes("WebSocket"), sluice.message);
  const serve = throwsNaming(() => env({ SLUICE_DENO_LISTENER: "deno_serve" }), [
    "SLUICE_DENO_LISTENER",
    '"deno_serve" was removed',
  ]);
  assertEquals(serve.key, "SLUICE_DENO_LISTENER");
  assert(serve.message.includes("idle timeout"), serve.message);
  throwsNaming(() => file({ deno_listener: "uws" }), ["deno_listener", '"node_http"', '"uws"']);
  throwsNaming(() => file({ deno_listener: 1 }), ["deno_listener", "got 1"]);
  // A typo of the key is still found, as for any key.
  const typo = loadConfig({ file: { deno_listner: "node_http" } }).warnings;
  assert(typo[0].message.includes('(did you mean "deno_listener"?)'), typo[0].message);
});

test("ConfigError carries the key as given: file key, namespace path, environment variable, flag", () => {
  const keyOf = (fn: () => unknown) => (assertThrows(fn) as ConfigError).key;
  assertEquals(keyOf(() => file({ ping_interval: "soon" })), "ping_interval");
  assertEquals(
    keyOf(() => file({ namespaces: [{ name: "ok", presence: "yes" }] })),
    'namespaces[0] ("ok").presence',
  );
  assertEquals(
    keyOf(() => file({ namespaces: [{ name: "ok", history_size: 5 }] })),
    "namespaces[0].history_ttl",
  );
  assertEquals(keyOf(() => env({ SLUICE_CLIENT_CHANNEL_LIMIT: "many" })), "SLUICE_CLIENT_CHANNEL_LIMIT");
  assertEquals(keyOf(() => load({ flags: { port: "x" } })), "--port");
  assertEquals(keyOf(() => file({ ping_interval: "5s", pong_timeout: "6s" })), "pong_timeout");
});

test("bad environment values are shown as given", () => {
  const err = throwsNaming(() => env({ SLUICE_CLIENT_CHANNEL_LIMIT: "lots" }), "SLUICE_CLIENT_CHANNEL_LIMIT");
  assert(err.message.includes('got "lots"'), err.message);
});

test("Centrifugo v6's nested form loads onto the same keys (flat keys next to it still work)", () => {
  const { config, warnings, form } = loadConfig({
    file: {
      http_server: { port: 9001, address: "127.0.0.1" },
      log: { level: "debug" },
      client: {
        token: { hmac_secret_key: "k6", audience: "app" },
        allowed_origins: ["https://app.example"],
        ping_interval: "20s",
        pong_timeout: "5s",
        channel_limit: 50,
        proxy: { connect: { enabled: true, endpoint: "http://127.0.0.1:3000/connect", timeout: "2s" } },
      },
      channel: {
        without_namespace: { presence: true },
        namespaces: [{ name: "chat", history_size: 10, history_ttl: "60s", subscribe_proxy_enabled: true }],
        history_meta_ttl: "48h",
        proxy: { subscribe: { endpoint: "http://127.0.0.1:3000/subscribe" } },
      },
      http_api: { key: "api6", error_mode: "transport" },
      sse: { enabled: true },
      http_stream: { enabled: true, max_request_body_size: 1000 },
      uni_sse: { enabled: true, handler_prefix: "/uni" },
      engine: { type: "redis", redis: { address: "redis://127.0.0.1:6390", presence_ttl: "30s" } },
      prometheus: { enabled: true },
      shutdown: { timeout: "10s" },
      node: { name: "n1" },
      websocket: { disabled: true },
    },
  });
  assertEquals(form, "v6");
  assertEquals(warnings, []);
  assertMatch(config as unknown as Record<string, unknown>, {
    port: 9001,
    address: "127.0.0.1",
    log_level: "debug",
    token_hmac_secret_key: "k6",
    token_audience: "app",
    allowed_origins: ["https://app.example"],
    ping_interval: 20_000,
    pong_timeout: 5_000,
    client_channel_limit: 50,
    proxy_connect_endpoint: "http://127.0.0.1:3000/connect",
    proxy_connect_timeout: 2_000,
    proxy_subscribe_endpoint: "http://127.0.0.1:3000/subscribe",
    presence: true,
    global_history_meta_ttl: 48 * 3600_000,
    api_key: "api6",
    api_error_mode: "transport",
    sse: true,
    http_stream: true,
    http_stream_max_request_body_size: 1000,
    uni_sse: true,
    uni_sse_handler_prefix: "/uni",
    engine: "redis",
    redis_address: "redis://127.0.0.1:6390",
    global_presence_ttl: 30_000,
    prometheus: true,
    shutdown_timeout: 10,
    name: "n1",
    websocket_disable: true,
  });
  assertMatch(config.namespaces[0] as unknown as Record<string, unknown>, {
    name: "chat",
    history_size: 10,
    proxy_subscribe: true,
  });
  const typo = loadConfig({ file: { client: { tokn: { hmac_secret_key: "x" } } } });
  assert(
    typo.warnings[0].message.includes('"client.tokn"') && typo.warnings[0].message.includes('"client.token"'),
  );
  const bad = assertThrows(() => file({ client: { ping_interval: "often" } })) as ConfigError;
  assertEquals(bad.key, "client.ping_interval");
});
