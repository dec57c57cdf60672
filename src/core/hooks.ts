/**
 * @module
 * The hooks core calls, declared by core: their names and kinds, the events they receive and
 * the answers they give, and `HookCaller`, the interface through which core calls them. The
 * plugin layer (`src/plugin_api/runner.ts`) implements it; `server.ts` wires it in. Core knows
 * nothing else of plugins.
 */
import type { ChannelOptions } from "../config/mod.ts";
import type { SubscribeOverride } from "../wire/override.ts";

/**
 * Hook kinds (fastify/rollup style):
 * - decide: called in plugin order; the first non-`undefined` answer wins (`undefined` = pass);
 * - transform: waterfall — each result feeds the next plugin;
 * - observe: after the fact, all plugins, results ignored, errors only logged;
 * - app: lifecycle (`onReady` after listening, `onClose` at shutdown in reverse order).
 */
export type HookKind = "decide" | "transform" | "observe" | "app";

export const HOOKS = {
  onConnecting: "decide",
  onRefresh: "decide",
  onSubscribe: "decide",
  onSubRefresh: "decide",
  onPublish: "transform",
  onRpc: "decide",
  onConnect: "observe",
  onDisconnect: "observe",
  onSubscribed: "observe",
  onUnsubscribe: "observe",
  onReady: "app",
  onClose: "app",
} as const satisfies Record<string, HookKind>;

export type HookName = keyof typeof HOOKS;

/** Who is asking: the connection a client-side event comes from. */
export interface ClientContext {
  /** Connection (client) id. */
  readonly id: string;
  /** User id; "" for anonymous connections. */
  readonly user: string;
  /** Transport name: "sse", "http_stream", "uni_sse", "uni_http_stream". */
  readonly transport: string;
  /** The client protocol of the connection (Centrifugo's proxy requests carry it). */
  readonly protocol: "json" | "protobuf";
  /** Connection info from the token or the connect hook (parsed JSON), if any. */
  readonly info?: unknown;
  /** Private connection metadata from the token or the connect hook (parsed JSON), if any. */
  readonly meta?: unknown;
  /** Headers of the HTTP request that opened the connection. */
  readonly headers: Headers;
  /** "Emulated" headers the SDK sent inside its connect request (SDK ≥ 5.3). */
  readonly emulatedHeaders: Readonly<Record<string, string>>;
}

interface HookEventBase {
  /** Aborted when the hook runs over `plugin_hook_timeout`. */
  readonly signal: AbortSignal;
}

export interface ConnectingEvent extends HookEventBase {
  readonly client: {
    readonly id: string;
    readonly transport: string;
    readonly headers: Headers;
    readonly remoteAddr?: string;
  };
  /** The connection token, when the client sent one (return `undefined` to let JWT verification run). */
  readonly token?: string;
  /** Custom connect `data` (parsed JSON). */
  readonly data?: unknown;
  readonly name: string;
  readonly version: string;
  /** Server-side channels the client asked for (connect `subs`); return the allowed ones in `channels`. */
  readonly channels: string[];
  /** "Emulated" headers sent inside the connect request by SDK ≥ 5.3. */
  readonly emulatedHeaders: Record<string, string>;
  /** The client protocol of the connection, and the payload encoding, as Centrifugo's proxy requests carry them. */
  readonly protocol: "json" | "protobuf";
  readonly encoding: "json";
}

export interface SubscribeOptionsResult {
  info?: unknown;
  data?: unknown;
  override?: SubscribeOverride;
}

export interface ConnectingResult {
  /** User id; "" accepts the connection as anonymous. */
  user: string;
  /** Unix seconds; 0 or absent = never expires. */
  expireAt?: number;
  /** Public connection info (presence, join/leave, publications). */
  info?: unknown;
  /** Returned to the client in the connect reply. */
  data?: unknown;
  /** Server-side subscriptions. */
  channels?: string[];
  /** Server-side subscriptions with options. */
  subs?: Record<string, SubscribeOptionsResult>;
  /** Private metadata, visible to later hooks only. */
  meta?: unknown;
}

export interface RefreshEvent extends HookEventBase {
  readonly client: ClientContext;
}

export type RefreshResult = { expired: true } | {
  expired?: false;
  expireAt?: number;
  info?: unknown;
  meta?: unknown;
};

/**
 * What a refresh answer (`onRefresh`, `onSubRefresh`) leaves alive: the answer with its new expiry
 * (Unix seconds, 0 = never), or undefined when it ends the connection or subscription — no
 * answer, `expired`, or an expiry already past.
 */
export function refreshExtension<R extends RefreshResult | SubRefreshResult>(
  result: R | undefined,
  nowMs = Date.now(),
): (Extract<R, { expired?: false }> & { expireAt: number }) | undefined {
  if (!result || result.expired) return undefined;
  const expireAt = result.expireAt ?? 0;
  if (expireAt > 0 && expireAt * 1000 <= nowMs) return undefined;
  return { ...result as Extract<R, { expired?: false }>, expireAt };
}

export interface SubscribeEvent extends HookEventBase {
  readonly client: ClientContext;
  readonly channel: string;
  /** "" for channels without a namespace. */
  readonly namespace: string;
  readonly options: Readonly<ChannelOptions>;
  /** Custom subscribe `data` (parsed JSON). */
  readonly data?: unknown;
}

