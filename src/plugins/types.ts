/**
 * @module
 * The plugin API: what a plugin is, the fixed table of hooks with their kinds, and the events
 * each hook receives. A plugin is a plain object (or `definePlugin(...)`, or a factory
 * `(options) => Plugin`); hooks are optional async functions.
 */
import type { ChannelOptions, Config } from "../config.ts";
import type { Broker, Controller, PresenceManager } from "../broker/broker.ts";
import type { Logger } from "../log.ts";
import type { SubscribeOverride } from "../auth/jwt.ts";
import type { StreamPosition } from "../wire/protocol.ts";

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
  /** Protocol and encoding, as Centrifugo's proxy requests carry them. */
  readonly protocol: "json";
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

type MaybePromise<T> = T | Promise<T>;

export interface PluginHooks {
  onConnecting?(event: ConnectingEvent): MaybePromise<ConnectingResult | undefined | void>;
  onRefresh?(event: RefreshEvent): MaybePromise<RefreshResult | undefined | void>;
  onSubscribe?(event: SubscribeEvent): MaybePromise<SubscribeResult | undefined | void>;
  onSubRefresh?(event: SubRefreshEvent): MaybePromise<SubRefreshResult | undefined | void>;
  onPublish?(event: PublishEvent): MaybePromise<PublishResult | undefined | void>;
  onRpc?(event: RpcEvent): MaybePromise<RpcResult | undefined | void>;
  onConnect?(event: ConnectedEvent): MaybePromise<void>;
  onDisconnect?(event: DisconnectEvent): MaybePromise<void>;
  onSubscribed?(event: ChannelEvent): MaybePromise<void>;
  onUnsubscribe?(event: ChannelEvent): MaybePromise<void>;
  onReady?(ctx: PluginContext): MaybePromise<void>;
  onClose?(ctx: PluginContext): MaybePromise<void>;
}

/** What a plugin may offer instead of the memory implementations. */
export interface PluginProvides {
  broker?: Broker;
  presence?: PresenceManager;
  controller?: Controller;
}

export type Teardown = () => MaybePromise<void>;

export interface Plugin extends PluginHooks {
  name: string;
  /** Names of plugins that must be enabled (earlier in the config) for this one to work. */
  dependencies?: string[];
  /** Runs once before listening; may return a teardown, run at shutdown in reverse order. */
  setup?(ctx: PluginContext): MaybePromise<void | Teardown>;
  provides?: PluginProvides;
}

/** A factory gets its options and the server's config (to leave out hooks it will not need). */
export type PluginFactory = (
  options: Record<string, unknown>,
  config?: Readonly<Config>,
) => MaybePromise<Plugin>;

/** Server operations plugins may call (the server API, trusted). */
export interface NodeFacade {
  readonly id: string;
  publish(
    channel: string,
    data: unknown,
    opts?: { skipHistory?: boolean; tags?: Record<string, string> },
  ): Promise<StreamPosition>;
  history(
    channel: string,
    opts?: { limit?: number; since?: StreamPosition; reverse?: boolean },
  ): Promise<{ publications: Array<{ data: unknown; offset?: number }>; offset: number; epoch: string }>;
  presence(channel: string): Promise<Record<string, { user: string; client: string }>>;
  disconnect(user: string, code?: number, reason?: string): Promise<void>;
  subscribe(user: string, channel: string): Promise<void>;
  unsubscribe(user: string, channel: string): Promise<void>;
}

export interface PluginContext {
  readonly config: Readonly<Config>;
  /** The options this plugin was enabled with (`"plugins": {"name": options}`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** A logger whose lines carry `plugin: name`. */
  readonly logger: Logger;
  readonly node: NodeFacade;
  /** Aborted when the server shuts down. */
  readonly signal: AbortSignal;
}
