/**
 * @module
 * `definePlugin` and the load-time checks every plugin goes through (also plain objects and
 * factory results that never called `definePlugin`): a name, known hook names, functions where
 * functions belong. Failures throw a `TypeError` naming the plugin and what is wrong.
 */
import { HOOKS, type Plugin } from "./types.ts";
import { didYouMean } from "../did_you_mean.ts";

const OTHER_KEYS = new Set(["name", "dependencies", "setup", "provides", "version", "description"]);
const PROVIDES_SLOTS = new Set(["broker", "presence", "controller"]);

/** Declares a plugin; returns it unchanged after checking its shape. */
export function definePlugin<P extends Plugin>(plugin: P): P {
  return validatePlugin(plugin, "definePlugin");
}

/** Checks a plugin object; `where` names where it came from, for the error message. */
export function validatePlugin<P extends Plugin>(value: P, where: string): P {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot load plugin from ${where}: expected a plugin object, got ${describe(value)}`);
  }
  const p = value as unknown as Record<string, unknown>;
  if (typeof p.name !== "string" || !/^[A-Za-z0-9_.:@/-]{1,100}$/.test(p.name)) {
    throw new TypeError(
      `Cannot load plugin from ${where}: "name" must be a short string, got ${describe(p.name)}`,
    );
  }
  const label = `plugin "${p.name}"`;
  for (const [key, v] of Object.entries(p)) {
    if (Object.hasOwn(HOOKS, key)) {
      if (v !== undefined && typeof v !== "function") {
        throw new TypeError(`Cannot load ${label}: hook "${key}" must be a function`);
      }
      continue;
    }
    if (!OTHER_KEYS.has(key)) {
      throw new TypeError(
        `Cannot load ${label}: hook "${key}" is unknown${didYouMean(key, Object.keys(HOOKS))}`,
      );
    }
  }
  if (p.setup !== undefined && typeof p.setup !== "function") {
    throw new TypeError(`Cannot load ${label}: "setup" must be a function`);
  }
  if (
    p.dependencies !== undefined &&
    (!Array.isArray(p.dependencies) || !p.dependencies.every((d) => typeof d === "string"))
  ) {
    throw new TypeError(`Cannot load ${label}: "dependencies" must be an array of plugin names`);
  }
  if (p.provides !== undefined) {
    if (p.provides === null || typeof p.provides !== "object") {
      throw new TypeError(`Cannot load ${label}: "provides" must be an object`);
    }
    for (const [slot, impl] of Object.entries(p.provides)) {
      if (!PROVIDES_SLOTS.has(slot)) {
        throw new TypeError(
          `Cannot load ${label}: provides.${slot} is not a slot (broker, presence, controller)`,
        );
      }
      if (impl === null || typeof impl !== "object") {
        throw new TypeError(`Cannot load ${label}: provides.${slot} must be an object`);
      }
    }
  }
  return value;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? JSON.stringify(v) : typeof v;
}
