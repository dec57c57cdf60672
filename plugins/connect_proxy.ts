/**
 * @module
 * `connect_proxy` — Centrifugo's HTTP proxy protocol, so an existing Centrifugo backend works
 * unchanged. Each hook becomes a JSON `POST` (`Content-Type: application/json`) to the
 * backend, whose answer is one of `{"result": {...}}`, `{"error": {code, message, temporary}}` or
 * `{"disconnect": {code, reason}}`:
 *
 * | hook | endpoint | called |
 * |---|---|---|
 * | `onConnecting` | connect | the client sent no token (a token goes to JWT verification) |
 * | `onRefresh` | refresh | a connection with `expire_at` expires (server-side refresh) |
 * | `onSubscribe` | subscribe | namespaces with `proxy_subscribe` |
 * | `onPublish` | publish | namespaces with `proxy_publish` |
 * | `onRpc` | rpc | every client RPC |
 * | `onSubRefresh` | sub_refresh | expiring subscriptions in namespaces with `proxy_sub_refresh` |
 *
 * Enabled automatically when any Centrifugo `proxy_*_endpoint` key is set; configured from those
 * keys, each overridable by a plugin option (`"plugins": {"connect_proxy": {...}}`):
 *
 * | option | config key | meaning |
 * |---|---|---|
 * | `connect_endpoint` (alias `endpoint`) | `proxy_connect_endpoint` | http(s) URL; `""` turns the proxy off |
 * | `refresh_endpoint` | `proxy_refresh_endpoint` | 〃 |
 * | `subscribe_endpoint` | `proxy_subscribe_endpoint` | 〃 |
 * | `publish_endpoint` | `proxy_publish_endpoint` | 〃 |
 * | `rpc_endpoint` | `proxy_rpc_endpoint` | 〃 |
 * | `sub_refresh_endpoint` | `proxy_sub_refresh_endpoint` | 〃 |
 * | `timeout` | — | one timeout for every proxy ("1s", "250ms", or seconds as a number) |
 * | `connect_timeout`, `refresh_timeout`, … | `proxy_connect_timeout`, … | per proxy (default 1s; 0 = none) |
 * | `http_headers` | `proxy_http_headers` | names of the client's HTTP request headers to forward (case-insensitive) |
 * | `emulated_headers` | `proxy_emulated_headers` | names of the SDK's emulated `headers` (sent in connect) to forward |
 * | `static_http_headers` | `proxy_static_http_headers` | headers added to every request |
 * | `include_connection_meta` | `proxy_include_connection_meta` | adds the connection's `meta` (not to connect) |
 * | `connect_http_headers`, `rpc_include_connection_meta`, … | `proxy_connect_http_headers`, … | the four above for one proxy (Centrifugo v6's sections), over the shared one |
 *
 * Header priority (lowest first): static headers, then emulated headers listed in
 * `emulated_headers` (kept for the connection's later proxy calls, as Centrifugo does), then
 * request headers listed in `http_headers`; `Content-Type` is always `application/json`. As in
 * Centrifugo ≥ 6.9, `http_headers` never takes an emulated header: its value is the client's own.
 *
 * Answers are read as Centrifugo reads them. `error` reaches the client as it is (any code,
 * message, temporary); `disconnect` closes the connection (any code). An answer with none
 * of the three (or `null`) is Centrifugo's "no result": connect → no credentials (anonymous where
 * allowed, else 3501), subscribe → allowed, publish → published as sent, rpc → no data,
 * refresh and sub_refresh → expired. Refresh and sub_refresh answers carrying `error` or
 * `disconnect` end the connection (3005) or the subscription, a refresh result without a new
 * `expire_at` ends the connection too, and their failures are retried by the server rather than
 * reported to the client. `null` fields count as absent, and `b64info`/`b64data` (when not
 * empty) win over `info`/`data` and must decode to JSON.
 *
 * Failures: a transport error, a timeout, a status other than 200, a body that is not JSON, or a
 * field of the wrong type (an error code that is not a non-negative 32-bit integer, say) throws a
 * plain `Error`: the hook runner logs it (naming plugin and hook) and the client gets 100
 * (internal, temporary) — a unidirectional client gets disconnect 3004.
 */
