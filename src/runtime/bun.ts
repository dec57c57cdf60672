/// <reference types="bun-types" />
/**
 * @module
 * Bun implementation of the runtime contract (`Bun.serve`), typed with `bun-types` (the type
 * checker sees Bun's API; at run time `Bun` is only read when this module runs on Bun).
 */
import type {
  ConnInfo,
  Listener,
  ListenOptions,
  Runtime,
  ServerWebSocket,
  SignalName,
  WebSocketEvents,
  WebSocketUpgrade,
} from "./types.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "./types.ts";
import process from "node:process";
import os from "node:os";
import { exposeBunModule } from "./bun_specifier.ts";
// @ts-ignore: a Bun file import — the path of the file, embedded in the compiled binary too
import sdkBrowserBuildPath from "../../node_modules/centrifuge/dist/centrifuge.js" with { type: "file" };

const B = (globalThis as { Bun?: typeof Bun }).Bun!;

/** The parts of Bun's server a request needs. */
type BunServer = Pick<Bun.Server<SocketData>, "requestIP" | "timeout" | "upgrade">;

/** What a Bun WebSocket carries: the events of the Sluice connection behind it. */
interface SocketData {
  events: WebSocketEvents;
}

/**
 * Returned by the handler of an upgraded request: Bun has already answered it (101), and its
 * `fetch` must return nothing. Compared by identity.
 */
const UPGRADED = new Response(null, { status: 204 });

class BunWebSocket implements ServerWebSocket {
  constructor(private readonly ws: Bun.ServerWebSocket<SocketData>) {}
  sendText(text: string): void {
    this.ws.sendText(text);
  }
  sendTexts(texts: readonly string[]): void {
    this.ws.cork(() => {
      for (const t of texts) this.ws.sendText(t);
    });
  }
  sendBinary(bytes: Uint8Array): void {
    this.ws.sendBinary(bytes);
  }
  get bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
}

/** The WebSocket handlers of a Bun server: each socket's events come with its upgrade. */
function websocketHandlers(maxPayloadLength: number): Bun.WebSocketHandler<SocketData> {
  return {
    maxPayloadLength,
    // Bun pings; a peer that stops answering for this long is closed.
    idleTimeout: 120,
    sendPings: true,
    // Sluice bounds each connection's queue itself (client_queue_max_size → 3008).
    backpressureLimit: 64 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    perMessageDeflate: false,
    open(ws) {
      ws.data.events.open(new BunWebSocket(ws));
    },
    message(ws, message) {
      ws.data.events.message(typeof message === "string" ? message : new Uint8Array(message));
    },
    close(ws, code, reason) {
      ws.data.events.close(code, reason);
    },
  };
}

const ONCE = { once: true };

/**
 * A request's connection. A class, not an object literal with closures: it lives as long as the
 * connection (clients keep it for hooks), so its methods should not cost memory per connection.
 */
class BunConn implements ConnInfo {
  /** What `onClose` registered: called by `handleEvent`, this object being the abort listener. */
  private closeFn?: (this: unknown) => void;
  private closeSelf: unknown;

  constructor(
    private readonly req: Request,
    private readonly srv: BunServer,
    private readonly idleSeconds: number,
  ) {}

  get remoteAddr(): string | undefined {
    return this.srv.requestIP?.(this.req)?.address;
  }

  /**
   * The request's abort signal tells. This object is the listener (`handleEvent`), so a stream
   * keeps no closure for its whole life; a second registration, which Sluice never makes, gets
   * one.
   */
  onClose<T>(fn: (this: T) => void, self?: T): void {
    const signal = this.req.signal;
    if (signal.aborted) fn.call(self as T);
    else if (this.closeFn === undefined) {
      this.closeFn = fn as (this: unknown) => void;
      this.closeSelf = self;
      signal.addEventListener("abort", this, ONCE);
    } else signal.addEventListener("abort", () => fn.call(self as T), ONCE);
  }

  /** EventListener: the request's signal aborted. */
  handleEvent(): void {
    const fn = this.closeFn;
    const self = this.closeSelf;
    this.closeSelf = undefined;
    fn?.call(self);
  }

