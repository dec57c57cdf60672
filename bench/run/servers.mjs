// The servers the bench can run, by name (sluice-bun, nchan, centrifugo-ws-1core, …), what a name
// means (parseServer), the Sluice vs Centrifugo pairings, and which scenarios each server takes part
// in when --servers does not name it.

export const ALL_SERVERS = [
  "sluice-bun",
  "sluice-deno",
  "nchan",
  "bare-bun",
  "bare-deno",
  "sink-bun",
  "sink-deno",
  // The bare loop plus the least authentication does: Sluice's HS256 check and a connect push; an API key
  "auth-bun",
  "auth-deno",
  // WebSocket subscribers (uni_websocket; nchan_subscriber websocket).
  "sluice-bun-ws",
  "sluice-deno-ws",
  // The SDK's protobuf protocol: bidirectional /connection/websocket, a connect command, pongs.
  "sluice-bun-wspb",
  "nchan-ws",
  // `--workers 2` on a Redis the bench starts (redis-server): 1 vs 2 workers on this box.
  "sluice-deno-w2",
  // Beside Centrifugo (PAIRINGS below), each pair run back to back. Transports: uni_sse (no suffix),
  // uni_websocket (-ws), the SDK's protobuf over bidirectional WebSocket (-wspb), bidirectional SSE (-sse).
  ...["", "-ws", "-wspb", "-sse"].flatMap((t) => [`sluice-bun${t}-1core`, `centrifugo${t}-1core`]),
  ...["", "-ws", "-wspb", "-sse"].flatMap((t) => [`sluice-bun${t}-w2`, `centrifugo${t}`]),
];
/**
 * Sluice vs Centrifugo, two pairings of [Sluice, Centrifugo] per transport. "core": one process each
 * on one core (`taskset -c 1`; Go with GOMAXPROCS=1), the load clients, publisher and wrk on the
 * other core. "box": the whole machine, Centrifugo's default (GOMAXPROCS = cores) against Sluice's
 * `--workers 2` (on the bench's Redis, whose CPU is counted as the server's).
 */
export const PAIRINGS = {
  core: ["", "-ws", "-wspb", "-sse"].map((t) => [`sluice-bun${t}-1core`, `centrifugo${t}-1core`]),
  box: ["", "-ws", "-wspb", "-sse"].map((t) => [`sluice-bun${t}-w2`, `centrifugo${t}`]),
};
/** The pinned pairing: server on this core, everything of the bench's own on the other. */
export const SERVER_CPU = "1", CLIENT_CPU = "0";
/**
 * What a server name means: kind (sluice, bare, sink, auth, nchan, centrifugo), runtime, and the
 * modifiers after them — transport (ws: uni_websocket, wspb: protobuf /connection/websocket, sse:
 * bidirectional SSE; none: uni_sse), w2 (2 workers), 1core (pinned).
 */
export function parseServer(name) {
  const parts = name.split("-");
  const kind = parts[0];
  const rt = kind === "nchan" ? "nginx" : kind === "centrifugo" ? "go" : parts[1];
  const mods = parts.slice(kind === "nchan" || kind === "centrifugo" ? 1 : 2);
  const transport = mods.find((m) => ["ws", "wspb", "sse"].includes(m)) ?? "uni_sse";
  return {
    kind,
    rt,
    transport,
    ws: transport === "ws" || transport === "wspb",
    protobuf: transport === "wspb",
    workers: mods.includes("w2") ? 2 : 1,
    pinned: mods.includes("1core"),
  };
}
/**
 * Which scenarios a server takes part in when it is not named in --servers. The Centrifugo
 * pairings' transport variants measure fan-out only (uni_sse covers the rest); bidirectional SSE
 * never goes further: its pongs go through /emulation, which the load client does not send, so
 * its servers ping rarely (SSE_PING_INTERVAL), and idle memory with rare pings would not compare.
 */
export function scenariosOf(name, named) {
  const s = parseServer(name);
  if (s.transport === "sse") return ["fanout"];
  if (named) return ALL_SCENARIOS;
  if (s.kind === "sink") return WRITE_SCENARIOS;
  if (s.kind === "auth") return AUTH_SCENARIOS;
  const paired = Object.values(PAIRINGS).flat(2).includes(name);
  if (paired && s.transport !== "uni_sse") return ["fanout"];
  return ALL_SCENARIOS;
}
/** The sink-* loops differ from bare-* only in how they write: measured where writes dominate. */
const WRITE_SCENARIOS = ["fanout", "many"];
/** The auth-* loops add only the token or API key check (and a connect push): connects and API publishes. */
const AUTH_SCENARIOS = ["connect", "storm", "publish"];
export const ALL_SCENARIOS = ["fanout", "idle", "connect", "storm", "many", "publish"];