import {
  type ClientContext,
  ClientError,
  type Config,
  type ConnectingResult,
  connectProxyOptions,
  definePlugin,
  Disconnect,
  ErrorCode,
  type Logger,
  parseDuration,
  parseOverride,
  type Plugin,
  type PluginContext,
  type PublishResult,
  type RefreshResult,
  type RpcResult,
  type SubRefreshResult,
  type SubscribeOptionsResult,
  type SubscribeOverride,
  type SubscribeResult,
} from "sluice";

const KINDS = ["connect", "refresh", "subscribe", "publish", "rpc", "sub_refresh"] as const;
type Kind = typeof KINDS[number];

/** Settings given for every proxy and, as `<kind>_<name>`, for one (Centrifugo v6 has them per proxy). */
const SHARED_KEYS = ["http_headers", "emulated_headers", "static_http_headers", "include_connection_meta"];

const OPTION_KEYS = new Set<string>([
  "endpoint",
  "timeout",
  ...SHARED_KEYS,
  ...KINDS.flatMap((k) => [`${k}_endpoint`, `${k}_timeout`, ...SHARED_KEYS.map((name) => `${k}_${name}`)]),
]);

/** Request headers never forwarded: they describe the hop, not the client. */
const HOP_HEADERS = new Set([
  "connection",
  "content-length",
  "content-type",
  "expect",
  "host",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** One proxy's settings. */
interface ProxySettings {
  endpoint: string;
  /** The endpoint without credentials, for error messages. */
  label: string;
  /** Milliseconds; 0 = no per-proxy timeout (the hook timeout still applies). */
  timeoutMs: number;
  /** Lower-cased allow-list of the client's HTTP request headers. */
  httpHeaders: Set<string>;
  /** Lower-cased allow-list of the headers the SDK sends inside its connect command. */
  emulatedHeaders: Set<string>;
  staticHeaders: Record<string, string>;
  includeMeta: boolean;
}

type Settings = Record<Kind, ProxySettings>;

/** What came back: at most one of these is set (none: Centrifugo's "no result"). */
interface Envelope {
  result?: Record<string, unknown>;
  error?: ClientError;
  disconnect?: Disconnect;
}

/** Checks the options' types up front, so a typo fails boot with its name. */
function checkOptions(options: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(options)) {
    const where = `plugins.connect_proxy.${key}`;
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(`unknown option "${key}" (known: ${[...OPTION_KEYS].join(", ")})`);
    }
    if (key === "endpoint" || key.endsWith("_endpoint")) {
      if (typeof value !== "string" || (value !== "" && !/^https?:\/\//.test(value))) {
        throw new TypeError(`option "${key}" must be an http(s) URL or "", got ${JSON.stringify(value)}`);
      }
    } else if (key === "timeout" || key.endsWith("_timeout")) {
      parseDuration(where, value);
    } else if (key.endsWith("static_http_headers")) {
      if (
        value === null || typeof value !== "object" || Array.isArray(value) ||
        !Object.values(value).every((v) => typeof v === "string")
      ) {
        throw new TypeError(`option "${key}" must be an object of strings`);
      }
    } else if (key.endsWith("http_headers") || key.endsWith("emulated_headers")) {
      if (!Array.isArray(value) || !value.every((h) => typeof h === "string")) {
        throw new TypeError(`option "${key}" must be an array of header names`);
      }
    } else if (key.endsWith("include_connection_meta") && typeof value !== "boolean") {
      throw new TypeError(`option "${key}" must be a boolean`);
    }
  }
}

/** Centrifugo's default proxy timeout. */
const DEFAULT_TIMEOUT_MS = 1_000;
/** What a failed refresh or sub_refresh call gives the connection (subscription), in seconds: Centrifugo's minute. */
const ONE_MORE_MINUTE = 60;

const headerSet = (names: string[]) =>
  new Set(names.map((h) => h.toLowerCase()).filter((h) => !HOP_HEADERS.has(h)));

/**
 * The options (already checked). Centrifugo's `proxy_*` keys arrive here as options too: the
 * config maps them (config/compat.ts), under the options a config lists for the plugin. A
 * `<kind>_<name>` option wins over `<name>` for that proxy.
 */
function resolveSettings(options: Readonly<Record<string, unknown>>): Settings {
  const settings = {} as Settings;
  for (const kind of KINDS) {
    const option = (name: string) => options[`${kind}_${name}`] ?? options[name];
    const given = options[`${kind}_endpoint`] ?? (kind === "connect" ? options.endpoint : undefined);
    const endpoint = typeof given === "string" ? given : "";
    const timeout = option("timeout");
    settings[kind] = {
      endpoint,
      label: withoutCredentials(endpoint),
      timeoutMs: timeout !== undefined
        ? parseDuration(`plugins.connect_proxy.${kind}_timeout`, timeout)
        : DEFAULT_TIMEOUT_MS,
      httpHeaders: headerSet((option("http_headers") ?? []) as string[]),
      emulatedHeaders: headerSet((option("emulated_headers") ?? []) as string[]),
      staticHeaders: { ...(option("static_http_headers") ?? {}) as Record<string, string> },
      // As in Centrifugo, the connect proxy is where meta comes from, not where it goes.
      includeMeta: kind !== "connect" && (option("include_connection_meta") ?? false) as boolean,
    };
  }
  return settings;
}

function withoutCredentials(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return endpoint;
  }
}

