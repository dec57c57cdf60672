/**
 * @module
 * The plugin API: what a plugin is, the fixed table of hooks with their kinds, and the events
 * each hook receives. A plugin is a plain object (or `definePlugin(...)`, or a factory
 * `(options) => Plugin`); hooks are optional async functions.
 */
import type { Config } from "../config/mod.ts";
import type { Broker, Controller, PresenceManager } from "../broker/broker.ts";
import type { Logger } from "../log.ts";
import type { StreamPosition } from "../wire/protocol.ts";

export { HOOKS } from "../core/hooks.ts";
export type {
  ChannelEvent,
  ClientContext,
  ConnectedEvent,
  ConnectingEvent,
  ConnectingResult,
  DisconnectEvent,
  HookKind,
  HookName,
  PublishEvent,
  PublishResult,
  RefreshEvent,
  RefreshResult,
  RpcEvent,
  RpcResult,
  SubRefreshEvent,
  SubRefreshResult,
  SubscribeEvent,
  SubscribeOptionsResult,
  SubscribeResult,
} from "../core/hooks.ts";
import type { HookEvents as E, HookResults as R } from "../core/hooks.ts";

type MaybePromise<T> = T | Promise<T>;

export interface PluginHooks {
  onConnecting?(event: E["onConnecting"]): MaybePromise<R["onConnecting"] | undefined | void>;
  onRefresh?(event: E["onRefresh"]): MaybePromise<R["onRefresh"] | undefined | void>;
  onSubscribe?(event: E["onSubscribe"]): MaybePromise<R["onSubscribe"] | undefined | void>;
  onSubRefresh?(event: E["onSubRefresh"]): MaybePromise<R["onSubRefresh"] | undefined | void>;
  onPublish?(event: E["onPublish"]): MaybePromise<R["onPublish"] | undefined | void>;
  onRpc?(event: E["onRpc"]): MaybePromise<R["onRpc"] | undefined | void>;
  onConnect?(event: E["onConnect"]): MaybePromise<void>;
  onDisconnect?(event: E["onDisconnect"]): MaybePromise<void>;
  onSubscribed?(event: E["onSubscribed"]): MaybePromise<void>;
  onUnsubscribe?(event: E["onUnsubscribe"]): MaybePromise<void>;
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
  /**
   * Call in `setup` to refresh expiring connections (with `onRefresh`) or hook-granted
   * subscriptions (with `onSubRefresh`) on the server, as Centrifugo's refresh proxies do: the
   * SDK is then not asked for new tokens. Without this call those hooks are never called.
   */
  refreshOnServer(what: "connections" | "subscriptions"): void;
}
