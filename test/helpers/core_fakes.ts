/**
 * @module
 * Fakes for testing core units without a server: a transport that records what a client wrote
 * and how it was closed, a hook caller answering from a table and recording what it was asked,
 * a node on the in-process broker, and a connected `Client` on them. Built the way `server.ts`
 * and `testing.ts` build the real ones, so a failing unit test names the unit, not an edge.
 */
import type { TestContext } from "../harness.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { Node, type NodeOptions } from "../../src/core/node.ts";
import { Client, type ClientTransport } from "../../src/core/client.ts";
import type { OutgoingMessage } from "../../src/core/connection.ts";
import { Shape } from "../../src/core/codec.ts";
import {
  type DecideHook,
  type EventOf,
  type HookCaller,
  type HookName,
  HOOKS,
  type ObserveHook,
  type PublishEvent,
  type PublishResult,
  type ResultOf,
} from "../../src/core/hooks.ts";
import { createLogger, type Logger } from "../../src/log.ts";

const decoder = new TextDecoder();

/** A written message: a reply (`id` and a result or `error`) or a `push`. */
// deno-lint-ignore no-explicit-any
export type Message = Record<string, any>;

/**
 * Waits until `probe` returns something: for an effect that lands a few turns of the event loop
 * later (a hook's answer, a write after an await). Nothing in these units waits for time — a test
 * whose timers matter runs its node on a `ManualClock` (helpers/clock.ts) and moves it — so this
 * counts turns, not milliseconds: an effect still missing after `turns` turns is not coming.
 */
