/**
 * @module
 * The runtime-neutral contract that the adapters implement (`deno/runtime.ts`, `bun/runtime.ts`;
 * Deno's listener in `node_http/`). Everything outside `src/runtime/` talks to the
 * platform only through these types and `serve.ts`.
 */

/** What a handler learns about the connection beyond the Request itself. */
export interface ConnInfo {
  /** Remote IP address when the runtime knows it. */
  readonly remoteAddr?: string;
  /**
   * Calls `fn` once (with `self` as its `this`) when the response has ended or the client went
   * away. Registered only by streams (most requests never pay for it), once per connection:
   * `onClose(this.method, this)` keeps no closure for the connection's life.
   */
  onClose<T>(fn: (this: T) => void, self?: T): void;
  /** Exempts this request from the runtime's idle timeout: streams are quiet between pings. */
  holdOpen(): void;
  /**
   * The response has ended on the server's side. A client that does not read leaves its bytes
   * stuck in the runtime and the connection open for good: if the response has not drained
   * within the idle timeout, the connection is cut.
   */
  responseEnded(): void;
  /** Cuts the connection now (a slow consumer): nothing more will be written to it. */
  abort(): void;
  /**
   * Upgrades this request to a WebSocket; return the Response as it is. Undefined when the
   * runtime (or a test's detached connection) cannot upgrade.
   */
  upgradeWebSocket?(req: Request, opts: WebSocketUpgrade): Response;
  /**
   * The Response for a streamed body the runtime writes to the socket itself (node_http): it calls
   * `source.start` once it writes the head, then `pull` whenever it can take bytes, with
   * backpressure, and `cancel` when the client goes away — a Web `ReadableStream` without the
   * stream. Undefined where the runtime takes only Web bodies: `new ReadableStream(source)`.
   */
  streamResponse?(source: ByteSource, init: ResponseInit): Response;
}

/** A byte stream's underlying source, as a `ReadableStream` would drive it (the outbox's StreamWriter is one). */
export interface ByteSource {
  start(controller: ByteSourceController): void;
  pull(): void;
  cancel(): void;
}

/** What a `ByteSource` uses of `ReadableStreamDefaultController`. */
export interface ByteSourceController {
  enqueue(chunk: Uint8Array): void;
  close(): void;
  error(reason?: unknown): void;
}

/** A WebSocket as Sluice drives it; the runtime's own object stays in the adapter. */
export interface ServerWebSocket {
  /** A text frame (JSON protocol). */
  sendText(text: string): void;
  /** Several text frames, written to the network together where the runtime can (Bun: cork). */
  sendTexts(texts: readonly string[]): void;
  /** A binary frame (protobuf). */
  sendBinary(bytes: Uint8Array): void;
  /** Bytes handed to the runtime and not yet written to the network. */
  readonly bufferedAmount: number;
  /** A close frame with this code and reason (≤ 123 bytes), then the connection ends. */
  close(code: number, reason: string): void;
  /** Ends the connection without a close frame (the peer sees 1006). */
  terminate(): void;
}

export interface WebSocketEvents {
  open(socket: ServerWebSocket): void;
  message(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface WebSocketUpgrade {
  /** The subprotocol to answer with (one the client offered), if any. */
  protocol?: string;
  events: WebSocketEvents;
}

export type FetchHandler = (req: Request, conn: ConnInfo) => Response | Promise<Response>;

/** Where a listener reports what it survives (a failing `accept`, say). `Logger` fits. */
export interface ListenerLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface ListenOptions {
  port: number;
  hostname: string;
  handler: FetchHandler;
  /**
   * Milliseconds a connection may have no request in progress before it is closed: a new
   * connection that has not sent a complete request head, or a kept-alive one between requests.
   * 0 disables the timeout; default 10 000 (Bun's own default).
   */
  idleTimeoutMs?: number;
  /** HTTPS (and WSS) with this certificate chain and key (PEM text). */
  tls?: { cert: string; key: string };
  /** The largest WebSocket message a client may send; larger ones close it with 1009. */
  maxWebSocketMessageBytes?: number;
  /** SO_REUSEPORT: several worker processes listen on the same port; Linux spreads connections. */
  reusePort?: boolean;
  log?: ListenerLog;
}

/** A child process started by `spawnSelf`. */
export interface ChildProcess {
  readonly pid: number;
  /** Resolves with the exit code (or 128 + signal number). */
  readonly exited: Promise<number>;
  kill(signal: SignalName | "SIGKILL"): void;
}

export interface Listener {
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting connections; `force` also cuts open responses. */
  close(force?: boolean): Promise<void>;
}

export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The hashes of HS256, HS384 and HS512. */
export type HmacHash = "sha256" | "sha384" | "sha512";

/** The HMAC of a text's UTF-8 bytes under one key, as unpadded base64url (a JWT's signature). */
export type HmacSign = (data: string) => string;

export interface Runtime {
  readonly name: "deno" | "bun";
  readonly version: string;
  listen(opts: ListenOptions): Promise<Listener>;
  /** Command-line arguments after the script name. */
  args(): string[];
  env(): Record<string, string>;
  readTextFile(path: string): Promise<string>;
  writeTextFile(path: string, text: string, opts?: { createNew?: boolean }): Promise<void>;
  exit(code: number): never;
  onSignal(signal: SignalName, fn: () => void): () => void;
  hostname(): string;
  /** Logical CPU cores. */
  cpuCount(): number;
  /**
   * A signer for one key through this runtime's fastest synchronous HMAC (every HS* connection
   * token is one call). The key is prepared here, once; hold on to the signer.
   */
  hmac(hash: HmacHash, key: Uint8Array): HmacSign;
  /**
   * Starts this same program again (the same script or binary, the same arguments) with extra
   * environment variables; its output goes to this process's output. For worker processes.
   */
  spawnSelf(env: Record<string, string>): ChildProcess;
  /**
   * Makes `import … from "<specifier>"` in files loaded after this call (plugins, anywhere on
   * disk) give `load()`'s module, the same objects Sluice uses. Returns why it cannot, if so.
   */
  exposeModule(specifier: string, load: () => Promise<object>): string | undefined;
  /**
   * The official SDK's browser build (`centrifuge/dist/centrifuge.js`), for the dev-mode page:
   * read from node_modules, or from inside the compiled binary.
   */
  sdkBrowserBuild(): Promise<string>;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
