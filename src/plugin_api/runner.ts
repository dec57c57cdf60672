/**
 * @module
 * Running plugin hooks: in plugin order, each call bounded by `plugin_hook_timeout` (its event's
 * `signal` aborts then), with one error policy — a `ClientError` answers the command, a
 * `Disconnect` closes the connection, anything else (or a timeout, or a malformed result) answers
 * 100 and logs `{plugin, hook, client, err}`. Nothing a plugin does can crash the server.
 */
import type { Logger } from "../log.ts";
import {
  asClientError,
  asDisconnect,
  ClientError,
  ErrorCode,
  isClientError,
  isDisconnect,
} from "../errors.ts";
import { type HookKind, type HookName, HOOKS, type Plugin } from "./types.ts";
import { RESULT_CHECKS } from "./results.ts";
import type {
  DecideHook,
  EventOf,
  HookCaller,
  ObserveHook,
  PublishEvent,
  PublishResult,
  ResultOf,
} from "../core/hooks.ts";

/** A hook ran over `plugin_hook_timeout`: its `signal` aborts with this, the client gets 100. */
export class HookTimeout extends Error {
  override name = "HookTimeout";
  constructor(ms: number) {
    super(`timed out after ${ms} ms (plugin_hook_timeout)`);
  }
}

const OBSERVE_HINTS: Partial<Record<HookName, string>> = {
  onConnect: "; to accept, refuse or shape a connection, answer from onConnecting",
  onSubscribed: "; to allow or refuse a subscription, answer from onSubscribe",
  onDisconnect: "",
  onUnsubscribe: "",
};

const REFUSE_HOW = "throw new Disconnect(4500..4999, reason) to refuse for good (the SDK stays away), or " +
  'new ClientError(code, message) to fail this one request (both from "sluice")';

/**
 * What to tell the author of a hook that threw something that counts as an internal error (100,
 * the client retries), when it looks like they meant something else; undefined when it does not.
 */
function thrownHint(err: unknown, kind: HookKind): string | undefined {
  if (err === null || typeof err !== "object") {
    return kind === "decide" || kind === "transform"
      ? `it counts as a temporary failure (100); ${REFUSE_HOW}`
      : undefined;
  }
  const e = err as { name?: unknown; code?: unknown };
  const canonical = typeof e.name === "string" ? nearErrorName(e.name) : undefined;
  if (canonical && !Number.isInteger(e.code)) {
    return `a ${canonical} needs an integer code, not ${JSON.stringify(e.code) ?? "undefined"}; as it is, ` +
      `it counts as a temporary failure (100) and the client retries. Throw new ${canonical}(code, …) from "sluice"`;
  }
  if (canonical && e.name !== canonical) {
    return `its name is "${
      String(e.name)
    }", not "${canonical}", so it counts as a temporary failure (100). ` +
      `Throw new ${canonical}(…) from "sluice"`;
  }
  if (Number.isInteger(e.code)) {
    return `an error with code ${e.code} but neither name "ClientError" nor "Disconnect" counts as a ` +
      `temporary failure (100); ${REFUSE_HOW}`;
  }
  if (kind === "decide" || kind === "transform") {
    return `the client gets 100 (temporary) and retries — right when your backend is down; otherwise ${REFUSE_HOW}`;
  }
  return undefined;
}

/** "ClientError" or "Disconnect" for names that are nearly one of them ("clientError", "client_error"). */
function nearErrorName(name: string): "ClientError" | "Disconnect" | undefined {
  const squashed = name.toLowerCase().replace(/[^a-z]/g, "");
  if (squashed === "clienterror") return "ClientError";
  if (squashed === "disconnect") return "Disconnect";
  return undefined;
}

