/**
 * @module
 * Field-by-field comparison of two normalised transcripts: every path where they differ, with both
 * values, so a failure says exactly what one server sent and the other did not.
 */

export interface Difference {
  path: string;
  centrifugo: unknown;
  sluice: unknown;
}

const MISSING = "<missing>";

/** Seconds left until something expires: computed a moment apart on each server. */
const CLOCK_KEYS = /\.ttl$/;

export function differences(a: unknown, b: unknown, path = ""): Difference[] {
  if (Object.is(a, b)) return [];
  if (typeof a === "number" && typeof b === "number" && CLOCK_KEYS.test(path) && Math.abs(a - b) <= 2) {
    return [];
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: Difference[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      out.push(...differences(i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING, `${path}[${i}]`));
    }
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const out: Difference[] = [];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      out.push(...differences(k in a ? a[k] : MISSING, k in b ? b[k] : MISSING, path ? `${path}.${k}` : k));
    }
    return out;
  }
  return [{ path: path || "(root)", centrifugo: a, sluice: b }];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export function formatDifferences(diffs: Difference[], max = 12): string {
  const lines = diffs.slice(0, max).map((d) =>
    `    ${d.path}\n      centrifugo: ${short(d.centrifugo)}\n      sluice:     ${short(d.sluice)}`
  );
  if (diffs.length > max) lines.push(`    … and ${diffs.length - max} more`);
  return lines.join("\n");
}

function short(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
}

/** A deep copy (transcripts are plain JSON). */
export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}
