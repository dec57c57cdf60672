// Markdown tables and the number formats of the report.

export function table(title, head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "—" : String(c))));
  const w = head.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const line = (r) =>
    "| " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ") + " |";
  const sep = "| " + w.map((x, i) => (i === 0 ? "-".repeat(x) : "-".repeat(x - 1) + ":")).join(" | ") + " |";
  return [`### ${title}`, "", line(cells[0]), sep, ...cells.slice(1).map(line), ""].join("\n");
}
export const k = (
  v,
) => (v === null || v === undefined
  ? null
  : v >= 1e6
  ? `${(v / 1e6).toFixed(2)}M`
  : v >= 1e4
  ? `${(v / 1e3).toFixed(1)}k`
  : String(Math.round(v)));
export const mb = (kb) => (kb ? (kb / 1024).toFixed(1) : null);
export const pct = (r) => (r === null || r === undefined ? null : `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`);
/** A latency percentile, or "lost" when it falls among the messages that never arrived. */
export const lq = (v, r) => (v === null || v === undefined ? (r.ratio < 1 ? "lost" : null) : ms(v));
export const ms = (v) => (v === null || v === undefined ? null : v < 10 ? v.toFixed(2) : v.toFixed(1));