export interface SubscribeResult {
  /** Channel info (presence, join/leave). */
  info?: unknown;
  /** Returned to the client in the subscribe reply. */
  data?: unknown;
  /** Unix seconds; the subscription then needs `onSubRefresh` (or expires with unsubscribe 2501). */
  expireAt?: number;
  override?: SubscribeOverride;
  /**
   * The SDK refreshes this subscription with a token (its reply says `expires`/`ttl`), even
   * where a plugin refreshes subscriptions on the server — as Centrifugo does for namespaces
   * without a sub_refresh proxy.
   */
  clientRefresh?: boolean;
}

export interface SubRefreshEvent extends HookEventBase {
  readonly client: ClientContext;
  readonly channel: string;
  readonly namespace: string;
  readonly options: Readonly<ChannelOptions>;
}

export type SubRefreshResult = { expired: true } | { expired?: false; expireAt?: number; info?: unknown };

export interface PublishEvent extends HookEventBase {
  readonly client: ClientContext;
  readonly channel: string;
  readonly namespace: string;
  readonly options: Readonly<ChannelOptions>;
  /** The data to publish (parsed JSON) — the previous plugin's replacement, if any. */
  readonly data: unknown;
}

export interface PublishResult {
  /** Replaces the data for the next plugins and the broker. */
  data?: unknown;
  skipHistory?: boolean;
  tags?: Record<string, string>;
}

export interface RpcEvent extends HookEventBase {
  readonly client: ClientContext;
  readonly method: string;
  readonly data?: unknown;
}

export interface RpcResult {
  data?: unknown;
}

export interface ConnectedEvent {
  readonly client: ClientContext;
}

export interface DisconnectEvent {
  readonly client: ClientContext;
  readonly code: number;
  readonly reason: string;
}

export interface ChannelEvent {
  readonly client: ClientContext;
  readonly channel: string;
}

export type EventOf<H extends HookName> = H extends keyof HookEvents ? HookEvents[H] : never;
export type ResultOf<H extends HookName> = H extends keyof HookResults ? HookResults[H] : never;

/** What each hook receives. */
export interface HookEvents {
  onConnecting: ConnectingEvent;
  onRefresh: RefreshEvent;
  onSubscribe: SubscribeEvent;
  onSubRefresh: SubRefreshEvent;
  onPublish: PublishEvent;
  onRpc: RpcEvent;
  onConnect: ConnectedEvent;
  onDisconnect: DisconnectEvent;
  onSubscribed: ChannelEvent;
  onUnsubscribe: ChannelEvent;
}

/** What decide and transform hooks answer (checked before core sees it). */
export interface HookResults {
  onConnecting: ConnectingResult;
  onRefresh: RefreshResult;
  onSubscribe: SubscribeResult;
  onSubRefresh: SubRefreshResult;
  onPublish: PublishResult;
  onRpc: RpcResult;
}

export type DecideHook = "onConnecting" | "onRefresh" | "onSubscribe" | "onSubRefresh" | "onRpc";
export type ObserveHook = "onConnect" | "onDisconnect" | "onSubscribed" | "onUnsubscribe";

/**
 * How core calls hooks. A decide hook's first answer wins (`undefined`: nobody answered); a
 * transform hook's answers are merged in turn by `apply`; observe hooks run in the background.
 * Throws `ClientError` / `Disconnect` from a hook as they are; anything else as error 100.
 */
export interface HookCaller {
  has(hook: HookName): boolean;
  /** Whether connections (or subscriptions) that expire are refreshed on the server by a hook. */
  readonly serverRefresh: { connections: boolean; subscriptions: boolean };
  decide<H extends DecideHook>(
    hook: H,
    makeEvent: (signal: AbortSignal) => EventOf<H>,
    clientId?: string,
  ): Promise<ResultOf<H> | undefined>;
  transform<S>(
    hook: "onPublish",
    state: S,
    makeEvent: (state: S, signal: AbortSignal) => PublishEvent,
    apply: (state: S, result: PublishResult) => S,
    clientId?: string,
  ): Promise<S>;
  observe<H extends ObserveHook>(hook: H, event: EventOf<H>, clientId?: string): void;
}

/** The hooks that see a connection after its connect (its `ClientContext`, request headers included). */
const AFTER_CONNECT: readonly HookName[] = [
  "onRefresh",
  "onSubscribe",
  "onSubRefresh",
  "onPublish",
  "onRpc",
  "onConnect",
  "onDisconnect",
  "onSubscribed",
  "onUnsubscribe",
];

/** Whether some hook sees connections once they are connected (else nothing reads their request headers then). */
export function seesConnectedClients(hooks: HookCaller): boolean {
  return AFTER_CONNECT.some((hook) => hooks.has(hook));
}

/** No plugins: nothing answers, nothing observes. */
export const NO_HOOKS: HookCaller = {
  has: () => false,
  serverRefresh: { connections: false, subscriptions: false },
  decide: () => Promise.resolve(undefined),
  transform: (_hook, state) => Promise.resolve(state),
  observe: () => {},
};