function describeThrown(err: unknown): string {
  if (err instanceof Error) return `${err.name}(${JSON.stringify(err.message)})`;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * A hook threw something that is neither a ClientError nor a Disconnect, timed out, or answered
 * nonsense. It is already logged; the client sees 100 (internal, temporary) and retries.
 */
export class PluginFault extends ClientError {
  override name = "PluginFault";
  constructor() {
    super(ErrorCode.Internal);
  }
}

type HookFn = (event: unknown) => unknown;

export class HookRunner implements HookCaller {
  /** Set by plugins in `setup` (`ctx.refreshOnServer`), before the server takes connections. */
  readonly serverRefresh = { connections: false, subscriptions: false };
  private readonly byHook = new Map<HookName, Array<{ plugin: string; fn: HookFn }>>();
  private readonly warned = new Set<string>();

  constructor(
    plugins: readonly Plugin[],
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly metrics?: {
      hookCall(plugin: string, hook: string, seconds: number): void;
      hookFailed(plugin: string, hook: string): void;
    },
  ) {
    for (const plugin of plugins) {
      for (const [key, fn] of Object.entries(plugin)) {
        if (typeof fn !== "function" || key === "setup") continue;
        const hook = key as HookName;
        let list = this.byHook.get(hook);
        if (!list) this.byHook.set(hook, list = []);
        list.push({ plugin: plugin.name, fn: (fn as HookFn).bind(plugin) });
      }
    }
  }

  has(hook: HookName): boolean {
    return (this.byHook.get(hook)?.length ?? 0) > 0;
  }

  /**
   * Decide hooks: the first plugin answering something other than `undefined` wins; its answer
   * must pass the hook's check in `RESULT_CHECKS` (a malformed answer is the plugin's fault: 100).
   */
  async decide<H extends DecideHook>(
    hook: H,
    makeEvent: (signal: AbortSignal) => EventOf<H>,
    clientId?: string,
  ): Promise<ResultOf<H> | undefined> {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      const result = await this.call(plugin, hook, fn, makeEvent, clientId);
      if (result === undefined || result === null) continue;
      this.check(plugin, hook, result, clientId);
      return result as ResultOf<H>;
    }
    return undefined;
  }

  /**
   * Transform hooks: each plugin sees the previous one's output; an answer passes the hook's
   * check, then `apply` merges it in.
   */
  async transform<S>(
    hook: "onPublish",
    state: S,
    makeEvent: (state: S, signal: AbortSignal) => PublishEvent,
    apply: (state: S, result: PublishResult) => S,
    clientId?: string,
  ): Promise<S> {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      const result = await this.call(plugin, hook, fn, (signal) => makeEvent(state, signal), clientId);
      if (result === undefined || result === null) continue;
      this.check(plugin, hook, result, clientId);
      state = apply(state, result as PublishResult);
    }
    return state;
  }

  /**
   * Observe hooks: all plugins, in parallel, in the background; failures are logged only. What
   * they return or throw changes nothing, so a plugin doing so gets a warning saying where that
   * belongs (auth written in `onConnect` instead of `onConnecting`, say).
   */
  observe<H extends ObserveHook>(hook: H, event: EventOf<H>, clientId?: string): void {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      this.call(plugin, hook, fn, () => event, clientId).then((result) => {
        if (result !== undefined) {
          this.warnOnce(
            plugin,
            hook,
            `${hook} is an observe hook: what it returns is ignored${OBSERVE_HINTS[hook] ?? ""}`,
          );
        }
      }, (err) => {
        // Faults are logged where they happen; a ClientError/Disconnect from an observer changes nothing.
        if (!(err instanceof PluginFault)) {
          this.warnOnce(
            plugin,
            hook,
            `${hook} is an observe hook: a ${err?.name ?? "ClientError"} thrown from it is ignored${
              OBSERVE_HINTS[hook] ?? ""
            }`,
          );
        }
      });
    }
  }

  /** App hooks (`onReady`, `onClose`): sequentially, in the given order. */
  async app(hook: "onReady" | "onClose", arg: (plugin: string) => unknown, reverse = false): Promise<void> {
    const list = [...(this.byHook.get(hook) ?? [])];
    if (reverse) list.reverse();
    for (const { plugin, fn } of list) {
      try {
        await this.withTimeout(() => fn(arg(plugin)));
      } catch (err) {
        this.log.error("plugin hook failed", { plugin, hook, err });
      }
    }
  }

  private async call(
    plugin: string,
    hook: HookName,
    fn: HookFn,
    makeEvent: (signal: AbortSignal) => unknown,
    clientId?: string,
  ): Promise<unknown> {
    const started = performance.now();
    try {
      return await this.withTimeout((signal) => fn(makeEvent(signal)));
    } catch (err) {
      if (err instanceof PluginFault) throw err;
      // A second copy of Sluice's module (or a plugin's own class) makes other objects; use ours.
      if (isClientError(err)) throw asClientError(err);
      if (isDisconnect(err)) throw asDisconnect(err);
      if (!(err instanceof HookTimeout)) {
        const hint = thrownHint(err, HOOKS[hook]);
        if (hint) this.warnOnce(plugin, hook, hint, `${hook} threw ${describeThrown(err)}: ${hint}`);
      }
      throw this.fault(plugin, hook, clientId, err);
    } finally {
      this.metrics?.hookCall(plugin, hook, (performance.now() - started) / 1000);
    }
  }

  private async withTimeout(run: (signal: AbortSignal) => unknown): Promise<unknown> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => run(controller.signal)),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            const err = new HookTimeout(this.timeoutMs);
            controller.abort(err);
            reject(err);
          }, this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A result that fails its hook's check: logged as the plugin's fault, 100 for the client. */
  private check(plugin: string, hook: HookName, result: unknown, clientId?: string): void {
    const problem = RESULT_CHECKS[hook]?.(result);
    if (problem) throw this.fault(plugin, hook, clientId, new TypeError(`invalid result: ${problem}`));
  }

  /** One warning per plugin, hook and kind of mistake: the first occurrence tells the author. */
  private warnOnce(plugin: string, hook: string, mistake: string, msg = mistake): void {
    const key = `${plugin}\0${hook}\0${mistake}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(msg, { plugin, hook });
  }

  /** Logs a plugin's own failure and returns the error the client gets (100, temporary). */
  private fault(plugin: string, hook: string, clientId: string | undefined, err: unknown): PluginFault {
    this.log.error("plugin hook failed", { plugin, hook, client: clientId, err });
    this.metrics?.hookFailed(plugin, hook);
    return new PluginFault();
  }
}
