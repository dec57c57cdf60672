/**
 * @module
 * Turning `"plugins": {name-or-path: options}` into plugin objects, in config order. A name is
 * looked up among the shipped plugins (handed in: `plugins/mod.ts`, bundled into the binary), then
 * as a file in `plugins_dir`; a path ("./x.ts", "/abs/x.ts") is imported as is. A module's default
 * export may be a plugin object or a factory `(options) => plugin`. Setting any of Centrifugo's
 * `proxy_*_endpoint` keys enables the shipped `connect_proxy` plugin without listing it, and
 * `engine: "redis"` the shipped `redis_broker`. A plugin file imports Sluice's API as `"sluice"`
 * on every runtime and in the compiled binary (`Runtime.exposeModule`).
 * Every failure stops boot with a message naming the plugin.
 */
import { existsSync, readdirSync } from "node:fs";
import process from "node:process";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Config, withImpliedPlugins } from "../config/mod.ts";
import { validatePlugin } from "./define.ts";
import type { Plugin, PluginFactory } from "./types.ts";
import { didYouMean } from "../did_you_mean.ts";
import { getRuntime } from "../runtime/serve.ts";

/** Plugins bundled with Sluice, by name: module loaders (`plugins/mod.ts` is the real one). */
export type ShippedPlugins = Readonly<Record<string, () => Promise<Record<string, unknown>>>>;

export interface LoadOptions {
  pluginsDir: string;
  cwd?: string;
  config?: Readonly<Config>;
  /** Plugins found by name before `plugins_dir`; none when absent. */
  shipped?: ShippedPlugins;
  /**
   * Sluice's public API, for plugin files that import `"sluice"`. Handed in by the caller
   * (the CLI) because the API module itself contains this loader.
   */
  publicApi?: () => Promise<object>;
}

/** What a plugin imports Sluice's API by, wherever its file lives (see `src/public.ts`). */
export const PUBLIC_SPECIFIER = "sluice";
const PLUGIN_EXTENSIONS = [".ts", ".js", ".mjs"];

export interface LoadedPlugin {
  plugin: Plugin;
  /** The options it was enabled with. */
  options: Record<string, unknown>;
  /** How the config named it. */
  spec: string;
}

/** The `plugins` entries to load, with the shipped plugins Centrifugo's keys imply (see config/compat.ts). */
export function pluginEntries(config: Config): Array<[string, unknown]> {
  return withImpliedPlugins(config, Object.entries(config.plugins));
}

export async function loadPlugins(
  entries: Array<[string, unknown]>,
  opts: LoadOptions,
): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const [spec, rawOptions] of entries) {
    if (rawOptions === false) continue; // "name": false turns a plugin off
    const options = rawOptions === true || rawOptions === null || rawOptions === undefined ? {} : rawOptions;
    if (typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(
        `Cannot load plugin "${spec}": its options must be an object, got ${JSON.stringify(rawOptions)}`,
      );
    }
    const candidate = await importPlugin(spec, opts);
    let plugin: unknown = candidate;
    if (typeof candidate === "function") {
      try {
        plugin = await (candidate as PluginFactory)(options as Record<string, unknown>, opts.config);
      } catch (err) {
        throw new TypeError(
          `Cannot load plugin "${spec}": its factory threw: ${(err as Error)?.message ?? err}`,
        );
      }
    }
    loaded.push({
      plugin: validatePlugin(plugin as Plugin, `"${spec}"`),
      options: options as Record<string, unknown>,
      spec,
    });
  }
  checkPlugins(loaded);
  return loaded;
}

/** Duplicate names, missing dependencies and competing providers stop boot, naming the plugins. */
export function checkPlugins(loaded: readonly LoadedPlugin[]): void {
  const seen = new Map<string, string>();
  const providers = new Map<string, string>();
  for (const { plugin, spec } of loaded) {
    const earlier = seen.get(plugin.name);
    if (earlier !== undefined) {
      throw new TypeError(`Cannot load plugins: "${earlier}" and "${spec}" are both named "${plugin.name}"`);
    }
    for (const dep of plugin.dependencies ?? []) {
      if (!seen.has(dep)) {
        throw new TypeError(
          `Cannot load plugin "${plugin.name}": it depends on "${dep}", which is not enabled before it in "plugins"`,
        );
      }
    }
    seen.set(plugin.name, spec);
    for (const slot of Object.keys(plugin.provides ?? {})) {
      const other = providers.get(slot);
      if (other) {
        throw new TypeError(`Cannot load plugins: both "${other}" and "${plugin.name}" provide a ${slot}`);
      }
      providers.set(slot, plugin.name);
    }
  }
}

async function importPlugin(spec: string, opts: LoadOptions): Promise<unknown> {
  const shippedPlugins = opts.shipped ?? {};
  const shipped = Object.hasOwn(shippedPlugins, spec) ? shippedPlugins[spec] : undefined;
  if (shipped) return defaultExport(spec, await shipped());
  const cwd = opts.cwd ?? process.cwd();
  const looksLikePath = spec.startsWith(".") || isAbsolute(spec) || /\.(ts|js|mjs)$/.test(spec);
  const candidates = looksLikePath
    ? [resolve(cwd, spec)]
    : PLUGIN_EXTENSIONS.map((ext) => resolve(cwd, opts.pluginsDir, `${spec}${ext}`));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    const hint = looksLikePath
      ? didYouMean(basename(spec), pluginFiles(dirname(candidates[0])))
      : didYouMean(spec, [...Object.keys(shippedPlugins), ...pluginNames(resolve(cwd, opts.pluginsDir))]);
    throw new TypeError(
      `Cannot load plugin "${spec}": not a shipped plugin (${Object.keys(shippedPlugins).join(", ")}) ` +
        `and no file at ${candidates.join(" or ")}${hint}`,
    );
  }
  const runtime = await getRuntime();
  const cannotExpose = opts.publicApi && runtime.exposeModule(PUBLIC_SPECIFIER, opts.publicApi);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    const message = String((err as Error)?.message ?? err);
    const hint = cannotExpose && message.includes(`"${PUBLIC_SPECIFIER}"`) ? ` (${cannotExpose})` : "";
    throw new TypeError(`Cannot load plugin "${spec}" from ${file}: ${message}${hint}`);
  }
  return defaultExport(spec, mod);
}

/** Plugin files in a folder, by name with extension ("my_auth.ts"). */
function pluginFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => PLUGIN_EXTENSIONS.some((ext) => f.endsWith(ext)));
  } catch {
    return [];
  }
}

/** Plugin names a folder offers (file names without extension). */
function pluginNames(dir: string): string[] {
  return pluginFiles(dir).map((f) => f.slice(0, f.lastIndexOf(".")));
}

function defaultExport(spec: string, mod: Record<string, unknown>): unknown {
  if (mod.default === undefined) {
    throw new TypeError(
      `Cannot load plugin "${spec}": the module has no default export (a plugin or a factory)`,
    );
  }
  return mod.default;
}