  /**
   * Bun closes connections idle for `idleTimeout` (10 s by default), and a stream that is only
   * pinged every 25 s looks idle; 0 disables the timeout for this request only.
   */
  holdOpen(): void {
    this.srv.timeout(this.req, 0);
  }

  /** Bun cuts a connection that makes no progress for its timeout: give the stream one again. */
  responseEnded(): void {
    this.srv.timeout(this.req, this.idleSeconds || BUN_MAX_IDLE_SECONDS);
  }

  /** As soon as Bun allows: one second without progress. */
  abort(): void {
    this.srv.timeout(this.req, 1);
  }

  upgradeWebSocket(req: Request, opts: WebSocketUpgrade): Response {
    // Without the header Bun answers with the client's first offered subprotocol, one Sluice may
    // not speak; an empty value makes Bun send none (the client then decides, as with Centrifugo).
    const headers = opts.protocol
      ? { "Sec-WebSocket-Protocol": opts.protocol }
      : req.headers.has("sec-websocket-protocol")
      ? NO_PROTOCOL
      : undefined;
    if (!this.srv.upgrade(req, { data: { events: opts.events }, headers })) {
      return new Response("Bad Request: not a WebSocket upgrade", { status: 400 });
    }
    return UPGRADED;
  }
}

const NO_PROTOCOL = Object.freeze({ "Sec-WebSocket-Protocol": "" });

/** Bun's largest idle timeout. */
const BUN_MAX_IDLE_SECONDS = 255;

export const bunRuntime: Runtime = {
  name: "bun",
  version: B?.version ?? "unknown",
  listen(opts: ListenOptions): Promise<Listener> {
    const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    // Whole seconds, at most 255 (Bun's limit); 0 disables. Streams opt out per request.
    const idleSeconds = idleMs > 0
      ? Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, Math.ceil(idleMs / 1000)))
      : 0;
    const server = B.serve({
      port: opts.port,
      hostname: opts.hostname,
      idleTimeout: idleSeconds,
      reusePort: opts.reusePort ?? false,
      ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
      async fetch(req: Request, srv: Bun.Server<SocketData>) {
        const res = await opts.handler(req, new BunConn(req, srv, idleSeconds));
        return res === UPGRADED ? undefined : res;
      },
      websocket: websocketHandlers(opts.maxWebSocketMessageBytes ?? 65536),
      error: () => new Response("internal server error", { status: 500 }),
    });
    return Promise.resolve({
      // Undefined only for unix sockets, which Sluice does not listen on.
      port: server.port ?? opts.port,
      hostname: server.hostname ?? opts.hostname,
      async close(force = false) {
        await server.stop(force);
      },
    });
  },
  exposeModule: exposeBunModule,
  sdkBrowserBuild: () => B.file(sdkBrowserBuildPath as unknown as string).text(),
  args: () => process.argv.slice(2),
  env: () => ({ ...process.env }) as Record<string, string>,
  readTextFile: (path) => B.file(path).text(),
  async writeTextFile(path, text, opts) {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, text, { flag: opts?.createNew ? "wx" : "w" });
  },
  exit: (code) => process.exit(code),
  onSignal(signal: SignalName, fn: () => void) {
    process.on(signal, fn);
    return () => process.off(signal, fn);
  },
  hostname: () => os.hostname(),
  cpuCount: () => os.availableParallelism?.() ?? os.cpus().length,
  spawnSelf(env) {
    // A compiled binary is its own program (argv[1] is its virtual entry); `bun x.ts` runs x.ts again.
    const compiled = B.main.startsWith("/$bunfs/") || B.main.startsWith("B:/~BUN/");
    const cmd = [process.execPath, ...(compiled ? [] : [B.main]), ...process.argv.slice(2)];
    const child = B.spawn(cmd, { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
    return {
      pid: child.pid,
      exited: child.exited.then((code) =>
        code ?? 128 + ((os.constants.signals as Record<string, number>)[String(child.signalCode)] ?? 0)
      ),
      kill: (signal) => child.kill(signal),
    };
  },
};
