/**
 * @module
 * Scenarios register here: a name, the profile (server configuration) they need, the script, and —
 * only for a difference Sluice keeps on purpose — which documented difference they pin.
 */
import type { Session, Transcript } from "./session.ts";
import type { TransportName } from "./transports.ts";

export interface Scenario {
  name: string;
  /** Where it was registered (scenarios/<file>), for the listing. */
  file: string;
  profile: string;
  /** The id of a documented difference (differences.ts) this scenario pins. */
  differs?: string;
  /** Per-scenario normalisation, for results that are not protocol (an `info` answer). */
  normalize?: (t: Transcript) => Transcript;
  run: (s: Session) => Promise<void>;
}

export interface ScenarioOptions {
  profile?: string;
  differs?: string;
  normalize?: (t: Transcript) => Transcript;
}

export const scenarios: Scenario[] = [];
let currentFile = "";

export function setScenarioFile(file: string): void {
  currentFile = file;
}

export function scenario(name: string, run: (s: Session) => Promise<void>, opts: ScenarioOptions = {}): void {
  if (scenarios.some((s) => s.name === name)) throw new Error(`two scenarios named ${name}`);
  scenarios.push({ name, file: currentFile, profile: opts.profile ?? "main", run, ...opts });
}

/** One scenario per transport: `name [transport]`. */
export function perTransport(
  transports: TransportName[],
  name: string,
  run: (s: Session, t: TransportName) => Promise<void>,
  opts: ScenarioOptions | ((t: TransportName) => ScenarioOptions) = {},
): void {
  for (const t of transports) {
    scenario(`${name} [${t}]`, (s) => run(s, t), typeof opts === "function" ? opts(t) : opts);
  }
}