/** An error's message with the endpoint (which may carry credentials) replaced by its label. */
function hide(endpoint: string, label: string, err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  return endpoint === label ? message : message.split(endpoint).join(label);
}

// ------------------------------------------------------------------ answers from the backend

/** A backend answer that breaks the protocol: the hook runner turns it into 100 and logs it. */
function fault(kind: Kind, problem: string): Error {
  return new Error(`${kind} proxy: ${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Go's uint32, which Centrifugo decodes codes into: a larger or negative one fails to decode. */
const MAX_CODE = 0xffff_ffff;

function parseEnvelope(kind: Kind, text: string): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw fault(kind, `response is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  // `null` decodes to an empty answer in Centrifugo (Go leaves the struct as it was).
  if (body === null) return {};
  if (!isObject(body)) throw fault(kind, "response is not a JSON object");
  // Centrifugo looks at disconnect, then error, then result.
  if (body.disconnect !== undefined && body.disconnect !== null) {
    const d = body.disconnect;
    if (!isObject(d)) throw fault(kind, "disconnect must be an object {code, reason}");
    // Any code, as Centrifugo passes it (one no close frame can carry ends a WebSocket without one).
    if (!Number.isInteger(d.code) || (d.code as number) < 0 || (d.code as number) > MAX_CODE) {
      throw fault(kind, `disconnect.code must be a non-negative integer, got ${JSON.stringify(d.code)}`);
    }
    if (d.reason !== undefined && d.reason !== null && typeof d.reason !== "string") {
      throw fault(kind, "disconnect.reason must be a string");
    }
    return { disconnect: new Disconnect(d.code as number, (d.reason as string | undefined) ?? "") };
  }
  if (body.error !== undefined && body.error !== null) {
    const e = body.error;
    if (!isObject(e)) throw fault(kind, "error must be an object {code, message, temporary}");
    // Any code reaches the client as it is, as Centrifugo passes it (an application's own codes
    // are often 4xxx); only a code that is not a code at all is the backend's fault.
    if (!Number.isInteger(e.code) || (e.code as number) < 0 || (e.code as number) > MAX_CODE) {
      throw fault(kind, `error.code must be a non-negative integer, got ${JSON.stringify(e.code)}`);
    }
    if (e.message !== undefined && e.message !== null && typeof e.message !== "string") {
      throw fault(kind, "error.message must be a string");
    }
    if (e.temporary !== undefined && e.temporary !== null && typeof e.temporary !== "boolean") {
      throw fault(kind, "error.temporary must be a boolean");
    }
    const message = typeof e.message === "string" ? e.message : "";
    return { error: new ClientError(e.code as number, message, e.temporary === true) };
  }
  if (body.result !== undefined && body.result !== null) {
    if (!isObject(body.result)) throw fault(kind, "result must be an object");
    return { result: body.result };
  }
  // None of the three: what that means depends on the proxy (see each hook), as in Centrifugo.
  return {};
}

/** A string field: absent, null or a string; `""` counts as absent. */
function stringField(kind: Kind, r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw fault(kind, `${key} must be a string, got ${JSON.stringify(v)}`);
  return v === "" ? undefined : v;
}

/** Unix seconds; 0 or absent = none. */
function expireAtField(kind: Kind, r: Record<string, unknown>, key = "expire_at"): number | undefined {
  const v = r[key];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw fault(kind, `${key} must be Unix seconds, got ${JSON.stringify(v)}`);
  }
  return v;
}

