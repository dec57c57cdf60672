/**
 * @module
 * `sluice genconfig`, `gentoken`, `checktoken`, `checkconfig`: the helpers around the server.
 * Each reads the same config the server would (`--config FILE`, default `./config.json`, plus
 * `SLUICE_*` variables), prints one result, and throws a `CliError` (one line, exit 1) otherwise.
 */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { SignJWT } from "jose";
import { type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { authWarning, type Config, loadConfig } from "./config/mod.ts";
import { TokenVerifier } from "./auth/jwt.ts";
import type { Runtime } from "./runtime/types.ts";
import { type LoadOptions, loadPlugins, pluginEntries } from "./plugin_api/loader.ts";

export class CliError extends Error {
  override name = "CliError";
}

/** Accepts Go-style single-dash long flags (`-port 9000`) by rewriting them to `--port`. */
export function normalizeFlags(args: string[]): string[] {
  return args.map((a) => (/^-[a-z_]{2,}(=.*)?$/.test(a) ? "-" + a : a));
}

type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** parseArgs with `--help`, single-dash long flags, and one-line errors. */
export function parseFlags(
  command: string,
  args: string[],
  options: FlagSpec,
  positionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args: normalizeFlags(args),
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: positionals,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}; run "sluice ${command} --help"`);
  }
}

export const DEFAULT_CONFIG = "config.json";

/** The config file to use: the flag's, else `./config.json` when it exists, else none. */
export function configPath(flag: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined;
}

/** Reads and parses a config file; every failure is one clear line. */
export async function readConfigFile(runtime: Runtime, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await runtime.readTextFile(path);
  } catch (err) {
    throw new CliError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`config file ${path} is not valid JSON: ${jsonErrorAt(text, err as Error)}`);
  }
}

/**
 * Where a JSON text goes wrong, as "line L, column C: what". The runtimes' own messages differ
 * (Bun's has no position), so a JSON scanner (jsonc-parser, comments refused) finds the spot.
 */
function jsonErrorAt(text: string, err: Error): string {
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  const first = errors[0];
  if (!first) return err.message;
  const before = text.slice(0, first.offset).split("\n");
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  const found = JSON.stringify(text.slice(first.offset, first.offset + Math.max(1, first.length)));
  return `line ${line}, column ${column}: ${printParseErrorCode(first.error)} at ${found}`;
}

async function configFor(
  runtime: Runtime,
  flag: string | undefined,
): Promise<{ config: Config; path?: string }> {
  const path = configPath(flag);
  const file = path ? await readConfigFile(runtime, path) : undefined;
  try {
    return { config: loadConfig({ file, fileName: path, env: runtime.env() }).config, path };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

export function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const GENCONFIG_HELP = `Usage: sluice genconfig [--config FILE]

Writes a starter config (default ./config.json) with a random HMAC secret and API key, every
HTTP transport on, Prometheus metrics on, and the admin page ready (admin: true to turn it on). Refuses to overwrite an existing file.`;

export async function genconfigCommand(runtime: Runtime, args: string[]): Promise<number> {
  const { values } = parseFlags("genconfig", args, { config: { type: "string", short: "c" } });
  if (values.help) return print(GENCONFIG_HELP);
  const path = (values.config as string | undefined) ?? DEFAULT_CONFIG;
  const config = {
    token_hmac_secret_key: randomSecret(),
    api_key: randomSecret(),
    admin: false,
    admin_password: randomSecret(),
    admin_secret: randomSecret(),
    allowed_origins: [],
    http_stream: true,
    sse: true,
    uni_sse: true,
    uni_http_stream: true,
    prometheus: true,
    namespaces: [{
      name: "chat",
      allow_subscribe_for_client: true,
      allow_publish_for_subscriber: true,
      presence: true,
      allow_presence_for_subscriber: true,
      join_leave: true,
      history_size: 100,
      history_ttl: "300s",
      force_recovery: true,
    }],
  };
  try {
    await runtime.writeTextFile(path, JSON.stringify(config, null, 2) + "\n", { createNew: true });
  } catch (err) {
    if (existsSync(path)) throw new CliError(`${path} already exists; not overwriting it`);
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
  console.log(`wrote ${path}; add your site's origin to "allowed_origins" before browsers connect`);
  return 0;
}

const GENTOKEN_HELP = `Usage: sluice gentoken --user USER [--ttl SECONDS] [--channels a,b] [--config FILE]

Prints a connection token (HS256) signed with the config's token_hmac_secret_key.
  --user       user id (the "sub" claim); "" for an anonymous token
  --ttl        seconds until it expires (default 3600; 0 = no "exp")
  --channels   comma-separated server-side channels (the "channels" claim)`;

