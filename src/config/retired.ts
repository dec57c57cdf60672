/**
 * @module
 * Keys Sluice no longer needs. The value that is now the only behaviour is accepted with a warning
 * (the key can go); any other value stops startup saying why it went, rather than being ignored.
 */
import { ConfigError, type ConfigWarning } from "./errors.ts";

interface RetiredKey {
  /** The value that still works: what Sluice now always does. */
  kept: string;
  /** Why the key is no longer needed. */
  why: string;
  /** Why each former value was removed. */
  removed: Record<string, string>;
}

export const RETIRED_KEYS: Readonly<Record<string, RetiredKey>> = {
  deno_listener: {
    kept: "node_http",
    why: "node:http is Deno's only listener",
    removed: {
      sluice: "it could not serve WebSocket and relied on a Deno internal",
      deno_serve: "it had no idle timeout, and running out of file descriptors ended the process",
    },
  },
};

/**
 * A retired key as given (`label`: as the user wrote it): a warning, once per key however many
 * layers set it, when it has the kept value; otherwise a `ConfigError`.
 */
export function retire(key: string, label: string, value: unknown, warnings: ConfigWarning[]): void {
  const retired = RETIRED_KEYS[key];
  if (value === retired.kept) {
    if (!warnings.some((w) => w.key === key && w.kind === "advice")) {
      warnings.push({
        key,
        kind: "advice",
        message: `config key "${label}" is no longer needed (${retired.why}); remove it`,
      });
    }
    return;
  }
  const shown = JSON.stringify(value);
  const reason = typeof value === "string" && Object.hasOwn(retired.removed, value)
    ? `${shown} was removed: ${retired.removed[value]}`
    : `expected ${JSON.stringify(retired.kept)} or no key, got ${shown}`;
  throw new ConfigError(label, `Invalid config key "${label}": ${reason}; ${retired.why}`);
}
