/**
 * @module
 * A config that cannot be used: `ConfigError` names the key (as the user wrote it: a file key,
 * a v6 path, a `SLUICE_*` variable or a `--flag`), so callers and tests check the key, not text.
 */
export class ConfigError extends TypeError {
  override name = "ConfigError";
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

/** A config that loads but may not do what was meant; `unknown` ones fail `checkconfig`. */
export interface ConfigWarning {
  key: string;
  message: string;
  /** "unknown": a key Sluice does not know (a typo?); "advice": allowed, but risky. */
  kind?: "unknown" | "advice";
}
