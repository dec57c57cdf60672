/**
 * @module
 * `createTestServer` — test a plugin without sockets. It runs a real Sluice node with your
 * plugins and hands you in-process clients speaking the real protocol:
 *
 * ```ts
 * const server = await createTestServer({ plugins: [myAuth], config: { allow_subscribe_for_client: true } });
 * const client = await server.connect({ headers: { cookie: "session=abc" } });
 * await client.subscribe("chat:1");
 * await client.publish("chat:1", { text: "hi" });
 * await server.close();
 * ```
 * A refused command rejects with a `ClientError` (its `code`); a refused connection rejects with
 * a `TestConnectError` carrying the error or disconnect code.
 */
import { loadConfig } from "./config/mod.ts";
import { createServer, type SluiceServer } from "./server.ts";
import { getRuntime } from "./runtime/serve.ts";
import { Client, type ClientTransport } from "./core/client.ts";
import { Shape } from "./core/codec.ts";
import { ClientError } from "./errors.ts";
import { createLogger, type Logger, type LogLevel } from "./log.ts";
import type { Plugin, PluginFactory } from "./plugin_api/types.ts";
import { validatePlugin } from "./plugin_api/define.ts";

const decoder = new TextDecoder();

export interface TestServerOptions {
  /** Plugin objects or factories (called with `{}`), or `[factory, options]` pairs. */
  plugins?: Array<Plugin | PluginFactory | [PluginFactory, Record<string, unknown>]>;
  /** Config as in a config file (durations as "5s"); HMAC secret "test-secret" unless set. */
  config?: Record<string, unknown>;
  /** Log level for the server's own logs (default "none"; "debug" shows what happens). */
  logLevel?: LogLevel;
  /**
   * The server's clock (ms since the epoch), `Date.now` by default. A clock the test moves makes
   * token, connection and subscription expiry happen when it says, without waiting: move it, then
   * `server.node.timers.runDue()`.
   */
  now?: () => number;
}

export class TestConnectError extends Error {
  override name = "TestConnectError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export interface TestConnectOptions {
  token?: string;
  data?: unknown;
  headers?: HeadersInit;
  name?: string;
  /** Server-side subscriptions to ask for (connect `subs`). */
  subs?: Record<string, unknown>;
  /** "bidirectional" (like the SDK, default) or "unidirectional" (like uni_http_stream). */
  kind?: "bidirectional" | "unidirectional";
}

