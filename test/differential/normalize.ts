/**
 * @module
 * What is random by nature, replaced by stable placeholders so two servers' transcripts compare:
 * client ids, sessions and node ids (numbered by first appearance, so "the same client" stays
 * visible), epochs, timestamps, server versions, the per-run suffix of channel names. Nothing else
 * is touched: every other field is compared as sent.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Keys whose string values are identities to number (`<client:1>`, `<epoch:2>`). */
const NUMBERED_KEYS: Record<string, string> = {
  client: "client",
  session: "session",
  node: "node",
  epoch: "epoch",
  uid: "node",
};

/** Keys whose values are clocks or builds: kept only as "present". */
const ERASED_KEYS = new Set(["time", "version"]);

export class Normalizer {
  private seen = new Map<string, string>();
  private counters = new Map<string, number>();

  constructor(private readonly runId: string) {}

  private numbered(kind: string, value: string): string {
    if (value === "") return value;
    const key = `${kind}\u0000${value}`;
    let name = this.seen.get(key);
    if (!name) {
      const n = (this.counters.get(kind) ?? 0) + 1;
      this.counters.set(kind, n);
      name = `<${kind}:${n}>`;
      this.seen.set(key, name);
      // the same id met later without its key (in a reason text, a channel name) reads the same
      this.seen.set(`*\u0000${value}`, name);
    }
    return name;
  }

  string(s: string): string {
    let out = s.split(this.runId).join("<run>");
    out = out.replace(UUID, (id) => this.seen.get(`*\u0000${id}`) ?? this.numbered("uuid", id));
    return out;
  }

  value(v: unknown, key?: string): unknown {
    if (typeof v === "string") {
      if (key && NUMBERED_KEYS[key]) return this.numbered(NUMBERED_KEYS[key], v);
      if (key && ERASED_KEYS.has(key)) return "<" + key + ">";
      return this.string(v);
    }
    if (typeof v === "number" && key && ERASED_KEYS.has(key)) return "<" + key + ">";
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v && typeof v === "object") {
      // keys in sorted order: a Go map's order is random, and ids are numbered by first appearance
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        out[this.string(k)] = this.value((v as Record<string, unknown>)[k], k);
      }
      return out;
    }
    return v;
  }
}

const PLACEHOLDER = /^<(client|session|node|epoch|uuid):([^>]+)>$/;

/**
 * Numbers placeholders again by first appearance (keys sorted), after a documented difference
 * added or removed some: the names stay comparable between the two transcripts.
 */
export function renumber<T>(t: T): T {
  const names = new Map<string, string>();
  const counters = new Map<string, number>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      const m = PLACEHOLDER.exec(v);
      if (!m) return v;
      let name = names.get(v);
      if (!name) {
        const n = (counters.get(m[1]) ?? 0) + 1;
        counters.set(m[1], n);
        name = `<${m[1]}:${n}>`;
        names.set(v, name);
      }
      return name;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = walk((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return walk(t) as T;
}

/** A deep copy of `transcript` with what is random replaced. */
export function normalize(transcript: unknown, runId: string): unknown {
  return new Normalizer(runId).value(transcript);
}