export async function eventually<T>(probe: () => T | undefined | false, turns = 100): Promise<T> {
  for (let turn = 0;; turn++) {
    const found = probe();
    if (found !== undefined && found !== false) return found;
    if (turn === turns) {
      throw new Error(`not within ${turns} turns of the event loop: ${probe.toString().slice(0, 200)}`);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
}

export interface RecordingTransportOptions {
  unidirectional?: boolean;
  protobuf?: boolean;
  /** Commands come through `/emulation` (a session id is made at connect). */
  emulation?: boolean;
  /** The close frame carries the disconnect (a WebSocket): no disconnect push first. */
  disconnectInClose?: boolean;
  /** Messages are JSON text, one per write (a JSON WebSocket), instead of framed bytes. */
  text?: boolean;
}

/** A transport that keeps every write (JSON ones parsed) and how it ended. */
export class RecordingTransport implements ClientTransport {
  readonly name: string;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly framing = "ndjson" as const;
  readonly shape: Shape;
  readonly protobuf: boolean;
  readonly disconnectInClose: boolean;
  readonly text: boolean;
  readonly ping: OutgoingMessage;
  isClosed = false;
  /** Set by `close`: the code and reason the connection ended with. */
  closed?: { code?: number; reason?: string };
  aborted = false;
  /** While false, writes report the queue over its limit (a slow client). */
  accepting = true;
  readonly chunks: Uint8Array[] = [];
  /** Every JSON message written, in order (empty for protobuf). */
  readonly messages: Message[] = [];

  constructor(opts: RecordingTransportOptions = {}) {
    this.unidirectional = opts.unidirectional === true;
    this.emulation = opts.emulation === true;
    this.protobuf = opts.protobuf === true;
    this.disconnectInClose = opts.disconnectInClose === true;
    this.text = opts.text === true;
    this.ping = this.text ? "{}" : new TextEncoder().encode("{}\n");
    this.name = this.unidirectional ? "uni_http_stream" : opts.protobuf ? "websocket" : "http_stream";
    this.shape = this.protobuf
      ? Shape.BidiProtobuf
      : this.unidirectional
      ? Shape.UniNdjson
      : Shape.BidiNdjson;
  }

  write(message: OutgoingMessage): boolean {
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    this.chunks.push(bytes);
    if (!this.protobuf) {
      for (const line of decoder.decode(bytes).split("\n")) {
        if (line.trim() !== "") this.messages.push(JSON.parse(line));
      }
    }
    return this.accepting;
  }

  close(code?: number, reason?: string): void {
    this.isClosed = true;
    this.closed = { code, reason };
  }

  abort(): void {
    this.isClosed = true;
    this.aborted = true;
  }

  /** The reply to command `id`, once written. */
  reply(id: number): Promise<Message> {
    return eventually(() => this.messages.find((m) => m.id === id));
  }

  /** Push bodies written so far (bare on unidirectional transports, `{"push":…}` unwrapped otherwise). */
  pushes(): Message[] {
    if (this.unidirectional) return this.messages.filter((m) => Object.keys(m).length > 0);
    return this.messages.filter((m) => m.push !== undefined).map((m) => m.push);
  }

  /** The first push of `kind` (e.g. "pub", "unsubscribe") on `channel`, once written. */
  push(kind: string, channel?: string): Promise<Message> {
    return eventually(() =>
      this.pushes().find((p) => p[kind] !== undefined && (!channel || p.channel === channel))
    );
  }

  /** The code of the close, once closed. */
  closedWith(): Promise<number | undefined> {
    return eventually(() => this.closed).then((c) => c.code);
  }
}

type Answer<H extends DecideHook> = (
  event: EventOf<H>,
) => ResultOf<H> | undefined | Promise<ResultOf<H> | undefined>;

/** What each hook answers in a `FakeHooks`; a hook left out is one no plugin has. */
export type HookAnswers = { [H in DecideHook]?: Answer<H> } & {
  onPublish?: (event: PublishEvent) => PublishResult | Promise<PublishResult>;
};

/**
 * A `HookCaller` answering from a table. Observe hooks are always "present" and recorded, so a
 * test can assert what was reported; decide hooks record the event they were asked with.
 */
export class FakeHooks implements HookCaller {
  readonly serverRefresh = { connections: false, subscriptions: false };
  /** Every event a hook received, by hook, in order. */
  readonly events: Array<{ hook: HookName; event: Record<string, unknown> }> = [];

  constructor(private readonly answers: HookAnswers = {}) {}

  has(hook: HookName): boolean {
    return HOOKS[hook] === "observe" || this.answers[hook as keyof HookAnswers] !== undefined;
  }

  /** The events `hook` received. */
  of(hook: HookName): Message[] {
    return this.events.filter((e) => e.hook === hook).map((e) => e.event);
  }

  async decide<H extends DecideHook>(hook: H, makeEvent: (signal: AbortSignal) => EventOf<H>) {
    const answer = this.answers[hook] as Answer<H> | undefined;
    if (!answer) return undefined;
    const event = makeEvent(new AbortController().signal);
    this.events.push({ hook, event: event as unknown as Record<string, unknown> });
    return await answer(event);
  }

  async transform<S>(
    hook: "onPublish",
    state: S,
    makeEvent: (state: S, signal: AbortSignal) => PublishEvent,
    apply: (state: S, result: PublishResult) => S,
  ): Promise<S> {
    const answer = this.answers.onPublish;
    if (!answer) return state;
    const event = makeEvent(state, new AbortController().signal);
    this.events.push({ hook, event: event as unknown as Record<string, unknown> });
    return apply(state, await answer(event));
  }

  observe<H extends ObserveHook>(hook: H, event: EventOf<H>): void {
    this.events.push({ hook, event: event as unknown as Record<string, unknown> });
  }
}

/** A logger whose lines (parsed JSON) a test can read. */
export function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: "debug",
    format: "json",
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { logger, lines };
}

/** Anyone may connect (anonymously, without a token) and subscribe, unless a test says otherwise. */
const OPEN = {
  allow_anonymous_connect_without_token: true,
  allow_subscribe_for_client: true,
  allow_subscribe_for_anonymous: true,
};

/**
 * A started node on the in-process broker with `config` (as in a config file) over `OPEN`,
 * closed after the test. Connections are anonymous unless `onConnecting` says otherwise.
 */
export async function startNode(
  t: TestContext,
  config: Record<string, unknown> = {},
  opts: NodeOptions = {},
): Promise<Node> {
  const file = { token_hmac_secret_key: "test-secret", ...OPEN, ...config };
  const node = new Node(loadConfig({ file }).config, opts);
  await node.start();
  t.cleanup(() => node.close());
  return node;
}

/** Hooks that accept every connection as the user named in its connect `data.user`. */
export function usersFromConnectData(more: HookAnswers = {}): FakeHooks {
  return new FakeHooks({
    onConnecting: (e) => ({ user: String((e.data as { user?: string } | undefined)?.user ?? "") }),
    ...more,
  });
}

/** A client of `node` on a new recording transport, connected with `connect` (command id 1). */
export async function connectedClient(
  node: Node,
  connect: Record<string, unknown> = {},
  transport = new RecordingTransport(),
): Promise<{ client: Client; transport: RecordingTransport; reply: Message }> {
  const client = new Client(node, transport, { headers: new Headers() });
  client.receive(JSON.stringify({ id: 1, connect }));
  const reply = await transport.reply(1);
  return { client, transport, reply };
}

/** Sends one command and waits for its reply. */
export function command(
  client: Client,
  transport: RecordingTransport,
  id: number,
  method: string,
  body: Record<string, unknown>,
): Promise<Message> {
  client.receive(JSON.stringify({ id, [method]: body }));
  return transport.reply(id);
}