export interface TestClient {
  readonly id: string;
  /** The connect result (bidirectional) or the connect push's body (unidirectional). */
  readonly connect: Record<string, unknown>;
  /** Every push received so far (bare push objects). */
  readonly pushes: Array<Record<string, unknown>>;
  /** The data of publications received on a channel, in order. */
  publications(channel: string): unknown[];
  /** Set once the server disconnected this client. */
  readonly disconnected?: { code: number; reason: string };
  subscribe(channel: string, opts?: Record<string, unknown>): Promise<Record<string, unknown>>;
  unsubscribe(channel: string): Promise<void>;
  publish(channel: string, data: unknown): Promise<void>;
  rpc(method: string, data?: unknown): Promise<unknown>;
  presence(channel: string): Promise<Record<string, unknown>>;
  history(channel: string, opts?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Sends a raw command (without id) and resolves with the reply's result. */
  command(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Waits until a push matching `pred` has arrived. */
  waitForPush(
    pred: (push: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  close(): void;
}

export interface TestServer {
  readonly server: SluiceServer;
  connect(opts?: TestConnectOptions): Promise<TestClient>;
  /** Server API call (trusted), e.g. `api("publish", {channel, data})`; resolves with `result`. */
  api(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Log lines written so far (JSON), to assert on what plugins logged. */
  readonly logs: string[];
  close(): Promise<void>;
}

export async function createTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const { config } = loadConfig({
    file: { token_hmac_secret_key: "test-secret", api_insecure: true, ...opts.config },
  });
  const logs: string[] = [];
  const logger: Logger = createLogger({
    level: opts.logLevel ?? "debug",
    format: "json",
    write: (line) => {
      logs.push(line);
      if (opts.logLevel && opts.logLevel !== "none") console.error(line);
    },
  });
  const plugins: Plugin[] = [];
  for (const p of opts.plugins ?? []) {
    if (Array.isArray(p)) plugins.push(await p[0](p[1], config));
    else plugins.push(typeof p === "function" ? await p({}, config) : p);
  }
  const server = createServer(config, {
    plugins: plugins.map((p) => validatePlugin(p, "createTestServer")),
    logger,
    now: opts.now,
    hmac: (await getRuntime()).hmac,
  });
  await server.start();
  await server.ready();
  let nextId = 1;

  return {
    server,
    logs,
    connect: (connectOpts = {}) => connectClient(server, connectOpts, () => nextId++),
    async api(method, params) {
      const res = await server.fetch(
        new Request(`http://test${config.api_handler_prefix}/${method}`, {
          method: "POST",
          body: JSON.stringify(params),
        }),
      );
      const body = await res.json() as Record<string, unknown>;
      if (body.error) {
        const e = body.error as { code: number; message: string };
        throw new ClientError(e.code, e.message);
      }
      return (body.result ?? body) as Record<string, unknown>;
    },
    close: () => server.close(),
  };
}

const PING = new TextEncoder().encode("{}\n");

/** An in-memory transport: frames are parsed as they are written. */
class MemoryTransport implements ClientTransport {
  readonly name: string;
  readonly emulation = false;
  readonly framing = "ndjson" as const;
  readonly shape: Shape;
  readonly text = false;
  readonly ping = PING;
  isClosed = false;
  constructor(
    readonly unidirectional: boolean,
    private readonly onMessage: (m: Record<string, unknown>) => void,
  ) {
    this.name = unidirectional ? "uni_http_stream" : "http_stream";
    this.shape = unidirectional ? Shape.UniNdjson : Shape.BidiNdjson;
  }
  write(bytes: Uint8Array): boolean { // bytes: not a text transport
    for (const line of decoder.decode(bytes).split("\n")) {
      if (line.trim() !== "") this.onMessage(JSON.parse(line));
    }
    return true;
  }
  close(): void {
    this.isClosed = true;
  }
  abort(): void {
    this.isClosed = true;
  }
}

async function connectClient(
  server: SluiceServer,
  opts: TestConnectOptions,
  nextId: () => number,
): Promise<TestClient> {
  const uni = opts.kind === "unidirectional";
  const pending = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  const pushes: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let disconnected: { code: number; reason: string } | undefined;
  let connectResolve!: (v: Record<string, unknown>) => void;
  let connectReject!: (e: Error) => void;
  const connected = new Promise<Record<string, unknown>>((res, rej) =>
    [connectResolve, connectReject] = [res, rej]
  );

  const onMessage = (m: Record<string, unknown>) => {
    const id = m.id as number | undefined;
    if (id && pending.has(id)) {
      const p = pending.get(id)!;
      pending.delete(id);
      if (m.error) {
        const e = m.error as { code: number; message: string; temporary?: boolean };
        p.reject(new ClientError(e.code, e.message, e.temporary));
      } else {
        const key = Object.keys(m).find((k) => k !== "id")!;
        p.resolve(m[key] as Record<string, unknown>);
      }
      return;
    }
    const push = (uni ? m : m.push) as Record<string, unknown> | undefined;
    if (!push) return; // a ping
    if (push.disconnect) {
      disconnected = push.disconnect as { code: number; reason: string };
      connectReject(new TestConnectError(disconnected.code, `disconnected: ${disconnected.reason}`));
      for (const p of pending.values()) {
        p.reject(new TestConnectError(disconnected.code, disconnected.reason));
      }
      pending.clear();
    }
    if (uni && push.connect) connectResolve(push.connect as Record<string, unknown>);
    pushes.push(push);
    for (const w of waiters.splice(0)) w();
  };

  const transport = new MemoryTransport(uni, onMessage);
  const client = new Client(server.node, transport, { headers: new Headers(opts.headers) });
  const request: Record<string, unknown> = { name: opts.name ?? "test" };
  if (opts.token !== undefined) request.token = opts.token;
  if (opts.data !== undefined) request.data = opts.data;
  if (opts.subs !== undefined) request.subs = opts.subs;
  if (uni) {
    void client.startUnidirectional(request);
  } else {
    const id = nextId();
    pending.set(id, {
      resolve: connectResolve,
      reject: (e) => connectReject(e instanceof ClientError ? new TestConnectError(e.code, e.message) : e),
    });
    client.receive(JSON.stringify({ id, connect: request }));
  }
  const connect = await connected;

  const command = (method: string, body: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (disconnected) return reject(new TestConnectError(disconnected.code, disconnected.reason));
      const id = nextId();
      pending.set(id, { resolve, reject });
      client.receive(JSON.stringify({ id, [method]: body }));
    });

  return {
    id: client.id,
    connect,
    pushes,
    get disconnected() {
      return disconnected;
    },
    publications: (channel) =>
      pushes.filter((p) => p.channel === channel && p.pub).map((p) => (p.pub as { data: unknown }).data),
    subscribe: (channel, o = {}) => command("subscribe", { channel, ...o }),
    unsubscribe: async (channel) => void await command("unsubscribe", { channel }),
    publish: async (channel, data) => void await command("publish", { channel, data }),
    rpc: async (method, data) => (await command("rpc", { method, data })).data,
    presence: async (channel) => (await command("presence", { channel })).presence as Record<string, unknown>,
    history: (channel, o = {}) => command("history", { channel, limit: -1, ...o }),
    command,
    async waitForPush(pred, ms = 2000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = pushes.find(pred);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching push within ${ms} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    close: () => client.transportGone(),
  };
}