export async function gentokenCommand(runtime: Runtime, args: string[]): Promise<number> {
  const { values } = parseFlags("gentoken", args, {
    user: { type: "string", short: "u" },
    ttl: { type: "string" },
    channels: { type: "string" },
    config: { type: "string", short: "c" },
  });
  if (values.help) return print(GENTOKEN_HELP);
  if (values.user === undefined) throw new CliError('--user is required; run "sluice gentoken --help"');
  const ttl = Number(values.ttl ?? "3600");
  if (!Number.isInteger(ttl) || ttl < 0) {
    throw new CliError(`--ttl must be a whole number of seconds, got "${values.ttl}"`);
  }
  const { config, path } = await configFor(runtime, values.config as string | undefined);
  if (!config.token_hmac_secret_key) {
    throw new CliError(
      `no token_hmac_secret_key in ${path ?? "the environment"}; run "sluice genconfig" first`,
    );
  }
  const claims: Record<string, unknown> = { sub: values.user };
  const channels = ((values.channels as string | undefined) ?? "").split(",").map((c) => c.trim()).filter(
    Boolean,
  );
  if (channels.length > 0) claims.channels = channels;
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt();
  if (ttl > 0) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
  console.log(await jwt.sign(new TextEncoder().encode(config.token_hmac_secret_key)));
  return 0;
}

const CHECKTOKEN_HELP = `Usage: sluice checktoken TOKEN [--config FILE]

Verifies a connection token with the config's keys and prints its claims, or why it is invalid
(exit 1).`;

export async function checktokenCommand(runtime: Runtime, args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    "checktoken",
    args,
    { config: { type: "string", short: "c" } },
    true,
  );
  if (values.help) return print(CHECKTOKEN_HELP);
  if (positionals.length !== 1) throw new CliError('expected one TOKEN; run "sluice checktoken --help"');
  const { config } = await configFor(runtime, values.config as string | undefined);
  const verifier = new TokenVerifier(config);
  if (!verifier.enabled) {
    throw new CliError("no token key is configured (token_hmac_secret_key, token_rsa_public_key, …)");
  }
  try {
    const claims = await verifier.verifyConnectToken(positionals[0]);
    const expires = claims.expireAt > 0 ? new Date(claims.expireAt * 1000).toISOString() : "never";
    console.log(JSON.stringify(
      {
        valid: true,
        user: claims.user,
        expires,
        info: claims.info === undefined ? undefined : JSON.parse(claims.info),
        channels: claims.channels.length ? claims.channels : undefined,
        subs: Object.keys(claims.subs).length ? Object.keys(claims.subs) : undefined,
      },
      null,
      2,
    ));
    return 0;
  } catch (err) {
    throw new CliError(`token is not valid: ${(err as Error).message}`);
  }
}

const CHECKCONFIG_HELP = `Usage: sluice checkconfig [--config FILE]

Validates the config (file + SLUICE_* environment; Centrifugo v5's flat keys or v6's nested
form) and prints "config is valid", or the problems (exit 1): an invalid value, every unknown
key (with the closest known one), a config under which no client could connect. Plugins are
loaded as the server would load them (files found, hook names known, factories run with their
options), but nothing is started: no plugin's setup runs and nothing listens.`;

/** Where plugins named in a config come from: the shipped registry and the public API. */
export type PluginSources = Pick<LoadOptions, "shipped" | "publicApi">;

export async function checkconfigCommand(
  runtime: Runtime,
  args: string[],
  sources: PluginSources = {},
): Promise<number> {
  const { values } = parseFlags("checkconfig", args, { config: { type: "string", short: "c" } });
  if (values.help) return print(CHECKCONFIG_HELP);
  const path = configPath(values.config as string | undefined);
  if (!path) throw new CliError(`no config file (${DEFAULT_CONFIG} not found); pass --config FILE`);
  const file = await readConfigFile(runtime, path);
  let warnings, config;
  try {
    ({ warnings, config } = loadConfig({ file, fileName: path, env: runtime.env() }));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  let plugins;
  try {
    plugins = await loadPlugins(pluginEntries(config), {
      pluginsDir: config.plugins_dir,
      config,
      ...sources,
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (plugins.length > 0) console.log(`plugins: ${plugins.map((p) => p.plugin.name).join(", ")}`);
  const noAuth = authWarning(config, plugins.some((p) => typeof p.plugin.onConnecting === "function"));
  const problems = [...warnings.filter((w) => w.kind === "unknown"), ...(noAuth ? [noAuth] : [])];
  for (const w of warnings.filter((w) => w.kind !== "unknown")) console.log(`warning: ${w.message}`);
  for (const p of problems) console.log(`error: ${p.message}`);
  if (problems.length > 0) {
    console.log(`config ${path}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    return 1;
  }
  console.log(`config is valid (${path})`);
  return 0;
}

function print(text: string): number {
  console.log(text);
  return 0;
}