function boolField(kind: Kind, r: Record<string, unknown>, key: string): boolean {
  const v = r[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw fault(kind, `${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** `<name>` (raw JSON) or `b64<name>` (base64 of JSON text; wins when not empty). */
function jsonField(kind: Kind, r: Record<string, unknown>, name: string, what = name): unknown {
  const b64 = stringField(kind, r, `b64${name}`);
  if (b64 !== undefined) {
    let text: string;
    try {
      const bin = atob(b64);
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw fault(kind, `b64${what} is not valid base64 of UTF-8 text`);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw fault(kind, `b64${what} does not decode to JSON (Sluice speaks the JSON protocol)`);
    }
  }
  const v = r[name];
  return v === null ? undefined : v;
}

/** Centrifugo's override: `{presence: {value: true}, ...}` (a bare boolean is accepted too). */
function overrideField(kind: Kind, r: Record<string, unknown>, what: string): SubscribeOverride | undefined {
  try {
    const parsed = parseOverride(r.override, what, { unknown: "ignore", lenient: true });
    return parsed && Object.keys(parsed).length > 0 ? parsed : undefined;
  } catch (e) {
    throw fault(kind, (e as Error).message);
  }
}

function connectResult(r: Record<string, unknown>): ConnectingResult {
  const kind = "connect";
  const user = r.user === undefined || r.user === null ? "" : r.user;
  if (typeof user !== "string") throw fault(kind, `user must be a string, got ${JSON.stringify(user)}`);
  const out: ConnectingResult = { user };
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const data = jsonField(kind, r, "data");
  if (data !== undefined) out.data = data;
  const meta = r.meta === null ? undefined : r.meta;
  if (meta !== undefined) out.meta = meta;
  if (r.channels !== undefined && r.channels !== null) {
    if (!Array.isArray(r.channels) || !r.channels.every((c) => typeof c === "string")) {
      throw fault(kind, "channels must be an array of strings");
    }
    if (r.channels.length > 0) out.channels = [...r.channels];
  }
  if (r.subs !== undefined && r.subs !== null) {
    if (!isObject(r.subs)) throw fault(kind, "subs must be an object {channel: options}");
    const subs: Record<string, SubscribeOptionsResult> = {};
    for (const [channel, o] of Object.entries(r.subs)) {
      const what = `subs[${JSON.stringify(channel)}]`;
      if (o === null || o === undefined) {
        subs[channel] = {};
        continue;
      }
      if (!isObject(o)) throw fault(kind, `${what} must be an object`);
      const opts: SubscribeOptionsResult = {};
      const chInfo = jsonField(kind, o, "info", `${what}.info`);
      if (chInfo !== undefined) opts.info = chInfo;
      const chData = jsonField(kind, o, "data", `${what}.data`);
      if (chData !== undefined) opts.data = chData;
      const override = overrideField(kind, o, `${what}.override`);
      if (override) opts.override = override;
      subs[channel] = opts;
    }
    if (Object.keys(subs).length > 0) out.subs = subs;
  }
  return out;
}

function refreshResult(r: Record<string, unknown>): RefreshResult {
  const kind = "refresh";
  if (boolField(kind, r, "expired")) return { expired: true };
  const out: RefreshResult = {};
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const meta = r.meta === null ? undefined : r.meta;
  if (meta !== undefined) out.meta = meta;
  return out;
}

function subscribeResult(r: Record<string, unknown>): SubscribeResult {
  const kind = "subscribe";
  const out: SubscribeResult = {};
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  const data = jsonField(kind, r, "data");
  if (data !== undefined) out.data = data;
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const override = overrideField(kind, r, "override");
  if (override) out.override = override;
  return out;
}

function publishResult(r: Record<string, unknown>): PublishResult {
  const kind = "publish";
  const out: PublishResult = {};
  // Centrifugo: `data` when present, else `b64data`.
  if (r.data !== undefined && r.data !== null) out.data = r.data;
  else {
    const data = jsonField(kind, r, "data");
    if (data !== undefined) out.data = data;
  }
  if (boolField(kind, r, "skip_history")) out.skipHistory = true;
  if (r.tags !== undefined && r.tags !== null) {
    if (!isObject(r.tags) || !Object.values(r.tags).every((v) => typeof v === "string")) {
      throw fault(kind, "tags must be an object of strings");
    }
    if (Object.keys(r.tags).length > 0) out.tags = { ...r.tags } as Record<string, string>;
  }
  return out;
}

function rpcResult(r: Record<string, unknown>): RpcResult {
  const data = jsonField("rpc", r, "data");
  return data === undefined ? {} : { data };
}

function subRefreshResult(r: Record<string, unknown>): SubRefreshResult {
  const kind = "sub_refresh";
  if (boolField(kind, r, "expired")) return { expired: true };
  const out: SubRefreshResult = {};
  const expireAt = expireAtField(kind, r);
  if (expireAt !== undefined) out.expireAt = expireAt;
  const info = jsonField(kind, r, "info");
  if (info !== undefined) out.info = info;
  return out;
}

// ------------------------------------------------------------------ the plugin

/** How often at most the hint about emulated headers left out is logged. */
const HINT_INTERVAL_MS = 60_000;

/**
 * The plugin factory: options, under which Centrifugo's `proxy_*` keys of `config` (when given)
 * are mapped by `connectProxyOptions`. Only the hooks of configured proxies are present (a namespace with
 * `proxy_subscribe` but no subscribe proxy then answers 108); server-side refresh is chosen in
 * `setup`, only for the refresh proxies that are configured.
 */
export default function connectProxy(
  given: Record<string, unknown> = {},
  config?: Readonly<Config>,
): Plugin {
  checkOptions(given);
  // Centrifugo's proxy_* keys under the given options; the loader has done this already (it is
  // idempotent), a programmatic `createServer(config, {plugins: [connectProxy()]})` has not.
  const options = config ? connectProxyOptions(config, given) : given;
  const settings = resolveSettings(options);
  let log: Logger | undefined;
  let lastHint = -Infinity;

  /**
   * Static headers, then allow-listed emulated headers, then allow-listed request headers (the
   * later win). As in Centrifugo ≥ 6.9, emulated headers come only from `emulated_headers`: their
   * values are the client's own, so `http_headers` (headers a reverse proxy may vouch for) never
   * takes them.
   */
  const headersFor = (
    kind: Kind,
    request: Headers,
    emulated: Readonly<Record<string, string>>,
  ): Headers => {
    const s = settings[kind];
    const out = new Headers();
    const set = (name: string, value: string) => {
      try {
        out.set(name, value);
      } catch {
        // An invalid header name or value (from a client) is dropped, not fatal.
      }
    };
    for (const [name, value] of Object.entries(s.staticHeaders)) set(name, value);
    const dropped: string[] = [];
    for (const [name, value] of Object.entries(emulated)) {
      const lower = name.toLowerCase();
      if (s.emulatedHeaders.has(lower)) set(name, value);
      else if (s.httpHeaders.has(lower)) dropped.push(lower);
    }
    for (const name of s.httpHeaders) {
      const value = request.get(name);
      if (value !== null) set(name, value);
    }
    out.set("Content-Type", "application/json");
    if (dropped.length > 0 && performance.now() - lastHint >= HINT_INTERVAL_MS) {
      lastHint = performance.now();
      log?.info("emulated headers listed in http_headers but not in emulated_headers are not forwarded", {
        proxy: kind,
        headers: dropped,
      });
    }
    return out;
  };

  /** POSTs `body` to the `kind` endpoint and parses the envelope; every failure is a plain Error. */
  const call = async (
    kind: Kind,
    body: Record<string, unknown>,
    headers: Headers,
    hookSignal: AbortSignal,
  ): Promise<Envelope> => {
    const { endpoint, label, timeoutMs } = settings[kind];
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        timedOut = true;
        controller.abort(new Error("timeout"));
      }, timeoutMs)
      : undefined;
    const onAbort = () => controller.abort(hookSignal.reason);
    if (hookSignal.aborted) onAbort();
    else hookSignal.addEventListener("abort", onAbort, { once: true });
    try {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (err) {
        throw timedOut
          ? fault(kind, `no answer from ${label} within ${timeoutMs} ms`)
          : fault(kind, `request to ${label} failed: ${hide(endpoint, label, err)}`);
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw fault(kind, `${label} answered HTTP ${res.status}`);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw timedOut
          ? fault(kind, `no complete answer from ${label} within ${timeoutMs} ms`)
          : fault(kind, `reading the answer from ${label} failed: ${hide(endpoint, label, err)}`);
      }
      return parseEnvelope(kind, text);
    } finally {
      clearTimeout(timer);
      hookSignal.removeEventListener("abort", onAbort);
    }
  };

  /**
   * A proxy request on behalf of a connected client: its identity, the event's fields, meta and
   * headers. Empty strings are left out as Go's `omitempty` does, except `user`, which Centrifugo
   * always sends ("" for an anonymous client).
   */
  const callForClient = (
    kind: Kind,
    event: { client: ClientContext; signal: AbortSignal },
    fields: Record<string, unknown>,
  ): Promise<Envelope> => {
    const { client } = event;
    const body: Record<string, unknown> = {
      client: client.id,
      transport: client.transport,
      protocol: client.protocol,
      encoding: "json",
      user: client.user,
    };
    Object.assign(body, fields);
    if (settings[kind].includeMeta && client.meta !== undefined) body.meta = client.meta;
    return call(kind, body, headersFor(kind, client.headers, client.emulatedHeaders), event.signal);
  };

  /** Error and disconnect answers, honoured for connect, subscribe, publish and rpc. */
  const resultOrThrow = (envelope: Envelope): Record<string, unknown> | undefined => {
    if (envelope.disconnect) throw envelope.disconnect;
    if (envelope.error) throw envelope.error;
    return envelope.result;
  };

  const plugin: Plugin = {
    name: "connect_proxy",

    setup(ctx: PluginContext) {
      log = ctx.logger;
      const enabled = KINDS.filter((k) => settings[k].endpoint !== "");
      // As in Centrifugo: with a refresh proxy the server refreshes, and the SDK is not asked.
      if (settings.refresh.endpoint !== "") ctx.refreshOnServer("connections");
      if (settings.sub_refresh.endpoint !== "") ctx.refreshOnServer("subscriptions");
      log.debug("connect proxy ready", {
        proxies: enabled.map((k) => `${k}=${settings[k].label}`),
      });
    },

    async onConnecting(event) {
      if (settings.connect.endpoint === "" || event.token !== undefined) return undefined;
      const body: Record<string, unknown> = {
        client: event.client.id,
        transport: event.client.transport,
        protocol: event.protocol,
        encoding: "json",
      };
      if (event.name) body.name = event.name;
      if (event.version) body.version = event.version;
      if (event.data !== undefined) body.data = event.data;
      if (event.channels.length > 0) body.channels = event.channels;
      const envelope = await call(
        "connect",
        body,
        headersFor("connect", event.client.headers, event.emulatedHeaders),
        event.signal,
      );
      const result = resultOrThrow(envelope);
      // No result: no credentials, as in Centrifugo — the connection goes on as one without a
      // token (anonymous where allowed, else disconnect 3501, which the SDK does not retry).
      return result ? connectResult(result) : undefined;
    },

    async onRefresh(event) {
      if (settings.refresh.endpoint === "") return undefined;
      const { client } = event;
      let envelope;
      try {
        envelope = await callForClient("refresh", event, {});
      } catch (err) {
        // As Centrifugo: a backend that fails gives the connection one more minute, then is asked again.
        if (event.signal.aborted) throw err;
        log?.warn("refresh proxy failed; the connection lives one more minute", { client: client.id, err });
        return { expireAt: Math.floor(Date.now() / 1000) + ONE_MORE_MINUTE };
      }
      if (!envelope.result) {
        // Centrifugo: no result (an error, a disconnect, or nothing) means the connection expired.
        log?.info("refresh proxy answered without a result; the connection expires", {
          client: client.id,
          code: (envelope.error ?? envelope.disconnect)?.code,
        });
        return { expired: true };
      }
      const result = refreshResult(envelope.result);
      if (!result.expired && result.expireAt === undefined) {
        // Centrifugo extends a connection only to a new expire_at; without one it expires.
        log?.info("refresh proxy result has no expire_at; the connection expires", { client: client.id });
        return { expired: true };
      }
      return result;
    },

    async onSubscribe(event) {
      if (!event.options.proxy_subscribe) return undefined;
      if (settings.subscribe.endpoint === "") throw new ClientError(ErrorCode.NotAvailable);
      const fields: Record<string, unknown> = { channel: event.channel };
      if (event.data !== undefined) fields.data = event.data;
      const answer = resultOrThrow(await callForClient("subscribe", event, fields));
      // No result: allowed with the namespace's options, as in Centrifugo.
      const result = answer ? subscribeResult(answer) : {};
      // As in Centrifugo, the sub_refresh proxy refreshes only its namespaces' subscriptions;
      // elsewhere an expiring one is the SDK's to refresh, with a subscription token.
      if (result.expireAt !== undefined && !event.options.proxy_sub_refresh) result.clientRefresh = true;
      return result;
    },

    async onPublish(event) {
      if (!event.options.proxy_publish) return undefined;
      if (settings.publish.endpoint === "") throw new ClientError(ErrorCode.NotAvailable);
      const fields = { channel: event.channel, data: event.data };
      const result = resultOrThrow(await callForClient("publish", event, fields));
      // No result: published as sent, as in Centrifugo.
      return result ? publishResult(result) : {};
    },

    async onRpc(event) {
      if (settings.rpc.endpoint === "") return undefined;
      const fields: Record<string, unknown> = {};
      if (event.method) fields.method = event.method;
      if (event.data !== undefined) fields.data = event.data;
      const result = resultOrThrow(await callForClient("rpc", event, fields));
      return result ? rpcResult(result) : {};
    },

    async onSubRefresh(event) {
      if (settings.sub_refresh.endpoint === "") return undefined;
      if (!event.options.proxy_sub_refresh) return undefined;
      let envelope;
      try {
        envelope = await callForClient("sub_refresh", event, { channel: event.channel });
      } catch (err) {
        if (event.signal.aborted) throw err;
        log?.warn("sub refresh proxy failed; the subscription lives one more minute", {
          client: event.client.id,
          channel: event.channel,
          err,
        });
        return { expireAt: Math.floor(Date.now() / 1000) + ONE_MORE_MINUTE };
      }
      if (!envelope.result) {
        log?.info("sub refresh proxy answered without a result; the subscription expires", {
          client: event.client.id,
          channel: event.channel,
          code: (envelope.error ?? envelope.disconnect)?.code,
        });
        return { expired: true };
      }
      return subRefreshResult(envelope.result);
    },
  };

  // Only the hooks of configured proxies: namespaces that need a missing one answer 108.
  if (settings.subscribe.endpoint === "") delete plugin.onSubscribe;
  if (settings.publish.endpoint === "") delete plugin.onPublish;
  if (settings.rpc.endpoint === "") delete plugin.onRpc;
  return definePlugin(plugin);
}
