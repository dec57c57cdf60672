/**
 * @module
 * The HTTP side of `connect_proxy`: one JSON `POST` per hook call to the kind's endpoint, bounded
 * by the proxy's timeout and the hook's signal, with the headers the settings forward. Every
 * failure (transport, timeout, status other than 200, unreadable answer) is a plain `Error` whose
 * message names the endpoint without its credentials.
 */
import type { ClientContext, ConnectingEvent, Logger } from "sluice";
import { clientRequest, connectRequest, type Envelope, fault, parseEnvelope } from "./envelope.ts";
import type { Kind, Settings } from "./settings.ts";

/** How often at most the hint about emulated headers left out is logged. */
const HINT_INTERVAL_MS = 60_000;

/** An error's message with the endpoint (which may carry credentials) replaced by its label. */
function hide(endpoint: string, label: string, err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  return endpoint === label ? message : message.split(endpoint).join(label);
}

/** The backend behind the configured proxies. */
export class ProxyBackend {
  /** The plugin's logger, once set up: the hint about emulated headers left out goes there. */
  logger: Logger | undefined;
  private lastHint = -Infinity;

  constructor(private readonly settings: Settings) {}

  /**
   * Static headers, then allow-listed emulated headers, then allow-listed request headers (the
   * later win). As in Centrifugo ≥ 6.9, emulated headers come only from `emulated_headers`: their
   * values are the client's own, so `http_headers` (headers a reverse proxy may vouch for) never
   * takes them.
   */
  private headersFor(kind: Kind, request: Headers, emulated: Readonly<Record<string, string>>): Headers {
    const s = this.settings[kind];
    const out = new Headers();
    const set = (name: string, value: string) => {
      try {
        out.set(name, value);
      } catch {
        // An invalid header name or value (from a client) is dropped, not fatal.
      }
    };
    for (const [name, value] of Object.entries(s.staticHeaders)) set(name, value);
    const dropped: string[] = [];
    for (const [name, value] of Object.entries(emulated)) {
      const lower = name.toLowerCase();
      if (s.emulatedHeaders.has(lower)) set(name, value);
      else if (s.httpHeaders.has(lower)) dropped.push(lower);
    }
    for (const name of s.httpHeaders) {
      const value = request.get(name);
      if (value !== null) set(name, value);
    }
    out.set("Content-Type", "application/json");
    if (dropped.length > 0 && performance.now() - this.lastHint >= HINT_INTERVAL_MS) {
      this.lastHint = performance.now();
      this.logger?.info(
        "emulated headers listed in http_headers but not in emulated_headers are not forwarded",
        {
          proxy: kind,
          headers: dropped,
        },
      );
    }
    return out;
  }

  /** POSTs `body` to the `kind` endpoint and parses the envelope; every failure is a plain Error. */
  private async call(
    kind: Kind,
    body: Record<string, unknown>,
    headers: Headers,
    hookSignal: AbortSignal,
  ): Promise<Envelope> {
    const { endpoint, label, timeoutMs } = this.settings[kind];
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        timedOut = true;
        controller.abort(new Error("timeout"));
      }, timeoutMs)
      : undefined;
    const onAbort = () => controller.abort(hookSignal.reason);
    if (hookSignal.aborted) onAbort();
    else hookSignal.addEventListener("abort", onAbort, { once: true });
    try {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (err) {
        throw timedOut
          ? fault(kind, `no answer from ${label} within ${timeoutMs} ms`)
          : fault(kind, `request to ${label} failed: ${hide(endpoint, label, err)}`);
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw fault(kind, `${label} answered HTTP ${res.status}`);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw timedOut
          ? fault(kind, `no complete answer from ${label} within ${timeoutMs} ms`)
          : fault(kind, `reading the answer from ${label} failed: ${hide(endpoint, label, err)}`);
      }
      return parseEnvelope(kind, text);
    } finally {
      clearTimeout(timer);
      hookSignal.removeEventListener("abort", onAbort);
    }
  }

  /** The connect request, with the headers the connecting client's request forwards. */
  callForConnect(event: ConnectingEvent): Promise<Envelope> {
    const headers = this.headersFor("connect", event.client.headers, event.emulatedHeaders);
    return this.call("connect", connectRequest(event), headers, event.signal);
  }

  /** A request on behalf of a connected client, with the headers its connection forwards. */
  callForClient(
    kind: Kind,
    event: { client: ClientContext; signal: AbortSignal },
    fields: Record<string, unknown>,
  ): Promise<Envelope> {
    const { client } = event;
    const body = clientRequest(client, fields, this.settings[kind].includeMeta);
    return this.call(kind, body, this.headersFor(kind, client.headers, client.emulatedHeaders), event.signal);
  }
}
