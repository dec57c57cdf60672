/**
 * The real `centrifuge` SDK pointed at a test server over `websocket` (the SDK's default, with the
 * runtime's WebSocket), `http_stream` or `sse` (the runtime's fetch/ReadableStream and the
 * `eventsource` package).
 */
import { Centrifuge, type Options, type Subscription } from "centrifuge";
import { EventSource } from "eventsource";
import type { TestContext } from "../harness.ts";
import type { TestServer } from "./server.ts";

export type SdkTransport = "websocket" | "http_stream" | "sse";
/** What the SDK suites run over: every bidirectional transport Centrifugo's SDK speaks. */
export const TRANSPORTS: SdkTransport[] = ["websocket", "http_stream", "sse"];
export type EmulationTransport = "http_stream" | "sse";
/** The transports whose commands go through `/emulation` (fetch requests a test can watch). */
export const EMULATION_TRANSPORTS: EmulationTransport[] = ["http_stream", "sse"];

export function sdk(
  t: TestContext,
  server: TestServer,
  transport: SdkTransport,
  opts: Partial<Options> = {},
): Centrifuge {
  const client = new Centrifuge(
    [{
      transport,
      endpoint: `${
        transport === "websocket" ? server.url.replace(/^http/, "ws") : server.url
      }/connection/${transport}`,
    }],
    {
      websocket: WebSocket,
      emulationEndpoint: `${server.url}/emulation`,
      fetch: globalThis.fetch.bind(globalThis),
      readableStream: ReadableStream,
      eventsource: EventSource,
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      timeout: 5000,
      ...opts,
    } as Partial<Options>,
  );
  t.cleanup(() => client.disconnect());
  return client;
}

/** Resolves with the first `event` emitted by `emitter` (rejects after `ms`). */
// SDK emitters type their listeners per event name; tests only need "an emitter".
// deno-lint-ignore no-explicit-any
type Emitter = { on(e: any, fn: any): unknown; once(e: any, fn: any): unknown };

export function once<T = unknown>(
  emitter: Emitter,
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${ms} ms`)), ms);
    emitter.once(event, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** Collects every `event` payload into an array. */
export function collect<T = unknown>(
  emitter: Emitter,
  event: string,
): T[] {
  const out: T[] = [];
  emitter.on(event, (v: T) => out.push(v));
  return out;
}

export async function connected(client: Centrifuge, ms = 5000): Promise<void> {
  const p = once(client, "connected", ms);
  client.connect();
  await p;
}

export async function subscribed(sub: Subscription, ms = 5000): Promise<unknown> {
  const p = once(sub, "subscribed", ms);
  sub.subscribe();
  return await p;
}

/**
 * Waits until the SDK has handled every push the server sent `client` before this call: a fence
 * publication on a fresh server-side channel (API `subscribe` + `publish`), which the server
 * writes after anything queued earlier. Assert "nothing arrived" after the fence, not after a
 * sleep. Returns the fence channel (its own `subscribed`/`publication` events are not news).
 */
export async function fence(server: TestServer, client: Centrifuge, user: string): Promise<string> {
  const channel = `fence-${crypto.randomUUID()}`;
  const seen = (event: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fence: no "${event}" for ${channel}`)), 5000);
      const handler = (ctx: { channel: string }) => {
        if (ctx.channel !== channel) return;
        clearTimeout(timer);
        client.removeListener(event as "publication", handler as never);
        resolve();
      };
      client.on(event as "publication", handler as never);
    });
  const isSubscribed = seen("subscribed");
  await server.apiJson("subscribe", { user, channel });
  await isSubscribed;
  const published = seen("publication");
  await server.apiJson("publish", { channel, data: "fence" });
  await published;
  return channel;
}
