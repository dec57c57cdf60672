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
import type { HookName, Plugin, PluginHooks } from "./types.ts";

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
type EventOf<H extends HookName> = Parameters<NonNullable<PluginHooks[H]>>[0];
type ResultOf<H extends HookName> = Exclude<
  Awaited<ReturnType<NonNullable<PluginHooks[H]>>>,
  void | undefined
>;

export class HookRunner {
  private readonly byHook = new Map<HookName, Array<{ plugin: string; fn: HookFn }>>();

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
   * Decide hooks: the first plugin answering something other than `undefined` wins; `check`
   * validates its answer (a malformed answer is the plugin's fault: 100).
   */
  async decide<H extends HookName>(
    hook: H,
    makeEvent: (signal: AbortSignal) => EventOf<H>,
    check: (result: unknown) => string | undefined,
    clientId?: string,
  ): Promise<ResultOf<H> | undefined> {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      const result = await this.call(plugin, hook, fn, makeEvent, clientId);
      if (result === undefined || result === null) continue;
      const problem = check(result);
      if (problem) throw this.fault(plugin, hook, clientId, new TypeError(`invalid result: ${problem}`));
      return result as ResultOf<H>;
    }
    return undefined;
  }

  /** Transform hooks: each plugin sees the previous one's output; `apply` merges an answer in. */
  async transform<H extends HookName, S>(
    hook: H,
    state: S,
    makeEvent: (state: S, signal: AbortSignal) => EventOf<H>,
    apply: (state: S, result: unknown) => S | string,
    clientId?: string,
  ): Promise<S> {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      const result = await this.call(plugin, hook, fn, (signal) => makeEvent(state, signal), clientId);
      if (result === undefined || result === null) continue;
      const next = apply(state, result);
      if (typeof next === "string") {
        throw this.fault(plugin, hook, clientId, new TypeError(`invalid result: ${next}`));
      }
      state = next;
    }
    return state;
  }

  /** Observe hooks: all plugins, in parallel, in the background; failures are logged only. */
  observe<H extends HookName>(hook: H, event: EventOf<H>, clientId?: string): void {
    for (const { plugin, fn } of this.byHook.get(hook) ?? []) {
      this.call(plugin, hook, fn, () => event, clientId).catch((err) => {
        // Faults are logged where they happen; a ClientError/Disconnect from an observer is ignored.
        if (!(err instanceof PluginFault)) {
          this.log.info("observe hook threw a client error; ignored", {
            plugin,
            hook,
            client: clientId,
            code: err?.code,
          });
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
            controller.abort(new Error("plugin hook timed out"));
            reject(new Error(`timed out after ${this.timeoutMs} ms`));
          }, this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs a plugin's own failure and returns the error the client gets (100, temporary). */
  private fault(plugin: string, hook: string, clientId: string | undefined, err: unknown): PluginFault {
    this.log.error("plugin hook failed", { plugin, hook, client: clientId, err });
    this.metrics?.hookFailed(plugin, hook);
    return new PluginFault();
  }
}
